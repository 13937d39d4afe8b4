//! The local gateway's `Push`: endpoints kept in memory, publishing that sends nothing and
//! answers like SNS would (disabled endpoints refuse, deleted ones are not found), so a
//! developer runs every notification path without AWS.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{DeviceToken, EndpointState, Platform, Push, PushError};

#[derive(Debug, Clone)]
struct Endpoint {
    token: String,
    enabled: bool,
}

/// In-memory platform endpoints.
#[derive(Default)]
pub struct LocalPush {
    endpoints: Mutex<HashMap<String, Endpoint>>,
}

impl LocalPush {
    fn endpoints(&self) -> std::sync::MutexGuard<'_, HashMap<String, Endpoint>> {
        // Every change is one insert or remove, so a poisoned map is still whole.
        self.endpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Disables an endpoint, as a platform does when it rejects a token (for trying that path
    /// locally).
    pub fn disable(&self, arn: &str) {
        if let Some(endpoint) = self.endpoints().get_mut(arn) {
            endpoint.enabled = false;
        }
    }
}

#[async_trait]
impl Push for LocalPush {
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        _user_data: &str,
    ) -> Result<String, PushError> {
        let mut endpoints = self.endpoints();
        if let Some((arn, _)) = endpoints.iter().find(|(_, e)| e.token == token.as_str()) {
            return Ok(arn.clone());
        }
        let arn =
            format!("arn:local:sns:local:000000000000:endpoint/{}/{}", platform.as_str(), ulid::Ulid::new());
        endpoints.insert(arn.clone(), Endpoint { token: token.as_str().to_owned(), enabled: true });
        Ok(arn)
    }

    async fn endpoint(&self, arn: &str) -> Result<EndpointState, PushError> {
        let endpoints = self.endpoints();
        let endpoint = endpoints.get(arn).ok_or(PushError::NotFound)?;
        Ok(EndpointState { token: endpoint.token.clone(), enabled: endpoint.enabled })
    }

    async fn enable_endpoint(&self, arn: &str, token: &DeviceToken) -> Result<(), PushError> {
        let mut endpoints = self.endpoints();
        let endpoint = endpoints.get_mut(arn).ok_or(PushError::NotFound)?;
        endpoint.token = token.as_str().to_owned();
        endpoint.enabled = true;
        Ok(())
    }

    async fn delete_endpoint(&self, arn: &str) -> Result<(), PushError> {
        self.endpoints().remove(arn);
        Ok(())
    }

    fn keeps_payloads(&self) -> bool {
        true
    }

    async fn publish(&self, arn: &str, _message: &str) -> Result<String, PushError> {
        match self.endpoints().get(arn) {
            None => Err(PushError::NotFound),
            Some(endpoint) if !endpoint.enabled => Err(PushError::EndpointDisabled),
            Some(_) => Ok(ulid::Ulid::new().to_string()),
        }
    }
}
