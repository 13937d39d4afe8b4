//! The `notifications-register-device` Lambda function.
switchboard_shared::http_main_pushing!(switchboard_notifications::REGISTER_DEVICE);
