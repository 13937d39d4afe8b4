//! JWT verification (and minting, for development): the one place tokens are trusted.
//!
//! Call [`jwt_crypto`] before any direct use of jsonwebtoken's `encode` or `decode`: builds
//! without the `asymmetric-jwt` feature have no crypto provider until it installs one (the
//! constructors here call it).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::widget::WidgetUser;
use crate::domain::{Principal, Role, UserId};

/// Clock skew tolerated on `exp` and `nbf` (and on the lifetime limit), in seconds: the
/// identity provider's clock and Lambda's are never exactly in step.
pub const LEEWAY_SECONDS: u64 = 30;

/// Longest token lifetime accepted unless configured otherwise: a day. A stolen token is only
/// worth as long as it lives, and nothing in Switchboard revokes one.
pub const DEFAULT_MAX_LIFETIME_SECONDS: u64 = 24 * 3600;

/// Claims Switchboard writes into the tokens it mints.
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

/// The claims read from a token to verify: `iss`, `aud` (a string or an array) and `nbf` are
/// checked by the JWT library, so only what Switchboard itself uses is decoded here.
#[derive(Deserialize)]
struct VerifiedClaims {
    sub: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
    exp: u64,
    /// Optional: identity providers may leave it out; the lifetime is then counted from now.
    #[serde(default)]
    iat: Option<u64>,
}

/// Why a token was refused (said to the client only as 401).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token in the request.
    #[error("missing bearer token")]
    Missing,
    /// The token failed verification (signature, expiry, not-before, issuer, audience,
    /// algorithm).
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    /// The claims are not usable (bad user id or role).
    #[error("invalid token claims: {0}")]
    Claims(String),
    /// The token lives longer than the configured maximum.
    #[error("token lifetime of {lifetime} s exceeds the maximum of {max} s")]
    TooLong {
        /// `exp − iat`, or `exp − now` without `iat`.
        lifetime: u64,
        /// The configured maximum.
        max: u64,
    },
    /// The token names no `kid`, which a key set needs to pick its key.
    #[error("the token has no kid")]
    MissingKeyId,
    /// No key of the key set has the token's `kid` (yet: the set may have rotated).
    #[error("no key with kid {0:?}")]
    UnknownKey(String),
    /// The key material in the configuration is unusable.
    #[error("bad key configuration: {0}")]
    Config(String),
}

/// One verification key with the one algorithm it may verify.
#[derive(Clone)]
struct PinnedKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

/// The signing keys of an identity provider's JWKS document (Cognito, Auth0, Okta), by `kid`.
/// Clones share the keys, so replacing them after a fetch reaches every verifier using the set.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Arc<RwLock<HashMap<String, PinnedKey>>>,
}

impl KeySet {
    /// A key set from a JWKS document (`{"keys": [...]}`).
    pub fn parse(document: &[u8]) -> Result<Self, AuthError> {
        let set = Self::default();
        set.replace(document)?;
        Ok(set)
    }

    /// Replaces the keys with those of a newly fetched JWKS document; returns how many it holds.
    /// A document without a usable key is refused and the keys stay as they were.
    pub fn replace(&self, document: &[u8]) -> Result<usize, AuthError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document)
            .map_err(|e| AuthError::Config(format!("not a JWKS document: {e}")))?;
        // Keys of kinds this verifier does not take are skipped one by one, so a provider that
        // adds, say, an encryption key does not break sign-in.
        let keys: HashMap<String, PinnedKey> = document
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, signing_key(&jwk)?)))
            .collect();
        if keys.is_empty() {
            return Err(AuthError::Config(
                "the JWKS document has no RS256 or ES256 signing key with a kid".into(),
            ));
        }
        let count = keys.len();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        Ok(count)
    }

    fn get(&self, kid: &str) -> Option<PinnedKey> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).get(kid).cloned()
    }
}

