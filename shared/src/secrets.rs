//! The widget token secret, read once at cold start: from the SSM SecureString
//! `WIDGET_TOKEN_SECRET_PARAMETER` names (builds with the `ssm` feature: the functions that mint
//! widget tokens and the authorizer), or in plain text from `WIDGET_TOKEN_SECRET` (local runs).
//! With neither set, the authorizer accepts no widget token and the minting functions do not start.

use crate::auth::{WidgetTokens, DEFAULT_WIDGET_ISSUER};
use crate::config::{var, ConfigError, TokenSettings, MIN_SECRET_BYTES};

/// The plain-text secret (local runs only).
pub const WIDGET_TOKEN_SECRET: &str = "WIDGET_TOKEN_SECRET";
/// The name of the SSM SecureString holding the secret.
pub const WIDGET_TOKEN_SECRET_PARAMETER: &str = "WIDGET_TOKEN_SECRET_PARAMETER";
/// The `iss` of widget tokens (default [`DEFAULT_WIDGET_ISSUER`]).
pub const WIDGET_TOKEN_ISSUER: &str = "WIDGET_TOKEN_ISSUER";

/// Widget tokens with `secret` (at least [`MIN_SECRET_BYTES`], named `source` when not) and the
/// environment's issuer, the settings' audience and lifetime; the widget issuer must differ from
/// the identity provider's, or the authorizer could not tell their tokens apart.
pub fn widget_tokens(
    secret: &str,
    source: &'static str,
    settings: &TokenSettings,
) -> Result<WidgetTokens, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::Invalid {
            name: source,
            reason: format!("the secret must be at least {MIN_SECRET_BYTES} bytes"),
        });
    }
    let issuer = var(WIDGET_TOKEN_ISSUER).unwrap_or_else(|| DEFAULT_WIDGET_ISSUER.to_owned());
    if issuer == settings.issuer {
        return Err(ConfigError::Invalid {
            name: WIDGET_TOKEN_ISSUER,
            reason: format!("{issuer:?} is also JWT_ISSUER: widget tokens need an issuer of their own"),
        });
    }
    Ok(WidgetTokens::hs256(secret.as_bytes(), &issuer, &settings.audience, settings.max_lifetime_seconds))
}

/// The widget tokens of the environment, if a secret is configured (see the module's comment).
pub async fn widget_tokens_from_env() -> Result<Option<WidgetTokens>, ConfigError> {
    let settings = TokenSettings::from_env()?;
    if let Some(secret) = var(WIDGET_TOKEN_SECRET) {
        return widget_tokens(&secret, WIDGET_TOKEN_SECRET, &settings).map(Some);
    }
    let Some(parameter) = var(WIDGET_TOKEN_SECRET_PARAMETER) else { return Ok(None) };
    parameter_tokens(&parameter, &settings).await.map(Some)
}

/// Widget tokens with the secret of the SSM SecureString `name`, read with `ssm`.
#[cfg(feature = "ssm")]
pub async fn widget_tokens_from_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    settings: &TokenSettings,
) -> Result<WidgetTokens, ConfigError> {
    let secret = read_secure_parameter(ssm, name).await.map_err(|reason| ConfigError::Invalid {
        name: WIDGET_TOKEN_SECRET_PARAMETER,
        reason: format!("reading the SSM parameter {name} failed: {reason}"),
    })?;
    widget_tokens(&secret, WIDGET_TOKEN_SECRET_PARAMETER, settings)
}

#[cfg(feature = "ssm")]
async fn parameter_tokens(name: &str, settings: &TokenSettings) -> Result<WidgetTokens, ConfigError> {
    widget_tokens_from_parameter(&ssm_client_from_env()?, name, settings).await
}

/// Without the `ssm` feature a function cannot read the parameter: a deployment mistake.
#[cfg(not(feature = "ssm"))]
async fn parameter_tokens(_name: &str, _settings: &TokenSettings) -> Result<WidgetTokens, ConfigError> {
    Err(ConfigError::Invalid {
        name: WIDGET_TOKEN_SECRET_PARAMETER,
        reason: "this function is built without SSM; only the widget functions and the authorizer read it"
            .into(),
    })
}

/// The decrypted value of a SecureString parameter (the one network call of a cold start that
/// reads a secret), or what SSM said.
#[cfg(feature = "ssm")]
pub async fn read_secure_parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, String> {
    let output = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(&e).to_string())?;
    output
        .parameter
        .and_then(|parameter| parameter.value)
        .ok_or_else(|| "the parameter has no value".to_owned())
}

/// An SSM client for a region and credentials, on the SDK's HTTPS client (rustls on ring),
/// optionally pointed at an SSM-compatible server.
#[cfg(feature = "ssm")]
pub fn ssm_client(
    region: String,
    credentials: aws_sdk_ssm::config::Credentials,
    endpoint: Option<String>,
) -> Result<aws_sdk_ssm::Client, ConfigError> {
    let builder = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new(region))
        .credentials_provider(credentials)
        .http_client(crate::config::https_client(
            endpoint.as_deref().is_some_and(|url| url.starts_with("https://")),
        )?);
    let builder = match endpoint {
        Some(url) => builder.endpoint_url(url),
        None => builder,
    };
    Ok(aws_sdk_ssm::Client::from_conf(builder.build()))
}

/// The SSM client of the Lambda environment (region, credentials, `AWS_ENDPOINT_URL`): built
/// from variables alone, nothing fetched yet.
#[cfg(feature = "ssm")]
pub fn ssm_client_from_env() -> Result<aws_sdk_ssm::Client, ConfigError> {
    let (region, credentials) = crate::config::aws_environment()?;
    ssm_client(region, credentials, var("AWS_ENDPOINT_URL"))
}

/// An SSM client for an SSM-compatible server on `endpoint` (a moto server): the region and
/// credentials of the environment when set, local placeholders when not.
#[cfg(feature = "ssm")]
pub fn ssm_client_for_endpoint(endpoint: &str) -> Result<aws_sdk_ssm::Client, ConfigError> {
    let (region, credentials) = crate::config::local_environment();
    ssm_client(region, credentials, Some(endpoint.to_owned()))
}
