//! The `attachments-request-upload` Lambda function.
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_shared::lambda::run_http_signing_attachments(switchboard_attachments::REQUEST_UPLOAD).await
}
