//! The `authorizer-verify-token` Lambda function.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use switchboard_authorizer::keys::{Authorizer, KeySource};
use switchboard_shared::config::TokenSettings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    switchboard_shared::telemetry::init();
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let mut authorizer = Authorizer::load(KeySource::from_env()?, &TokenSettings::from_env()?, now).await?;
    if let Some(widget) = switchboard_shared::secrets::widget_tokens_from_env().await? {
        authorizer = authorizer.accepting_widget_tokens(&widget);
    }
    let authorizer = &authorizer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        switchboard_authorizer::handle(authorizer, event)
    }))
    .await
}
