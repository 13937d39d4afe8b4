//! The `notifications-unregister-device` Lambda function.
switchboard_shared::http_main_pushing!(switchboard_notifications::UNREGISTER_DEVICE);
