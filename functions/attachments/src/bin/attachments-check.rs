//! The `attachments-check` Lambda function.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_attachments::run_check().await
}
