//! The `reports-list` Lambda function.
switchboard_shared::http_main!(
    switchboard_reports::LIST_REPORTS,
    configure = switchboard_reports::with_s3_reports
);
