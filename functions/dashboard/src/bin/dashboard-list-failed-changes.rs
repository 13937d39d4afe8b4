//! The `dashboard-list-failed-changes` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::FAILED_CHANGES);
