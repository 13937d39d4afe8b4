//! The `reports-download` Lambda function.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_reports::run_http(switchboard_reports::DOWNLOAD_REPORT.name, |reports, req| {
        Box::pin(switchboard_reports::download(reports, req))
    })
    .await
}
