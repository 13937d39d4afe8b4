//! The `dashboard-message-analytics` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::MESSAGE_ANALYTICS);
