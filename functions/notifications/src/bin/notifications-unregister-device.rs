//! The `notifications-unregister-device` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::UNREGISTER_DEVICE);
