//! The `reports-daily` Lambda function (scheduled).
switchboard_shared::scheduled_main!(
    switchboard_reports::DAILY_REPORT,
    configure = switchboard_reports::with_s3_reports
);
