//! The `notifications-bulk-send` Lambda function (it enqueues bulk sends on SQS).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_shared::lambda::run_http_enqueuing(switchboard_notifications::BULK_SEND).await
}
