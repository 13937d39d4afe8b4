//! The push port of the functions whose IAM policy grants no SNS action (the widget's minting
//! functions): every call fails as AWS would refuse it, and no SNS client is linked into them.

use async_trait::async_trait;

use super::{DeviceToken, EndpointState, Platform, Push, PushError};

/// Refuses every push call: the function may not call SNS.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefusedPush;

fn refused() -> PushError {
    PushError::Failed("this function may not push (its policy grants no SNS action)".into())
}

#[async_trait]
impl Push for RefusedPush {
    async fn create_endpoint(
        &self,
        _platform: Platform,
        _token: &DeviceToken,
        _user_data: &str,
    ) -> Result<String, PushError> {
        Err(refused())
    }

    async fn endpoint(&self, _arn: &str) -> Result<EndpointState, PushError> {
        Err(refused())
    }

    async fn enable_endpoint(&self, _arn: &str, _token: &DeviceToken) -> Result<(), PushError> {
        Err(refused())
    }

    async fn delete_endpoint(&self, _arn: &str) -> Result<(), PushError> {
        Err(refused())
    }

    async fn publish(&self, _arn: &str, _message: &str) -> Result<String, PushError> {
        Err(refused())
    }
}
