//! The `dashboard-assign-session` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::ASSIGN_SESSION);