/// The key and pinned algorithm of a JWK, when it is an RSA key for RS256 or a P-256 key for
/// ES256 meant for signatures. The algorithm comes from the key (its `alg`, else its type),
/// never from a token's header: a symmetric (`oct`) key in a public key set is refused, so an
/// HS256 token can never be checked against public material.
fn signing_key(jwk: &Jwk) -> Option<PinnedKey> {
    if matches!(jwk.common.public_key_use, Some(ref use_) if *use_ != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
            if ec.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    Some(PinnedKey { key: DecodingKey::from_jwk(jwk).ok()?, algorithm })
}

/// Where a verifier's keys come from.
#[derive(Clone)]
enum Keys {
    /// One key from the configuration.
    Pinned(PinnedKey),
    /// The identity provider's key set, the key picked by the token's `kid`.
    Set(KeySet),
}

/// How tokens are checked: each key with its one pinned algorithm, the issuer, the audience,
/// `exp` and `nbf` (with [`LEEWAY_SECONDS`]) and a maximum lifetime.
#[derive(Clone)]
pub struct TokenVerifier {
    keys: Keys,
    issuer: String,
    audience: String,
    max_lifetime_seconds: u64,
    /// The verifier of the widget's customer tokens, which Switchboard signs itself
    /// ([`WidgetTokens`]); tokens naming its issuer go to it.
    widget: Option<Arc<TokenVerifier>>,
}

impl TokenVerifier {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        jwt_crypto();
        let key = PinnedKey { key: DecodingKey::from_secret(secret), algorithm: Algorithm::HS256 };
        Self::with_keys(Keys::Pinned(key), issuer, audience)
    }

    /// RS256 with the identity provider's public key (PEM).
    #[cfg(feature = "asymmetric-jwt")]
    pub fn rs256(public_key_pem: &[u8], issuer: &str, audience: &str) -> Result<Self, AuthError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem).map_err(|e| AuthError::Config(e.to_string()))?;
        Ok(Self::with_keys(Keys::Pinned(PinnedKey { key, algorithm: Algorithm::RS256 }), issuer, audience))
    }

    /// RS256 / ES256 with the keys of an identity provider's JWKS document, picked by `kid`.
    pub fn jwks(keys: KeySet, issuer: &str, audience: &str) -> Self {
        Self::with_keys(Keys::Set(keys), issuer, audience)
    }

    fn with_keys(keys: Keys, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime_seconds: DEFAULT_MAX_LIFETIME_SECONDS,
            widget: None,
        }
    }

    /// The same verifier also accepting the widget's customer tokens: a token whose `iss` is the
    /// widget issuer is checked with the widget's secret (HS256 pinned), whatever this
    /// verifier's own keys are (an identity provider's key set included).
    pub fn accepting_widget_tokens(self, widget: &WidgetTokens) -> Self {
        Self { widget: Some(Arc::new(widget.verifier.clone())), ..self }
    }

    /// The same verifier refusing tokens that live longer than `seconds` (default
    /// [`DEFAULT_MAX_LIFETIME_SECONDS`]).
    pub fn with_max_lifetime(self, seconds: u64) -> Self {
        Self { max_lifetime_seconds: seconds, ..self }
    }

    /// The longest token lifetime this verifier accepts, in seconds.
    pub fn max_lifetime_seconds(&self) -> u64 {
        self.max_lifetime_seconds
    }

    /// Verifies a token and returns who it speaks for. The widget's user ids (`wv:`, `wu:`)
    /// are spoken for only by widget tokens, and widget tokens only for customers.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if let Some(widget) = &self.widget {
            // Which verifier is picked by the unverified issuer: each pins its own key,
            // algorithm and issuer, so a forged `iss` only picks a check it fails.
            if unverified_issuer(token).as_deref() == Some(widget.issuer.as_str()) {
                let principal = widget.verify_signed(token)?;
                if principal.role != Role::Customer || WidgetUser::of(&principal.user_id).is_none() {
                    return Err(AuthError::Claims("a widget token speaks only for a widget customer".into()));
                }
                return Ok(principal);
            }
        }
        let principal = self.verify_signed(token)?;
        if WidgetUser::is_reserved(&principal.user_id) {
            return Err(AuthError::Claims("user ids starting with wv: or wu: belong to the widget".into()));
        }
        Ok(principal)
    }

    /// Verifies a token with this verifier's own keys and claims.
    fn verify_signed(&self, token: &str) -> Result<Principal, AuthError> {
        let pinned = match &self.keys {
            Keys::Pinned(key) => key.clone(),
            Keys::Set(set) => {
                let kid = decode_header(token)?.kid.ok_or(AuthError::MissingKeyId)?;
                set.get(&kid).ok_or(AuthError::UnknownKey(kid))?
            }
        };
        let claims = decode::<VerifiedClaims>(token, &pinned.key, &self.validation(pinned.algorithm))?.claims;
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        // Counted from now when `iat` is missing or in the future, so a made-up `iat` cannot
        // stretch a token's life.
        let lifetime = claims.exp.saturating_sub(claims.iat.map_or(now, |iat| iat.min(now)));
        if lifetime > self.max_lifetime_seconds + LEEWAY_SECONDS {
            return Err(AuthError::TooLong { lifetime, max: self.max_lifetime_seconds });
        }
        let user_id = UserId::parse(&claims.sub).map_err(|e| AuthError::Claims(e.to_string()))?;
        let role = Role::parse(&claims.role).map_err(|e| AuthError::Claims(e.to_string()))?;
        let name = claims.name.filter(|n| !n.trim().is_empty()).map(|n| n.chars().take(100).collect());
        Ok(Principal { user_id, role, name })
    }

    /// The checks for a key of `algorithm`: only that algorithm, whatever the token's header says.
    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        validation
    }
}

