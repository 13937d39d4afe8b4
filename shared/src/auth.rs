//! JWT verification (and minting, for development): the one place tokens are trusted.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::{Principal, Role, UserId};

/// Claims Switchboard reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// `customer`, `agent` or `admin`.
    pub role: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Issued at, epoch seconds.
    pub iat: u64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
}

/// Why a token was refused (said to the client only as 401).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token in the request.
    #[error("missing bearer token")]
    Missing,
    /// The token failed verification (signature, expiry, issuer, audience, algorithm).
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The claims are not usable (bad user id or role).
    #[error("invalid token claims: {0}")]
    Claims(String),
    /// The key material in the configuration is unusable.
    #[error("bad key configuration: {0}")]
    Config(String),
}

/// How tokens are checked: one algorithm, pinned, with its key, issuer and audience.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Self {
            key: DecodingKey::from_secret(secret),
            validation: validation(Algorithm::HS256, issuer, audience),
        }
    }

    /// RS256 with the identity provider's public key (PEM).
    pub fn rs256(public_key_pem: &[u8], issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem).map_err(|e| AuthError::Config(e.to_string()))?;
        Ok(Self { key, validation: validation(Algorithm::RS256, issuer, audience) })
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = decode::<Claims>(token, &self.key, &self.validation)?.claims;
        let user_id = UserId::parse(&claims.sub).map_err(|e| AuthError::Claims(e.to_string()))?;
        let role = Role::parse(&claims.role).map_err(|e| AuthError::Claims(e.to_string()))?;
        let name = claims.name.filter(|n| !n.trim().is_empty()).map(|n| n.chars().take(100).collect());
        Ok(Principal { user_id, role, name })
    }
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 30;
    validation
}

/// Mints HS256 tokens: the local gateway's development tokens and the tests' tokens.
#[derive(Clone)]
pub struct TokenMinter {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenMinter {
    /// A minter for the same secret, issuer and audience a [`TokenVerifier::hs256`] checks.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Self {
            key: EncodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// A token for a user, valid for `ttl_seconds` from now.
    pub fn mint(
        &self,
        sub: &str,
        role: Role,
        name: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<String, AuthError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.as_str().to_owned(),
            name: name.map(str::to_owned),
            exp: now + ttl_seconds,
            iat: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.key)?)
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header_value: &str) -> Option<&str> {
    let (scheme, token) = header_value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"unit-test-secret-unit-test-secret";

    fn verifier() -> TokenVerifier {
        TokenVerifier::hs256(SECRET, "switchboard", "switchboard-api")
    }

    #[test]
    fn a_minted_token_verifies_to_its_user_and_role() {
        let token = TokenMinter::hs256(SECRET, "switchboard", "switchboard-api")
            .mint("agent-bob", Role::Agent, Some("Bob"), 60)
            .unwrap();
        let principal = verifier().verify(&token).unwrap();
        assert_eq!(principal.user_id.as_str(), "agent-bob");
        assert_eq!(principal.role, Role::Agent);
        assert_eq!(principal.name.as_deref(), Some("Bob"));
    }

    #[test]
    fn tokens_for_another_audience_or_issuer_or_secret_are_refused() {
        let wrong_audience = TokenMinter::hs256(SECRET, "switchboard", "other-api");
        let wrong_issuer = TokenMinter::hs256(SECRET, "evil", "switchboard-api");
        let wrong_secret =
            TokenMinter::hs256(b"another-secret-another-secret!!", "switchboard", "switchboard-api");
        for minter in [wrong_audience, wrong_issuer, wrong_secret] {
            let token = minter.mint("cust-ada", Role::Customer, None, 60).unwrap();
            assert!(verifier().verify(&token).is_err());
        }
    }

    #[test]
    fn expired_tokens_are_refused() {
        let minter = TokenMinter::hs256(SECRET, "switchboard", "switchboard-api");
        let mut claims: Claims = serde_json::from_value(serde_json::json!({
            "sub": "cust-ada", "role": "customer", "exp": 1000, "iat": 900,
            "iss": "switchboard", "aud": "switchboard-api"
        }))
        .unwrap();
        claims.exp = 1000;
        let token = encode(&Header::new(Algorithm::HS256), &claims, &minter.key).unwrap();
        assert!(matches!(verifier().verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn the_none_algorithm_and_unknown_roles_are_refused() {
        let header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
        let body = base64_url(
            r#"{"sub":"x","role":"admin","exp":4102444800,"iat":1,"iss":"switchboard","aud":"switchboard-api"}"#,
        );
        assert!(verifier().verify(&format!("{header}.{body}.")).is_err());
        let token = TokenMinter::hs256(SECRET, "switchboard", "switchboard-api");
        let mut claims = serde_json::json!({"sub":"x","role":"root","exp":4102444800u64,"iat":1,"iss":"switchboard","aud":"switchboard-api"});
        claims["role"] = "root".into();
        let forged = encode(&Header::new(Algorithm::HS256), &claims, &token.key).unwrap();
        assert!(matches!(verifier().verify(&forged), Err(AuthError::Claims(_))));
    }

    #[test]
    fn rs256_tokens_verify_with_the_public_key_and_algorithm_confusion_is_refused() {
        let private = include_bytes!("../testdata/rs256-private.pem");
        let public = include_bytes!("../testdata/rs256-public.pem");
        let verifier = TokenVerifier::rs256(public, "switchboard", "switchboard-api").unwrap();
        let claims = serde_json::json!({"sub": "agent-bob", "role": "agent", "exp": 4102444800u64, "iat": 1,
            "iss": "switchboard", "aud": "switchboard-api"});
        let key = EncodingKey::from_rsa_pem(private).unwrap();
        let token = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().role, Role::Agent);
        // An HS256 token "signed" with the public key must not pass as RS256.
        let confused = TokenMinter::hs256(public, "switchboard", "switchboard-api")
            .mint("agent-bob", Role::Admin, None, 60)
            .unwrap();
        assert!(verifier.verify(&confused).is_err());
    }

    #[test]
    fn bearer_headers_are_parsed_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    fn base64_url(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }
}
