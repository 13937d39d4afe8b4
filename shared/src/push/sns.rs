//! The production `Push` adapter: SNS mobile push, with one platform application per platform
//! (FCM for Android and the web, APNs for iOS) and one platform endpoint per device token.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sns::Client;

use super::{DeviceToken, EndpointState, Platform, Push, PushError};
use crate::config::{aws_environment, https_client, local_environment, AwsLimits, ConfigError};

/// Environment variable with the ARN of the FCM (`GCM`) platform application of Android devices.
pub const SNS_PLATFORM_APPLICATION_ANDROID: &str = "SNS_PLATFORM_APPLICATION_ANDROID";
/// Environment variable with the ARN of the APNs (`APNS` or `APNS_SANDBOX`) platform application
/// of iOS devices.
pub const SNS_PLATFORM_APPLICATION_IOS: &str = "SNS_PLATFORM_APPLICATION_IOS";
/// Environment variable with the ARN of the FCM (`GCM`) platform application of browsers.
pub const SNS_PLATFORM_APPLICATION_WEB: &str = "SNS_PLATFORM_APPLICATION_WEB";

/// Environment variable that points the SNS client at another endpoint (a moto server).
const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// The platform application ARN of each platform; a platform without one cannot register devices.
#[derive(Debug, Clone, Default)]
pub struct PlatformApplications {
    /// The FCM (`GCM`) application of Android devices.
    pub android: Option<String>,
    /// The APNs (`APNS` or `APNS_SANDBOX`) application of iOS devices.
    pub ios: Option<String>,
    /// The FCM (`GCM`) application of browsers.
    pub web: Option<String>,
}

impl PlatformApplications {
    /// The application of `platform`, when one is configured.
    pub fn get(&self, platform: Platform) -> Option<&str> {
        match platform {
            Platform::Android => self.android.as_deref(),
            Platform::Ios => self.ios.as_deref(),
            Platform::Web => self.web.as_deref(),
        }
    }
}

/// Platform endpoints and publishing through SNS mobile push. The SDK client is built on the
/// first call, so functions that never push do not pay for it at cold start.
pub struct SnsPush {
    endpoint: Option<String>,
    region: String,
    credentials: Credentials,
    applications: PlatformApplications,
    client: OnceLock<Result<Client, String>>,
}

impl SnsPush {
    /// From the Lambda environment: the platform application ARNs of
    /// `SNS_PLATFORM_APPLICATION_ANDROID`, `SNS_PLATFORM_APPLICATION_IOS` and
    /// `SNS_PLATFORM_APPLICATION_WEB` (each optional), `AWS_REGION`, the credentials, and
    /// `AWS_ENDPOINT_URL` when set.
    pub fn from_env() -> Result<Self, ConfigError> {
        let applications = PlatformApplications {
            android: application_from_env(SNS_PLATFORM_APPLICATION_ANDROID, &["GCM"])?,
            ios: application_from_env(SNS_PLATFORM_APPLICATION_IOS, &["APNS", "APNS_SANDBOX"])?,
            web: application_from_env(SNS_PLATFORM_APPLICATION_WEB, &["GCM"])?,
        };
        let (region, credentials) = aws_environment()?;
        Ok(Self {
            endpoint: var(AWS_ENDPOINT_URL),
            region,
            credentials,
            applications,
            client: OnceLock::new(),
        })
    }

    /// For a local SNS-compatible server (moto): the environment's region and credentials when
    /// set, local placeholders when not.
    pub fn for_endpoint(endpoint: &str, applications: PlatformApplications) -> Self {
        let (region, credentials) = local_environment();
        Self {
            endpoint: Some(endpoint.trim_end_matches('/').to_owned()),
            region,
            credentials,
            applications,
            client: OnceLock::new(),
        }
    }

    /// The platform applications this adapter registers devices in.
    pub fn applications(&self) -> &PlatformApplications {
        &self.applications
    }

