//! Where the authorizer's keys come from, read once at cold start: a secret from SSM Parameter
//! Store (or, locally, the environment), a PEM public key, or an identity provider's JWKS URL
//! whose key set is fetched again when a token names a `kid` it does not know.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use switchboard_shared::auth::{AuthError, KeySet, TokenVerifier};
use switchboard_shared::config::{var, ConfigError, TokenSettings};
use switchboard_shared::domain::Principal;
use switchboard_shared::secrets::{read_secure_parameter, ssm_client_from_env};

/// The shortest time between two fetches of the key set prompted by unknown `kid`s, in seconds:
/// tokens with made-up `kid`s must not turn the authorizer into a load generator against the
/// identity provider.
pub const JWKS_REFRESH_INTERVAL_SECONDS: u64 = 60;

/// How long a fetch of the key set may take before it counts as failed.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest JWKS document read: real ones are a few kilobytes.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the verification key comes from (exactly one of the variables below is set).
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `JWT_SECRET`: an HS256 secret in plain text (local runs and tests).
    Secret(String),
    /// `JWT_SECRET_PARAMETER`: the name of an SSM SecureString holding the HS256 secret.
    SecretParameter {
        /// The parameter's name (or ARN).
        name: String,
        /// The client it is read with.
        ssm: aws_sdk_ssm::Client,
    },
    /// `JWT_PUBLIC_KEY` (with `JWT_ALGORITHM=RS256`): a PEM RSA public key.
    PublicKey(String),
    /// `JWKS_URL`: the identity provider's key set (RS256 and ES256 keys picked by `kid`).
    JwksUrl(String),
}

/// The variables that name a key source; more than one set is a configuration mistake.
const KEY_VARIABLES: [&str; 4] = ["JWT_SECRET", "JWT_SECRET_PARAMETER", "JWT_PUBLIC_KEY", "JWKS_URL"];

impl KeySource {
    /// The key source of the Lambda environment (the SSM client is built from the environment
    /// alone: nothing is fetched yet).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(var, ssm_client_from_env)
    }

    /// The key source `lookup` describes; `ssm` builds the client a parameter is read with.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Option<String>,
        ssm: impl FnOnce() -> Result<aws_sdk_ssm::Client, ConfigError>,
    ) -> Result<Self, ConfigError> {
        let set: Vec<&'static str> =
            KEY_VARIABLES.into_iter().filter(|name| lookup(name).is_some()).collect();
        if set.len() > 1 {
            return Err(ConfigError::Invalid {
                name: set[1],
                reason: format!("set only one of {}; {} is set too", KEY_VARIABLES.join(", "), set[0]),
            });
        }
        let algorithm = lookup("JWT_ALGORITHM");
        let source = match (set.first().copied(), algorithm.as_deref()) {
            (Some("JWKS_URL"), None) => {
                let url = lookup("JWKS_URL").unwrap_or_default();
                if !(url.starts_with("https://") || is_loopback_http(&url)) {
                    return Err(ConfigError::Invalid {
                        name: "JWKS_URL",
                        reason: format!(
                            "{url:?} is not an https:// URL (plain http only to localhost): keys fetched in the clear could be swapped"
                        ),
                    });
                }
                KeySource::JwksUrl(url)
            }
            (Some("JWT_PUBLIC_KEY"), Some("RS256")) => KeySource::PublicKey(lookup("JWT_PUBLIC_KEY").unwrap_or_default()),
            (Some("JWT_SECRET"), None | Some("HS256")) => KeySource::Secret(lookup("JWT_SECRET").unwrap_or_default()),
            (Some("JWT_SECRET_PARAMETER"), None | Some("HS256")) => KeySource::SecretParameter {
                name: lookup("JWT_SECRET_PARAMETER").unwrap_or_default(),
                ssm: ssm()?,
            },
            (None, _) => {
                return Err(ConfigError::Invalid {
                    name: "JWT_SECRET_PARAMETER",
                    reason: format!("one of {} must be set", KEY_VARIABLES.join(", ")),
                })
            }
            (Some(variable), algorithm) => {
                return Err(ConfigError::Invalid {
                    name: "JWT_ALGORITHM",
                    reason: format!(
                        "{} does not go with {variable} (HS256 for a secret, RS256 for JWT_PUBLIC_KEY, unset for JWKS_URL)",
                        algorithm.unwrap_or("unset")
                    ),
                })
            }
        };
        Ok(source)
    }
}

