//! The `dashboard-active-sessions` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::ACTIVE_SESSIONS);
