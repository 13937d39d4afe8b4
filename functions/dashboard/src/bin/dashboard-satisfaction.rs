//! The `dashboard-satisfaction` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::SATISFACTION);