/// The `iss` of a token, read without verifying anything (to pick the verifier that will).
fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    #[derive(Deserialize)]
    struct Issuer {
        iss: Option<String>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok()?.iss
}

/// Issuer of the widget's customer tokens unless `WIDGET_TOKEN_ISSUER` says otherwise: not the
/// identity provider's, so the authorizer tells the two apart.
pub const DEFAULT_WIDGET_ISSUER: &str = "switchboard-widget";

/// How long a widget customer token lives: an hour (the widget asks for a fresh one with its
/// resume credential or signed identity, so a stolen token is worth little).
pub const WIDGET_TOKEN_TTL_SECONDS: u64 = 3600;

/// The customer tokens Switchboard signs itself for the widget's visitors and signed-in users
/// (HS256 with the widget token secret, its own issuer, the API's audience), and their check.
#[derive(Clone)]
pub struct WidgetTokens {
    minter: TokenMinter,
    verifier: TokenVerifier,
    ttl_seconds: u64,
}

impl WidgetTokens {
    /// Widget tokens signed with `secret`, for `issuer` and `audience`, living
    /// [`WIDGET_TOKEN_TTL_SECONDS`] or `max_lifetime_seconds` if shorter.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str, max_lifetime_seconds: u64) -> Self {
        Self {
            minter: TokenMinter::hs256(secret, issuer, audience),
            verifier: TokenVerifier::hs256(secret, issuer, audience).with_max_lifetime(max_lifetime_seconds),
            ttl_seconds: WIDGET_TOKEN_TTL_SECONDS.min(max_lifetime_seconds),
        }
    }

    /// A customer token for a widget user, and when it expires (epoch seconds).
    pub fn mint(&self, user: &UserId, name: Option<&str>) -> Result<(String, u64), AuthError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let token = self.minter.mint(user.as_str(), Role::Customer, name, self.ttl_seconds)?;
        Ok((token, now + self.ttl_seconds))
    }

    /// Verifies a widget token (the visitor's, handed to `identify`).
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let principal = self.verifier.verify_signed(token)?;
        if principal.role != Role::Customer || WidgetUser::of(&principal.user_id).is_none() {
            return Err(AuthError::Claims("not a widget customer token".into()));
        }
        Ok(principal)
    }
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
        jwt_crypto();
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

