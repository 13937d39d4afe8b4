//! The SQS job queue: each chunk is one message on the queue the worker function reads.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

use super::{BulkChunk, JobQueue, JobQueueError};
use crate::app::App;
use crate::config::{aws_environment, https_client, local_environment, var, AwsLimits, ConfigError};

/// Environment variable with the URL of the bulk-send queue.
pub const BULK_SEND_QUEUE_URL: &str = "BULK_SEND_QUEUE_URL";

/// SQS takes at most ten messages per `SendMessageBatch`.
const BATCH_MESSAGES: usize = 10;

/// Sends chunks to an SQS queue.
pub struct SqsJobQueue {
    queue_url: String,
    endpoint: Option<String>,
    region: String,
    credentials: Credentials,
    client: OnceLock<Result<Client, String>>,
}

impl SqsJobQueue {
    /// From the Lambda environment: the queue of `BULK_SEND_QUEUE_URL` (required), `AWS_REGION`,
    /// the credentials, and `AWS_ENDPOINT_URL` when set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let queue_url = var(BULK_SEND_QUEUE_URL).ok_or(ConfigError::Missing(BULK_SEND_QUEUE_URL))?;
        let (region, credentials) = aws_environment()?;
        Ok(Self {
            queue_url,
            endpoint: var("AWS_ENDPOINT_URL"),
            region,
            credentials,
            client: OnceLock::new(),
        })
    }

    /// For a queue on a local SQS-compatible server (moto).
    pub fn for_endpoint(endpoint: &str, queue_url: &str) -> Self {
        let (region, credentials) = local_environment();
        Self {
            queue_url: queue_url.to_owned(),
            endpoint: Some(endpoint.trim_end_matches('/').to_owned()),
            region,
            credentials,
            client: OnceLock::new(),
        }
    }

    /// The SDK client (built on first use).
    pub fn client(&self) -> Result<&Client, JobQueueError> {
        self.client
            .get_or_init(|| {
                let system_roots = self.endpoint.as_deref().is_some_and(|url| url.starts_with("https://"));
                let http = https_client(system_roots).map_err(|e| e.to_string())?;
                let limits = AwsLimits::from_env().map_err(|e| e.to_string())?;
                let builder = aws_sdk_sqs::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(self.region.clone()))
                    .credentials_provider(self.credentials.clone())
                    .timeout_config(limits.timeout_config())
                    .retry_config(limits.retry_config())
                    .http_client(http);
                let builder = match &self.endpoint {
                    Some(url) => builder.endpoint_url(url.clone()),
                    None => builder,
                };
                Ok(Client::from_conf(builder.build()))
            })
            .as_ref()
            .map_err(|e| JobQueueError(e.clone()))
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, _app: &App, chunks: Vec<BulkChunk>) -> Result<(), JobQueueError> {
        let client = self.client()?;
        for batch in chunks.chunks(BATCH_MESSAGES) {
            let mut entries = Vec::with_capacity(batch.len());
            for (index, chunk) in batch.iter().enumerate() {
                let body = serde_json::to_string(chunk).map_err(|e| JobQueueError(e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| JobQueueError(e.to_string()))?;
                entries.push(entry);
            }
            let output = client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| JobQueueError(DisplayErrorContext(&e).to_string()))?;
            if let Some(failed) = output.failed().first() {
                return Err(JobQueueError(format!(
                    "{} of {} messages were refused: {}",
                    output.failed().len(),
                    batch.len(),
                    failed.message().unwrap_or(failed.code())
                )));
            }
        }
        Ok(())
    }
}
