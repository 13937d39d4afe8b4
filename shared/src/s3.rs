//! An S3 bucket and its SDK client, built on the first call so a cold start does not pay for it:
//! the report store and the local gateway's attachments bucket share it (the `s3` feature; no
//! function but the reports functions links the S3 client).

use std::sync::OnceLock;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::Client;

use crate::config::{aws_environment, https_client, local_environment, var, AwsLimits, ConfigError};

/// A bucket, where it is served and the credentials it is reached with.
pub struct S3Bucket {
    name: String,
    endpoint: Option<String>,
    region: String,
    credentials: Credentials,
    client: OnceLock<Result<Client, String>>,
}

impl S3Bucket {
    /// From the Lambda environment: the bucket named by `variable`, `AWS_REGION`, the
    /// credentials, and `AWS_ENDPOINT_URL` when set.
    pub fn from_env(variable: &'static str) -> Result<Self, ConfigError> {
        let name = var(variable).ok_or(ConfigError::Missing(variable))?;
        let (region, credentials) = aws_environment()?;
        Ok(Self { name, endpoint: var("AWS_ENDPOINT_URL"), region, credentials, client: OnceLock::new() })
    }

    /// `name` on an S3-compatible server (moto): the environment's region and credentials when
    /// set, local placeholders when not.
    pub fn for_endpoint(endpoint: &str, name: &str) -> Self {
        let (region, credentials) = local_environment();
        Self {
            name: name.to_owned(),
            endpoint: Some(endpoint.trim_end_matches('/').to_owned()),
            region,
            credentials,
            client: OnceLock::new(),
        }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bucket's region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The S3 client (transfer timeouts), or why it could not be built.
    pub fn client(&self) -> Result<&Client, String> {
        self.client
            .get_or_init(|| {
                let system_roots = self.endpoint.as_deref().is_some_and(|url| url.starts_with("https://"));
                let http = https_client(system_roots).map_err(|e| e.to_string())?;
                let limits = AwsLimits::from_env().map_err(|e| e.to_string())?.for_transfers();
                let builder = aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(self.region.clone()))
                    .credentials_provider(self.credentials.clone())
                    .timeout_config(limits.timeout_config())
                    .retry_config(limits.retry_config())
                    .http_client(http);
                let builder = match &self.endpoint {
                    // A local server has no bucket subdomains: bucket names go in the path.
                    Some(url) => builder.endpoint_url(url.clone()).force_path_style(true),
                    None => builder,
                };
                Ok(Client::from_conf(builder.build()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Creates the bucket unless it exists (the local gateway and tests; the template creates
    /// the real one), or why it could not.
    pub async fn ensure_exists(&self) -> Result<(), String> {
        let client = self.client()?;
        let mut request = client.create_bucket().bucket(&self.name);
        if self.region != "us-east-1" {
            let location = aws_sdk_s3::types::BucketLocationConstraint::from(self.region.as_str());
            request = request.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder().location_constraint(location).build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) =>
            {
                Ok(())
            }
            Err(error) => Err(format!(
                "S3 creating bucket {}: {}",
                self.name,
                aws_sdk_s3::error::DisplayErrorContext(&error)
            )),
        }
    }
}
