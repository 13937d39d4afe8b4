//! The `notifications-put-preferences` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::PUT_PREFERENCES);
