//! The `analytics-get-backfill` Lambda function.
switchboard_shared::http_main!(switchboard_reports::GET_BACKFILL);
