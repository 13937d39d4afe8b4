//! The `dashboard-transcript` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::TRANSCRIPT);
