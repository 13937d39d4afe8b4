//! The `dashboard-audit-log` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::AUDIT_LOG);
