//! The `dashboard-overview` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::OVERVIEW);