/// jsonwebtoken's cryptography for HS256 alone (HMAC-SHA256 from the `hmac` crate, checked in
/// constant time): what a build without the `asymmetric-jwt` feature uses, so the functions that
/// only mint and check HS256 tokens (the widget's) link no RSA or elliptic-curve code (0.3 MB).
/// Any other algorithm is refused as invalid.
pub static HS256_ONLY: jsonwebtoken::crypto::CryptoProvider = jsonwebtoken::crypto::CryptoProvider {
    signer_factory: hs256::signer,
    verifier_factory: hs256::verifier,
    jwk_utils: jsonwebtoken::crypto::JwkUtils::new_unimplemented(),
};

mod hs256 {
    use hmac::{Hmac, Mac};
    use jsonwebtoken::crypto::{JwtSigner, JwtVerifier};
    use jsonwebtoken::errors::{Error, ErrorKind};
    use jsonwebtoken::signature::{self, Signer, Verifier};
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
    use sha2::Sha256;

    pub(super) struct Hs256(Hmac<Sha256>);

    fn keyed(secret: &[u8], algorithm: &Algorithm) -> Result<Hs256, Error> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Hmac::new_from_slice(secret).map(Hs256).map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    pub(super) fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
        Ok(Box::new(keyed(key.try_get_hmac_secret()?, algorithm)?))
    }

    pub(super) fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
        Ok(Box::new(keyed(key.try_get_hmac_secret()?, algorithm)?))
    }

    impl Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
    }

    impl Verifier<Vec<u8>> for Hs256 {
        fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
            let mut mac = self.0.clone();
            mac.update(message);
            mac.verify_slice(tag).map_err(signature::Error::from_source)
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }
}

