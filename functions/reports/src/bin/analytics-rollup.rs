//! The `analytics-rollup` Lambda function (scheduled).
switchboard_shared::scheduled_main!(switchboard_reports::ANALYTICS_ROLLUP);
