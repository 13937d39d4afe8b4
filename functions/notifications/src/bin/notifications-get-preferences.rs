//! The `notifications-get-preferences` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::GET_PREFERENCES);
