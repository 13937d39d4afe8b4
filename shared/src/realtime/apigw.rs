//! The production `Realtime` adapter: `PostToConnection` of the API Gateway Management API.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewaymanagement::error::DisplayErrorContext;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;

use super::{PostError, Realtime};
use crate::config::{aws_environment, https_client, local_environment, AwsLimits, ConfigError};
use crate::domain::ConnectionId;

/// Environment variable with the Management API endpoint of the WebSocket API:
/// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` in AWS.
pub const WEBSOCKET_ENDPOINT: &str = "WEBSOCKET_ENDPOINT";

/// Posts through the API Gateway Management API. The SDK client is built on the first post, so
/// functions that never fan out do not pay for it at cold start.
pub struct ApiGatewayRealtime {
    endpoint: String,
    region: String,
    credentials: Credentials,
    client: OnceLock<Result<Client, String>>,
}

impl ApiGatewayRealtime {
    /// From the Lambda environment: `WEBSOCKET_ENDPOINT`, `AWS_REGION` and the credentials.
    pub fn from_env() -> Result<Self, ConfigError> {
        let endpoint = std::env::var(WEBSOCKET_ENDPOINT)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing(WEBSOCKET_ENDPOINT))?;
        if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
            return Err(ConfigError::Invalid {
                name: WEBSOCKET_ENDPOINT,
                reason: "must be an http:// or https:// URL".into(),
            });
        }
        let (region, credentials) = aws_environment()?;
        Ok(Self { endpoint, region, credentials, client: OnceLock::new() })
    }

    /// For a local server (the local gateway's own `@connections`, or moto): the environment's
    /// region and credentials when set, local placeholders when not.
    pub fn for_endpoint(endpoint: &str) -> Self {
        let (region, credentials) = local_environment();
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            credentials,
            client: OnceLock::new(),
        }
    }

    /// The SDK client (built on first use), for the Management API's other calls.
    pub fn client(&self) -> Result<&Client, PostError> {
        self.client
            .get_or_init(|| {
                let http = https_client(self.endpoint.starts_with("https://")).map_err(|e| e.to_string())?;
                let limits = AwsLimits::from_env().map_err(|e| e.to_string())?.for_deliveries();
                let config = aws_sdk_apigatewaymanagement::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(self.region.clone()))
                    .credentials_provider(self.credentials.clone())
                    .timeout_config(limits.timeout_config())
                    .retry_config(limits.retry_config())
                    .http_client(http)
                    .endpoint_url(self.endpoint.clone())
                    .build();
                Ok(Client::from_conf(config))
            })
            .as_ref()
            .map_err(|e| PostError::Failed(e.clone()))
    }
}

#[async_trait]
impl Realtime for ApiGatewayRealtime {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        let result = self
            .client()?
            .post_to_connection()
            .connection_id(connection.as_str())
            .data(Blob::new(frame))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_gone_exception()) => {
                Err(PostError::Gone)
            }
            Err(error) => Err(PostError::Failed(DisplayErrorContext(&error).to_string())),
        }
    }
}
