//! The production `Mailer` adapter: SES v2 `SendEmail` with the raw MIME message ([`render`]), so
//! every header we set (`List-Unsubscribe`, our `Message-ID`) reaches the recipient as written.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use aws_sdk_sesv2::Client;

use super::{render, Email, MailError, Mailer};
use crate::config::{aws_environment, https_client, local_environment, AwsLimits, ConfigError};

/// Environment variable that points the SES client at another endpoint (a moto server).
const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// The configuration set the e-mails are sent with: its event destination brings SES's reports
/// (delivered, bounced, complained of) back to the `email-events` function.
pub const EMAIL_CONFIGURATION_SET: &str = "EMAIL_CONFIGURATION_SET";

/// E-mail through SES v2. The SDK client is built on the first send, so a function pays for it
/// at cold start only if it sends.
pub struct SesMailer {
    endpoint: Option<String>,
    region: String,
    credentials: Credentials,
    configuration_set: Option<String>,
    client: OnceLock<Result<Client, String>>,
}

impl SesMailer {
    /// From the Lambda environment: `AWS_REGION`, the credentials, and `AWS_ENDPOINT_URL` and
    /// [`EMAIL_CONFIGURATION_SET`] when set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let (region, credentials) = aws_environment()?;
        let endpoint = crate::config::var(AWS_ENDPOINT_URL);
        let configuration_set = crate::config::var(EMAIL_CONFIGURATION_SET);
        Ok(Self { endpoint, region, credentials, configuration_set, client: OnceLock::new() })
    }

    /// Sends with `name`'s configuration set (its event destinations get SES's reports).
    pub fn with_configuration_set(self, name: &str) -> Self {
        Self { configuration_set: Some(name.to_owned()), ..self }
    }

    /// For a local SES-compatible server (moto): the environment's region and credentials when
    /// set, local placeholders when not.
    pub fn for_endpoint(endpoint: &str) -> Self {
        let (region, credentials) = local_environment();
        Self {
            endpoint: Some(endpoint.trim_end_matches('/').to_owned()),
            region,
            credentials,
            configuration_set: None,
            client: OnceLock::new(),
        }
    }

    /// The SDK client (built on first use), for SES's other calls.
    pub fn client(&self) -> Result<&Client, MailError> {
        self.client
            .get_or_init(|| {
                let system_roots = self.endpoint.as_deref().is_some_and(|url| url.starts_with("https://"));
                let http = https_client(system_roots).map_err(|e| e.to_string())?;
                // A retried send after a slow answer may deliver the e-mail twice: an attempt may
                // take the whole call's time.
                let limits = AwsLimits::from_env().map_err(|e| e.to_string())?.for_deliveries();
                let builder = aws_sdk_sesv2::Config::builder()
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
            .map_err(|e| MailError::Unavailable(e.clone()))
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(render(email)?))
            .build()
            .map_err(|e| MailError::Refused(format!("the raw message: {e}")))?;
        let tags = email
            .tags
            .iter()
            .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MailError::Refused(format!("a message tag: {e}")))?;
        let result = self
            .client()?
            .send_email()
            .from_email_address(&email.from.address)
            .destination(Destination::builder().to_addresses(&email.to.address).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await;
        match result {
            Ok(output) => output
                .message_id()
                .map(str::to_owned)
                .ok_or_else(|| MailError::Unavailable("SendEmail returned no MessageId".into())),
            Err(error) => {
                let refused = error.as_service_error().is_some_and(|e| {
                    // An unverified sender, content SES will not send, a malformed request: the
                    // same e-mail is refused again. A suspended or paused account, throttling and
                    // exhausted quotas pass, so they are `Unavailable` with timeouts and 5xx.
                    e.is_message_rejected()
                        || e.is_mail_from_domain_not_verified_exception()
                        || e.is_bad_request_exception()
                        || e.is_not_found_exception()
                });
                let reason = DisplayErrorContext(&error).to_string();
                Err(if refused { MailError::Refused(reason) } else { MailError::Unavailable(reason) })
            }
        }
    }
}
