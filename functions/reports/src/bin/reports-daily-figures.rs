//! The `reports-daily-figures` Lambda function.
switchboard_shared::http_main!(switchboard_reports::DAILY_FIGURES);