/// Whether `url` is plain HTTP to this machine (an identity provider run locally, tests).
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _port)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why the authorizer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A variable is missing or unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The secret parameter could not be read.
    #[error("reading the SSM parameter {name} (JWT_SECRET_PARAMETER) failed: {reason}")]
    Parameter {
        /// The parameter's name.
        name: String,
        /// What SSM said.
        reason: String,
    },
    /// The key set could not be fetched or holds no usable key.
    #[error("the key set at {url} (JWKS_URL) is unusable: {reason}")]
    Jwks {
        /// The JWKS URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// The authorizer's verifier, and for a JWKS key set what refreshes it.
pub struct Authorizer {
    verifier: TokenVerifier,
    jwks: Option<JwksRefresh>,
}

/// Refetches a key set when a token names an unknown `kid`, at most once per
/// [`JWKS_REFRESH_INTERVAL_SECONDS`].
struct JwksRefresh {
    url: String,
    client: reqwest::Client,
    keys: KeySet,
    /// When the set was last fetched (or a fetch was tried), epoch seconds.
    fetched_at: Mutex<u64>,
}

impl Authorizer {
    /// Reads the key (the one network call of the cold start: the SSM parameter or the key
    /// set; none for the other sources) and builds the verifier. `now` is the time in epoch
    /// seconds, which starts the key set's refresh interval.
    pub async fn load(source: KeySource, settings: &TokenSettings, now: u64) -> Result<Self, StartupError> {
        let verifier = match source {
            KeySource::Secret(secret) => settings.hs256(&secret, "JWT_SECRET")?,
            KeySource::PublicKey(pem) => settings.rs256(&pem)?,
            KeySource::SecretParameter { name, ssm } => {
                let secret = read_parameter(&ssm, &name).await?;
                settings.hs256(&secret, "JWT_SECRET_PARAMETER")?
            }
            KeySource::JwksUrl(url) => {
                let client = reqwest::Client::builder()
                    .timeout(JWKS_FETCH_TIMEOUT)
                    .build()
                    .map_err(|e| StartupError::Jwks { url: url.clone(), reason: e.to_string() })?;
                let document = fetch_jwks(&client, &url)
                    .await
                    .map_err(|reason| StartupError::Jwks { url: url.clone(), reason })?;
                let keys = KeySet::parse(&document)
                    .map_err(|e| StartupError::Jwks { url: url.clone(), reason: e.to_string() })?;
                let verifier = settings.jwks(keys.clone());
                let jwks = JwksRefresh { url, client, keys, fetched_at: Mutex::new(now) };
                return Ok(Self { verifier, jwks: Some(jwks) });
            }
        };
        Ok(Self { verifier, jwks: None })
    }

    /// The same authorizer also accepting the widget's customer tokens (see
    /// [`TokenVerifier::accepting_widget_tokens`]).
    pub fn accepting_widget_tokens(self, widget: &switchboard_shared::auth::WidgetTokens) -> Self {
        Self { verifier: self.verifier.accepting_widget_tokens(widget), ..self }
    }

    /// The verifier (for a key set: over the keys fetched so far).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// Verifies a token; a `kid` the key set does not know fetches the set again first (keys
    /// rotate), unless it was fetched less than [`JWKS_REFRESH_INTERVAL_SECONDS`] before `now`.
    pub async fn verify(&self, token: &str, now: u64) -> Result<Principal, AuthError> {
        match (self.verifier.verify(token), &self.jwks) {
            (Err(AuthError::UnknownKey(kid)), Some(jwks)) => {
                if jwks.refresh(now).await {
                    self.verifier.verify(token)
                } else {
                    Err(AuthError::UnknownKey(kid))
                }
            }
            (result, _) => result,
        }
    }
}

impl JwksRefresh {
    /// Fetches the key set again when the interval allows; whether the keys were replaced.
    async fn refresh(&self, now: u64) -> bool {
        {
            let mut fetched_at = self.fetched_at.lock().unwrap_or_else(PoisonError::into_inner);
            if now < fetched_at.saturating_add(JWKS_REFRESH_INTERVAL_SECONDS) {
                return false;
            }
            // Taken before the fetch, so a failing provider is also asked only once a minute.
            *fetched_at = now;
        }
        let replaced = match fetch_jwks(&self.client, &self.url).await {
            Ok(document) => self.keys.replace(&document).map_err(|e| e.to_string()),
            Err(reason) => Err(reason),
        };
        match replaced {
            Ok(count) => {
                tracing::info!(keys = count, "key set fetched again");
                true
            }
            Err(reason) => {
                tracing::warn!(%reason, "fetching the key set again failed; keeping the keys");
                false
            }
        }
    }
}

/// The JWKS document at `url`.
async fn fetch_jwks(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    if response.content_length().is_some_and(|length| length > MAX_JWKS_BYTES as u64) {
        return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
    }
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
    }
    Ok(body.to_vec())
}

