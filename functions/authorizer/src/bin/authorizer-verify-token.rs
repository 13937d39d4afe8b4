//! The `authorizer-verify-token` Lambda function.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    switchboard_shared::telemetry::init();
    let verifier = switchboard_shared::config::token_verifier_from_env()?;
    let verifier = &verifier;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        switchboard_authorizer::handle(verifier, event)
    }))
    .await
}
