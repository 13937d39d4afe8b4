//! The `analytics-start-backfill` Lambda function.
switchboard_shared::http_main!(switchboard_reports::START_BACKFILL);
