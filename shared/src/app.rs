//! `App`: what a function builds once at cold start and lends to every request.

use std::sync::Arc;

use crate::config::{store_from_env, ConfigError};
use crate::push::local::LocalPush;
use crate::push::sns::SnsPush;
use crate::push::Push;
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
    /// Push notification endpoints and publishing.
    pub push: Arc<dyn Push>,
}

impl App {
    /// An app over the given store and realtime port, pushing through in-memory endpoints (the
    /// local gateway and tests; see [`App::with_push`]).
    pub fn new(store: Arc<dyn ItemStore>, realtime: Arc<dyn Realtime>) -> Self {
        Self { store, realtime, push: Arc::new(LocalPush::default()) }
    }

    /// The same app pushing through `push`.
    pub fn with_push(self, push: Arc<dyn Push>) -> Self {
        Self { push, ..self }
    }

    /// The app a Lambda function runs with, from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::new(store_from_env().await?, Arc::new(ApiGatewayRealtime::from_env()?))
            .with_push(Arc::new(SnsPush::from_env()?)))
    }
}