    /// The SDK client (built on first use), for SNS's other calls.
    pub fn client(&self) -> Result<&Client, PushError> {
        self.client
            .get_or_init(|| {
                let system_roots = self.endpoint.as_deref().is_some_and(|url| url.starts_with("https://"));
                let http = https_client(system_roots).map_err(|e| e.to_string())?;
                let limits = AwsLimits::from_env().map_err(|e| e.to_string())?.for_deliveries();
                let builder = aws_sdk_sns::Config::builder()
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
            .map_err(|e| PushError::Failed(e.clone()))
    }
}

#[async_trait]
impl Push for SnsPush {
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        user_data: &str,
    ) -> Result<String, PushError> {
        let application = self.applications.get(platform).ok_or_else(|| {
            PushError::Invalid(format!("no platform application is configured for {}", platform.as_str()))
        })?;
        let request = self
            .client()?
            .create_platform_endpoint()
            .platform_application_arn(application)
            .token(token.as_str());
        let request = if user_data.is_empty() { request } else { request.custom_user_data(user_data) };
        match request.send().await {
            Ok(output) => output
                .endpoint_arn()
                .map(str::to_owned)
                .ok_or_else(|| PushError::Failed("CreatePlatformEndpoint returned no EndpointArn".into())),
            Err(error) => match error.as_service_error() {
                Some(e) if e.is_invalid_parameter_exception() => {
                    // SNS refuses a token it already has under other attributes (another
                    // CustomUserData) and names that endpoint: AWS's documented routine is to
                    // take it from the message and carry on with it.
                    match e.message().and_then(existing_endpoint_arn) {
                        Some(arn) => Ok(arn.to_owned()),
                        None => Err(PushError::Invalid(DisplayErrorContext(&error).to_string())),
                    }
                }
                Some(e) if e.is_not_found_exception() => Err(PushError::NotFound),
                _ => Err(PushError::Failed(DisplayErrorContext(&error).to_string())),
            },
        }
    }

    async fn endpoint(&self, arn: &str) -> Result<EndpointState, PushError> {
        let result = self.client()?.get_endpoint_attributes().endpoint_arn(arn).send().await;
        let output = match result {
            Ok(output) => output,
            Err(error) => {
                return Err(match error.as_service_error() {
                    Some(e) if e.is_not_found_exception() => PushError::NotFound,
                    Some(e) if e.is_invalid_parameter_exception() => {
                        PushError::Invalid(DisplayErrorContext(&error).to_string())
                    }
                    _ => PushError::Failed(DisplayErrorContext(&error).to_string()),
                })
            }
        };
        let attributes = output.attributes();
        let token = attributes
            .and_then(|a| a.get("Token"))
            .ok_or_else(|| PushError::Failed(format!("endpoint {arn} has no Token attribute")))?;
        let enabled =
            attributes.and_then(|a| a.get("Enabled")).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(EndpointState { token: token.clone(), enabled })
    }

    async fn enable_endpoint(&self, arn: &str, token: &DeviceToken) -> Result<(), PushError> {
        let result = self
            .client()?
            .set_endpoint_attributes()
            .endpoint_arn(arn)
            .attributes("Token", token.as_str())
            .attributes("Enabled", "true")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => Err(match error.as_service_error() {
                Some(e) if e.is_not_found_exception() => PushError::NotFound,
                Some(e) if e.is_invalid_parameter_exception() => {
                    PushError::Invalid(DisplayErrorContext(&error).to_string())
                }
                _ => PushError::Failed(DisplayErrorContext(&error).to_string()),
            }),
        }
    }

    async fn delete_endpoint(&self, arn: &str) -> Result<(), PushError> {
        match self.client()?.delete_endpoint().endpoint_arn(arn).send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(e) if e.code() == Some("NotFound") => Ok(()),
                Some(e) if e.is_invalid_parameter_exception() => {
                    Err(PushError::Invalid(DisplayErrorContext(&error).to_string()))
                }
                _ => Err(PushError::Failed(DisplayErrorContext(&error).to_string())),
            },
        }
    }

    async fn publish(&self, arn: &str, message: &str) -> Result<String, PushError> {
        let result =
            self.client()?.publish().target_arn(arn).message(message).message_structure("json").send().await;
        match result {
            Ok(output) => output
                .message_id()
                .map(str::to_owned)
                .ok_or_else(|| PushError::Failed("Publish returned no MessageId".into())),
            Err(error) => Err(match error.as_service_error() {
                Some(e) if e.is_endpoint_disabled_exception() => PushError::EndpointDisabled,
                Some(e) if e.is_not_found_exception() => PushError::NotFound,
                Some(e)
                    if e.is_invalid_parameter_exception()
                        || e.is_invalid_parameter_value_exception()
                        || e.is_validation_exception() =>
                {
                    PushError::Invalid(DisplayErrorContext(&error).to_string())
                }
                _ => PushError::Failed(DisplayErrorContext(&error).to_string()),
            }),
        }
    }
}

/// A variable's value, when it is set and not blank.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The platform application ARN in `name`, if set.
fn application_from_env(name: &'static str, platforms: &[&str]) -> Result<Option<String>, ConfigError> {
    var(name).map(|arn| application_arn(name, arn, platforms)).transpose()
}

