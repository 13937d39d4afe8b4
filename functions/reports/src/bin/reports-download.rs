//! The `reports-download` Lambda function.
switchboard_shared::http_main!(
    switchboard_reports::DOWNLOAD_REPORT,
    configure = switchboard_reports::with_s3_reports
);