/// Makes jsonwebtoken's cryptography ready before a token is signed or checked: built with
/// `asymmetric-jwt` (the authorizer, the local gateway, tests) its own RustCrypto provider
/// serves every algorithm; without, [`HS256_ONLY`] is installed (once per process).
pub fn jwt_crypto() {
    #[cfg(not(feature = "asymmetric-jwt"))]
    {
        // Already installed is the only failure, and then it is this provider.
        let _ = HS256_ONLY.install_default();
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

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    /// Valid claims for a customer, an hour long; tests change what they are about.
    fn claims() -> serde_json::Value {
        serde_json::json!({"sub": "cust-ada", "role": "customer", "iat": now(), "exp": now() + 3600,
            "iss": "switchboard", "aud": "switchboard-api"})
    }

    fn signed(claims: &serde_json::Value) -> String {
        jwt_crypto();
        encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET)).unwrap()
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
        let mut expired = claims();
        expired["iat"] = (now() - 7200).into();
        expired["exp"] = (now() - 3600).into();
        assert!(matches!(verifier().verify(&signed(&expired)), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn not_before_is_checked_with_the_leeway() {
        let mut later = claims();
        later["nbf"] = (now() + 600).into();
        let mut within_leeway = claims();
        within_leeway["nbf"] = (now() + 10).into();
        assert!(matches!(verifier().verify(&signed(&later)), Err(AuthError::Invalid(_))));
        assert!(verifier().verify(&signed(&within_leeway)).is_ok());
    }

    #[test]
    fn the_audience_may_be_an_array_and_iat_may_be_missing() {
        let mut array = claims();
        array["aud"] = serde_json::json!(["other-api", "switchboard-api"]);
        let mut no_iat = claims();
        no_iat.as_object_mut().unwrap().remove("iat");
        assert!(verifier().verify(&signed(&array)).is_ok());
        assert!(verifier().verify(&signed(&no_iat)).is_ok());
    }

    #[test]
    fn tokens_living_longer_than_the_maximum_are_refused() {
        let mut a_year = claims();
        a_year["exp"] = (now() + 365 * 86_400).into();
        let mut a_year_without_iat = a_year.clone();
        a_year_without_iat.as_object_mut().unwrap().remove("iat");
        let mut future_iat = a_year.clone();
        future_iat["iat"] = (now() + 365 * 86_400 - 60).into();
        for token in [&a_year, &a_year_without_iat, &future_iat] {
            assert!(matches!(verifier().verify(&signed(token)), Err(AuthError::TooLong { .. })), "{token}");
        }
        let two_hours = verifier().with_max_lifetime(7200);
        let mut three_hours = claims();
        three_hours["exp"] = (now() + 3 * 3600).into();
        assert!(matches!(two_hours.verify(&signed(&three_hours)), Err(AuthError::TooLong { .. })));
        assert!(two_hours.verify(&signed(&claims())).is_ok());
    }

    #[test]
    fn the_none_algorithm_and_unknown_roles_are_refused() {
        let header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
        let body = base64_url(&claims().to_string());
        assert!(verifier().verify(&format!("{header}.{body}.")).is_err());
        let mut root = claims();
        root["role"] = "root".into();
        assert!(matches!(verifier().verify(&signed(&root)), Err(AuthError::Claims(_))));
    }

    #[test]
    #[cfg(feature = "asymmetric-jwt")]
    fn rs256_tokens_verify_with_the_public_key_and_algorithm_confusion_is_refused() {
        let private = include_bytes!("../testdata/rs256-private.pem");
        let public = include_bytes!("../testdata/rs256-public.pem");
        let verifier = TokenVerifier::rs256(public, "switchboard", "switchboard-api").unwrap();
        let key = EncodingKey::from_rsa_pem(private).unwrap();
        let token = encode(&Header::new(Algorithm::RS256), &claims(), &key).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().role, Role::Customer);
        // An HS256 token "signed" with the public key must not pass as RS256.
        let confused = TokenMinter::hs256(public, "switchboard", "switchboard-api")
            .mint("agent-bob", Role::Admin, None, 60)
            .unwrap();
        assert!(verifier.verify(&confused).is_err());
    }

    #[test]
    #[cfg(feature = "asymmetric-jwt")]
    fn a_key_set_takes_only_rs256_and_es256_signing_keys_with_a_kid() {
        let rsa = EncodingKey::from_rsa_pem(include_bytes!("../testdata/rs256-private.pem")).unwrap();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = "rsa".into();
        let mut encryption = jwk.clone();
        encryption["kid"] = "enc".into();
        encryption["use"] = "enc".into();
        let mut no_kid = jwk.clone();
        no_kid.as_object_mut().unwrap().remove("kid");
        let document = serde_json::json!({"keys": [
            jwk, encryption, no_kid,
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
            {"kty": "OKP", "kid": "future", "crv": "X448", "x": "AAAA"}
        ]});
        let set = KeySet::parse(document.to_string().as_bytes()).unwrap();
        assert!(set.get("rsa").is_some());
        for kid in ["enc", "shared", "future"] {
            assert!(set.get(kid).is_none(), "{kid}");
        }
        assert!(KeySet::parse(br#"{"keys": []}"#).is_err());
        assert!(set.replace(b"not json").is_err());
        assert!(set.get("rsa").is_some(), "a bad document keeps the keys");
    }

    fn widget() -> WidgetTokens {
        WidgetTokens::hs256(
            b"widget-secret-widget-secret-widget!",
            DEFAULT_WIDGET_ISSUER,
            "switchboard-api",
            86_400,
        )
    }

    fn widget_user() -> UserId {
        UserId::parse("wv:01JD000000000000000000000A:01JD0000000000000000000001").unwrap()
    }

    #[test]
    #[cfg(feature = "asymmetric-jwt")]
    fn widget_tokens_are_accepted_beside_every_kind_of_identity_provider_key() {
        let (token, _) = widget().mint(&widget_user(), Some("Grace")).unwrap();
        let public = include_bytes!("../testdata/rs256-public.pem");
        let rsa = EncodingKey::from_rsa_pem(include_bytes!("../testdata/rs256-private.pem")).unwrap();
        let mut jwk = serde_json::to_value(Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = "rsa".into();
        let set = KeySet::parse(serde_json::json!({"keys": [jwk]}).to_string().as_bytes()).unwrap();
        let verifiers = [
            verifier(),
            TokenVerifier::rs256(public, "switchboard", "switchboard-api").unwrap(),
            TokenVerifier::jwks(set, "switchboard", "switchboard-api"),
        ];
        for verifier in verifiers {
            let accepting = verifier.clone().accepting_widget_tokens(&widget());
            let principal = accepting.verify(&token).unwrap();
            assert_eq!(principal.user_id, widget_user());
            assert_eq!(principal.role, Role::Customer);
            assert!(verifier.verify(&token).is_err(), "without the widget secret it is refused");
        }
    }

    #[test]
    fn only_widget_tokens_speak_for_widget_users_and_only_as_customers() {
        let accepting = verifier().accepting_widget_tokens(&widget());
        let impostor = TokenMinter::hs256(SECRET, "switchboard", "switchboard-api")
            .mint(widget_user().as_str(), Role::Customer, None, 60)
            .unwrap();
        assert!(matches!(accepting.verify(&impostor), Err(AuthError::Claims(_))));
        let forged =
            TokenMinter::hs256(b"guessed-guessed-guessed-guessed!", DEFAULT_WIDGET_ISSUER, "switchboard-api")
                .mint(widget_user().as_str(), Role::Customer, None, 60)
                .unwrap();
        assert!(accepting.verify(&forged).is_err());
        let staff = TokenMinter::hs256(
            b"widget-secret-widget-secret-widget!",
            DEFAULT_WIDGET_ISSUER,
            "switchboard-api",
        )
        .mint(widget_user().as_str(), Role::Admin, None, 60)
        .unwrap();
        assert!(matches!(accepting.verify(&staff), Err(AuthError::Claims(_))));
        let ordinary = TokenMinter::hs256(
            b"widget-secret-widget-secret-widget!",
            DEFAULT_WIDGET_ISSUER,
            "switchboard-api",
        )
        .mint("cust-ada", Role::Customer, None, 60)
        .unwrap();
        assert!(accepting.verify(&ordinary).is_err(), "a widget token names a widget user");
    }

    /// RFC 7515, appendix A.1: the HS256 example's key, signing input and signature.
    const RFC7515_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const RFC7515_SIGNING_INPUT: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const RFC7515_SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn rfc7515_key() -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(RFC7515_KEY).unwrap()
    }

    #[test]
    fn the_hs256_only_crypto_signs_and_checks_the_rfc_7515_example() {
        use base64::Engine;
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(RFC7515_SIGNATURE).unwrap();
        let signer =
            (HS256_ONLY.signer_factory)(&Algorithm::HS256, &EncodingKey::from_secret(&rfc7515_key()))
                .unwrap();
        let verifier =
            (HS256_ONLY.verifier_factory)(&Algorithm::HS256, &DecodingKey::from_secret(&rfc7515_key()))
                .unwrap();

        assert_eq!(signer.try_sign(RFC7515_SIGNING_INPUT.as_bytes()).unwrap(), signature);
        assert!(verifier.verify(RFC7515_SIGNING_INPUT.as_bytes(), &signature).is_ok());
        let mut altered = signature.clone();
        altered[0] ^= 1;
        assert!(verifier.verify(RFC7515_SIGNING_INPUT.as_bytes(), &altered).is_err());
        assert!(verifier.verify(b"another signing input", &signature).is_err());
    }

    #[test]
    fn the_hs256_only_crypto_refuses_every_other_algorithm() {
        let secret = DecodingKey::from_secret(SECRET);
        for algorithm in
            [Algorithm::HS384, Algorithm::HS512, Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
        {
            let refused = (HS256_ONLY.verifier_factory)(&algorithm, &secret).err().map(|e| e.into_kind());
            assert_eq!(refused, Some(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm), "{algorithm:?}");
        }
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
