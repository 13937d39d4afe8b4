//! The `reports-list` Lambda function.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_reports::run_http(switchboard_reports::LIST_REPORTS.name, |reports, req| {
        Box::pin(switchboard_reports::list(reports, req))
    })
    .await
}
