//! The attachments bucket's objects for the check function (and the inbound e-mail bucket's for
//! `email-inbound`), without the S3 client: each call is a presigned request (the SigV4 of
//! [`super::signing`]) sent with the HTTPS connector every function links already. The S3 client
//! brings its endpoint rules and the flexible-checksum code (crc-fast: 0.7 MB) into functions
//! that must stay under the size budget, for a few plain object calls.

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::http::{Request, Response};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use time::OffsetDateTime;

use super::signing::{presigned_request, BucketEndpoint, SignedCall, SigningIdentity, PENDING_TAG};
use super::store::{AttachmentObjects, AttachmentStoreError, S3Links, SCAN_TAG};
use crate::config::{tls_context, AwsLimits, ConfigError};

/// How long a request's signature is valid: the call is sent at once.
const SIGNATURE_LIFETIME: time::Duration = time::Duration::minutes(5);
/// First pause before a retry (doubled each time).
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// The objects of a bucket, reached by presigned requests.
pub struct SignedBucketObjects {
    endpoint: BucketEndpoint,
    identity: SigningIdentity,
    /// Built on the first call, not at init: the TLS set-up parses the trusted roots, which
    /// would put the function's cold start over its budget (see docs/BENCHMARKS.md).
    connector: OnceLock<Result<Connector, String>>,
    limits: AwsLimits,
}

fn failed(what: String) -> AttachmentStoreError {
    AttachmentStoreError::Backend(format!("S3 {what}"))
}

impl SignedBucketObjects {
    /// The bucket of `links` (its endpoint, signed as its identity), with the transfer limits
    /// of [`AwsLimits`].
    pub fn new(links: &S3Links) -> Result<Self, ConfigError> {
        let limits = AwsLimits::from_env()?.for_transfers();
        Ok(Self {
            endpoint: links.endpoint().clone(),
            identity: links.identity().clone(),
            connector: OnceLock::new(),
            limits,
        })
    }

    /// The HTTPS connector, made on first use with the transfer timeouts.
    fn connector(&self) -> Result<&Connector, String> {
        self.connector
            .get_or_init(|| {
                // An https endpoint override (not AWS's own host) may be signed by another root.
                let url = self.endpoint.url();
                let system_roots = url.starts_with("https://") && !url.ends_with(".amazonaws.com");
                let settings = HttpConnectorSettings::builder()
                    .connect_timeout(self.limits.connect)
                    .read_timeout(self.limits.attempt)
                    .build();
                let tls = tls_context(system_roots).map_err(|e| e.to_string())?;
                Ok(Connector::builder()
                    .connector_settings(settings)
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .tls_context(tls)
                    .build())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// From the Lambda environment: `ATTACHMENTS_BUCKET`, `AWS_REGION`, the role's credentials
    /// and `AWS_ENDPOINT_URL` when set (path-style there).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_bucket(super::store::ATTACHMENTS_BUCKET)
    }

    /// [`SignedBucketObjects::from_env`] for the bucket the environment variable `bucket_var`
    /// names (required).
    pub fn from_env_bucket(bucket_var: &'static str) -> Result<Self, ConfigError> {
        let links = S3Links::from_env_bucket(bucket_var)?.ok_or(ConfigError::Missing(bucket_var))?;
        Self::new(&links)
    }

    /// Sends `call` with `body`, retrying broken connections and 5xx answers (S3's `SlowDown`
    /// included) within the operation timeout: the status and the body.
    async fn send(
        &self,
        call: &SignedCall<'_>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), AttachmentStoreError> {
        let what = format!("{} {}", call.method, call.key);
        let attempts = async {
            let mut backoff = RETRY_BACKOFF;
            let mut attempt = 1;
            loop {
                let outcome = self.attempt(call, content_type, body).await;
                let retryable = match &outcome {
                    Ok((status, _)) => *status >= 500,
                    Err(_) => true,
                };
                if !retryable || attempt >= self.limits.max_attempts {
                    return outcome;
                }
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
        };
        match tokio::time::timeout(self.limits.operation, attempts).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(error)) => Err(failed(format!("{what}: {error}"))),
            Err(_) => Err(failed(format!("{what}: no answer within {:?}", self.limits.operation))),
        }
    }

    async fn attempt(
        &self,
        call: &SignedCall<'_>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let url = presigned_request(
            call,
            &self.identity,
            &self.endpoint,
            OffsetDateTime::now_utc(),
            SIGNATURE_LIFETIME,
        );
        let mut request = Request::new(SdkBody::from(body.to_vec()));
        request.set_method(call.method).map_err(|e| e.to_string())?;
        request.set_uri(url.as_str()).map_err(|e| e.to_string())?;
        request.headers_mut().insert("content-length", body.len().to_string());
        if let Some(content_type) = content_type {
            request.headers_mut().insert("content-type", content_type.to_owned());
        }
        for (name, value) in call.headers {
            request.headers_mut().insert(name.to_string(), value.to_string());
        }
        let response: Response = self.connector()?.call(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body()).collect().await.map_err(|e| e.to_string())?;
        Ok((status, bytes.into_bytes().to_vec()))
    }

