//! The `notifications-send` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::SEND);
