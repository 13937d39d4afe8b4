//! The `widget-identify-user` Lambda function (it signs widget tokens with the secret read from SSM).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_shared::lambda::run_http_minting(switchboard_widget::IDENTIFY_USER).await
}
