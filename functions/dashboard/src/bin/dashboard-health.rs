//! The `dashboard-health` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::HEALTH);