    /// `call` must answer 2xx.
    async fn expect_success(
        &self,
        call: SignedCall<'_>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<u8>, AttachmentStoreError> {
        match self.send(&call, content_type, body).await? {
            (200..=299, bytes) => Ok(bytes),
            (status, bytes) => Err(failed(format!(
                "{} {}: HTTP {status}: {}",
                call.method,
                call.key,
                String::from_utf8_lossy(&bytes)
            ))),
        }
    }
}

/// The value of the tag `name` in S3's `GetObjectTagging` answer.
fn tag_value(tagging: &str, name: &str) -> Option<String> {
    tagging.split("<Tag>").skip(1).find_map(|tag| {
        let element = |element: &str| {
            let start = tag.find(&format!("<{element}>"))? + element.len() + 2;
            let end = tag[start..].find(&format!("</{element}>"))? + start;
            Some(tag[start..end].to_owned())
        };
        (element("Key")? == name).then(|| element("Value")).flatten()
    })
}

#[async_trait]
impl AttachmentObjects for SignedBucketObjects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        let call = SignedCall::new("GET", key);
        match self.send(&call, None, &[]).await? {
            (200, bytes) => Ok(Some(bytes)),
            (404, _) => Ok(None),
            (status, bytes) => {
                Err(failed(format!("GET {key}: HTTP {status}: {}", String::from_utf8_lossy(&bytes))))
            }
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AttachmentStoreError> {
        self.expect_success(SignedCall::new("PUT", key), Some(content_type), &bytes).await?;
        Ok(())
    }

    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError> {
        let call = SignedCall { headers: &[("x-amz-tagging", PENDING_TAG)], ..SignedCall::new("PUT", key) };
        self.expect_success(call, Some(content_type), &bytes).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.expect_success(SignedCall::new("DELETE", key), None, &[]).await?;
        Ok(())
    }

    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.expect_success(
            SignedCall { query: &[("tagging", "")], ..SignedCall::new("DELETE", key) },
            None,
            &[],
        )
        .await?;
        Ok(())
    }

    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError> {
        let tagging = self
            .expect_success(
                SignedCall { query: &[("tagging", "")], ..SignedCall::new("GET", key) },
                None,
                &[],
            )
            .await?;
        Ok(tag_value(&String::from_utf8_lossy(&tagging), SCAN_TAG))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanners_tag_is_read_from_s3s_tagging_answer() {
        let answer = r#"<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>state</Key><Value>pending</Value></Tag><Tag><Key>GuardDutyMalwareScanStatus</Key><Value>NO_THREATS_FOUND</Value></Tag></TagSet></Tagging>"#;

        assert_eq!(tag_value(answer, SCAN_TAG).as_deref(), Some("NO_THREATS_FOUND"));
        assert_eq!(tag_value(answer, "state").as_deref(), Some("pending"));
        assert_eq!(tag_value("<Tagging><TagSet></TagSet></Tagging>", SCAN_TAG), None);
    }
}
