//! The `reports-daily` Lambda function (scheduled).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_reports::run_daily().await
}
