//! The `Realtime` port: posting frames to WebSocket connections. The production adapter is the
//! API Gateway Management API ([`apigw::ApiGatewayRealtime`]); the local gateway serves the same
//! API on its own `@connections` endpoint, so the same adapter posts there unchanged.

pub mod apigw;
pub mod frames;

use async_trait::async_trait;

use crate::domain::ConnectionId;

/// Why a post did not reach its connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// 410 Gone: the connection no longer exists; its records should go.
    #[error("the connection is gone")]
    Gone,
    /// Anything else (throttling, network, a server error): logged and counted, not retried.
    #[error("posting to the connection failed: {0}")]
    Failed(String),
}

/// Posts frames to WebSocket connections.
#[async_trait]
pub trait Realtime: Send + Sync {
    /// Sends one frame (a JSON text message) to one connection.
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError>;
}
