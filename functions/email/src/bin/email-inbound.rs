//! The `email-inbound` Lambda function (the Lambda action of SES receiving's rule).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    switchboard_email::inbound::run().await
}
