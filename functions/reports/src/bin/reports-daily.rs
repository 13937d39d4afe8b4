//! The `reports-daily` Lambda function (EventBridge schedule, not HTTP): the item store and the
//! reports bucket, built once; then each event builds one day's report.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use switchboard_reports::{build_daily, ScheduledEvent};
use switchboard_shared::config::store_from_env;
use switchboard_shared::reports::s3::S3ReportStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    switchboard_shared::telemetry::init();
    let store = store_from_env().await?;
    let reports = S3ReportStore::from_env()?;
    let (store, reports) = (store.as_ref(), &reports);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ScheduledEvent>| {
        build_daily(store, reports, event)
    }))
    .await
}