/// `arn` when it is `arn:<partition>:sns:<region>:<account>:app/<platform>/<name>` with one of
/// the `platforms` SNS names; an error naming the variable `name` when not.
fn application_arn(name: &'static str, arn: String, platforms: &[&str]) -> Result<String, ConfigError> {
    let platform = arn
        .split(':')
        .collect::<Vec<_>>()
        .get(..6)
        .filter(|parts| parts[0] == "arn" && parts[2] == "sns")
        .and_then(|parts| parts[5].strip_prefix("app/"))
        .and_then(|path| path.split_once('/'))
        .filter(|(_, application)| !application.is_empty())
        .map(|(platform, _)| platform.to_owned());
    match platform {
        Some(platform) if platforms.contains(&platform.as_str()) => Ok(arn),
        Some(platform) => Err(ConfigError::Invalid {
            name,
            reason: format!("is a {platform} platform application; expected {}", platforms.join(" or ")),
        }),
        None => Err(ConfigError::Invalid {
            name,
            reason: "must be the ARN of an SNS platform application \
                     (arn:aws:sns:<region>:<account>:app/<platform>/<name>)"
                .into(),
        }),
    }
}

/// The ARN of the existing endpoint named in SNS's refusal of a token it already has under other
/// attributes: "Invalid parameter: Token Reason: Endpoint <arn> already exists with the same
/// Token, but different attributes."
fn existing_endpoint_arn(message: &str) -> Option<&str> {
    const MARKER: &str = "Endpoint arn:";
    const TAIL: &str = "already exists with the same token";
    let start = message.find(MARKER)? + "Endpoint ".len();
    let rest = &message[start..];
    let end = rest.find(char::is_whitespace)?;
    let (arn, tail) = rest.split_at(end);
    let tail = tail.trim_start();
    let says_exists = tail.get(..TAIL.len()).is_some_and(|t| t.eq_ignore_ascii_case(TAIL));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let is_endpoint = parts.len() == 6 && parts[2] == "sns" && parts[5].starts_with("endpoint/");
    (says_exists && is_endpoint).then_some(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/android/5e3e9847-3183-3f18-a7e8-671c3a57d4b3";

    #[test]
    fn the_existing_endpoint_is_read_from_the_sns_message() {
        let message = format!(
            "Invalid parameter: Token Reason: Endpoint {ARN} already exists with the same Token, \
             but different attributes."
        );
        assert_eq!(existing_endpoint_arn(&message), Some(ARN));
    }

    #[test]
    fn the_lower_case_token_wording_and_other_partitions_are_read_too() {
        let arn = "arn:aws-cn:sns:cn-north-1:123456789012:endpoint/APNS/app/0f1e2d3c";
        let message = format!("Endpoint {arn} already exists with the same token, but different attributes.");
        assert_eq!(existing_endpoint_arn(&message), Some(arn));
    }

    #[test]
    fn other_invalid_parameter_messages_name_no_endpoint() {
        for message in [
            "Invalid parameter: Token Reason: iOS device tokens must be 64 hexadecimal characters",
            "Invalid parameter: PlatformApplicationArn Reason: arn:aws:sns:us-east-1:1:app/GCM/x is invalid",
            &format!("Endpoint {ARN} is disabled"),
            &format!("Endpoint {ARN}"),
            "Endpoint arn:aws:sns:us-east-1:123456789012:app/GCM/x already exists with the same Token",
            "",
        ] {
            assert_eq!(existing_endpoint_arn(message), None, "{message}");
        }
    }

    #[test]
    fn platform_applications_are_checked_at_start_up() {
        let name = SNS_PLATFORM_APPLICATION_IOS;
        let check = |arn: &str| application_arn(name, arn.to_owned(), &["APNS", "APNS_SANDBOX"]);
        let ios = "arn:aws:sns:eu-west-1:123456789012:app/APNS_SANDBOX/switchboard-ios";
        assert_eq!(check(ios).unwrap(), ios);
        let error = check("arn:aws:sns:eu-west-1:123456789012:app/GCM/switchboard-android").unwrap_err();
        assert!(error.to_string().contains("is a GCM platform application"), "{error}");
        for bad in
            ["switchboard-ios", "arn:aws:sqs:eu-west-1:1:app/APNS/x", "arn:aws:sns:eu-west-1:1:app/APNS"]
        {
            let error = check(bad).unwrap_err();
            assert!(error.to_string().contains(SNS_PLATFORM_APPLICATION_IOS), "{error}");
        }
    }
}
