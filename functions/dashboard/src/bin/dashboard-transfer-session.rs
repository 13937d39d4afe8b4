//! The `dashboard-transfer-session` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::TRANSFER_SESSION);
