//! The `notifications-register-device` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::REGISTER_DEVICE);
