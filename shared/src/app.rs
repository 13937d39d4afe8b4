//! `App`: what a function builds once at cold start and lends to every request.

use std::sync::Arc;

use crate::config::{store_from_env, ConfigError};
use crate::realtime::apigw::ApiGatewayRealtime;
use crate::realtime::Realtime;
use crate::store::ItemStore;

/// Clients and configuration shared by the requests of one function instance.
#[derive(Clone)]
pub struct App {
    /// The item store.
    pub store: Arc<dyn ItemStore>,
    /// Posts frames to WebSocket connections.
    pub realtime: Arc<dyn Realtime>,
}

impl App {
    /// An app over the given store and realtime port (the local gateway and tests).
    pub fn new(store: Arc<dyn ItemStore>, realtime: Arc<dyn Realtime>) -> Self {
        Self { store, realtime }
    }

    /// The app a Lambda function runs with, from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(store_from_env().await?, Arc::new(ApiGatewayRealtime::from_env()?)))
    }
}
