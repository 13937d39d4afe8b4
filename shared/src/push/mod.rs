//! The `Push` port: platform endpoints for devices and publishing to them. The production
//! adapter is SNS mobile push ([`sns::SnsPush`], FCM and APNs platform applications); the local
//! gateway's adapter ([`local::LocalPush`]) keeps endpoints in memory and sends nothing.

pub mod local;
pub mod refused;
pub mod sns;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::InvalidValue;

/// A device's platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Android, through FCM.
    Android,
    /// iOS, through APNs.
    Ios,
    /// A browser, through FCM.
    Web,
}

impl Platform {
    /// The name in requests and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::Web => "web",
        }
    }
}

/// A device token as the platform issued it: 1 to 4,096 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceToken(String);

impl DeviceToken {
    /// Longest token accepted (FCM tokens are ~160 characters, APNs 64; SNS allows 4 KB).
    pub const MAX_LEN: usize = 4096;

    /// Parses a token.
    pub fn parse(token: &str) -> Result<Self, InvalidValue> {
        if token.is_empty() || token.len() > Self::MAX_LEN || !token.chars().all(|c| c.is_ascii_graphic()) {
            return Err(InvalidValue::new("token", "must be 1 to 4096 visible ASCII characters"));
        }
        Ok(Self(token.to_owned()))
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DeviceToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for DeviceToken {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(Self::MAX_LEN))
            .into()
    }
}

impl ToSchema for DeviceToken {}

/// What the platform knows of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointState {
    /// The token it sends to.
    pub token: String,
    /// Whether it is enabled (the platform disables an endpoint whose token it rejected).
    pub enabled: bool,
}

/// Why a push call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The endpoint does not exist (deleted).
    #[error("the endpoint does not exist")]
    NotFound,
    /// The endpoint is disabled: the platform rejected its token.
    #[error("the endpoint is disabled")]
    EndpointDisabled,
    /// The platform refused the request's parameters (a malformed token, a payload too large).
    #[error("the push service refused the request: {0}")]
    Invalid(String),
    /// Anything else (throttling, network, a server error).
    #[error("the push service failed: {0}")]
    Failed(String),
}

/// Platform endpoints and publishing.
#[async_trait]
pub trait Push: Send + Sync {
    /// Creates (or, for a token it already has, returns) the endpoint of a device token in the
    /// platform application of `platform`; `user_data` is stored with a new endpoint (an existing
    /// one keeps its own). The endpoint returned may be disabled or point at another token: check
    /// it with [`Push::endpoint`] and fix it with [`Push::enable_endpoint`], as AWS advises.
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        user_data: &str,
    ) -> Result<String, PushError>;

    /// The endpoint's token and state; `NotFound` when it was deleted.
    async fn endpoint(&self, arn: &str) -> Result<EndpointState, PushError>;

    /// Points the endpoint at `token` and enables it.
    async fn enable_endpoint(&self, arn: &str, token: &DeviceToken) -> Result<(), PushError>;

    /// Deletes the endpoint (deleting a missing one succeeds).
    async fn delete_endpoint(&self, arn: &str) -> Result<(), PushError>;

    /// Whether delivery logs should keep the exact message (the local adapter, which sends
    /// nothing, so a developer can see what a phone would have got).
    fn keeps_payloads(&self) -> bool {
        false
    }

    /// Publishes a `MessageStructure=json` message (keys `default`, `GCM`, `APNS`, …) to the
    /// endpoint; returns the message id.
    async fn publish(&self, arn: &str, message: &str) -> Result<String, PushError>;
}
