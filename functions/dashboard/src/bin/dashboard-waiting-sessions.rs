//! The `dashboard-waiting-sessions` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::WAITING_SESSIONS);