/// The decrypted value of a SecureString parameter.
async fn read_parameter(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<String, StartupError> {
    read_secure_parameter(ssm, name)
        .await
        .map_err(|reason| StartupError::Parameter { name: name.to_owned(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use switchboard_shared::secrets::ssm_client_for_endpoint;

    fn source(vars: &[(&'static str, &str)]) -> Result<KeySource, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        KeySource::from_lookup(
            |name| vars.get(name).cloned(),
            || ssm_client_for_endpoint("http://127.0.0.1:9"),
        )
    }

    #[test]
    fn exactly_one_key_source_must_be_configured() {
        let none = source(&[]).unwrap_err().to_string();
        assert!(none.contains("JWT_SECRET_PARAMETER"), "{none}");
        let two = source(&[("JWT_SECRET", "s"), ("JWKS_URL", "https://idp.example/jwks.json")])
            .unwrap_err()
            .to_string();
        assert!(two.contains("JWKS_URL") && two.contains("JWT_SECRET"), "{two}");
    }

    #[test]
    fn each_variable_names_its_source() {
        assert!(matches!(source(&[("JWT_SECRET", "s")]), Ok(KeySource::Secret(_))));
        assert!(matches!(
            source(&[("JWT_SECRET_PARAMETER", "/switchboard/jwt-secret")]),
            Ok(KeySource::SecretParameter { name, .. }) if name == "/switchboard/jwt-secret"
        ));
        assert!(matches!(
            source(&[("JWT_ALGORITHM", "RS256"), ("JWT_PUBLIC_KEY", "pem")]),
            Ok(KeySource::PublicKey(_))
        ));
        assert!(matches!(
            source(&[("JWKS_URL", "https://idp.example/.well-known/jwks.json")]),
            Ok(KeySource::JwksUrl(_))
        ));
    }

    #[test]
    fn an_algorithm_that_does_not_fit_the_key_or_a_bad_url_stops_start_up() {
        let mismatch = source(&[("JWT_ALGORITHM", "RS256"), ("JWT_SECRET", "s")]).unwrap_err();
        assert!(mismatch.to_string().contains("JWT_ALGORITHM"), "{mismatch}");
        let none_alg = source(&[("JWT_ALGORITHM", "none"), ("JWKS_URL", "https://idp.example/jwks")]);
        assert!(none_alg.is_err());
        for url in [
            "file:///etc/passwd",
            "http://idp.example/.well-known/jwks.json",
            "http://localhost.idp.example/jwks",
        ] {
            let refused = source(&[("JWKS_URL", url)]).unwrap_err();
            assert!(refused.to_string().contains("JWKS_URL"), "{refused}");
        }
        assert!(source(&[("JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json")]).is_ok());
    }
}
