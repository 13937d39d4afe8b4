//! S3's browser upload form (a presigned POST: a policy signed with SigV4) and presigned GET
//! URLs, built without the S3 client: the AWS SDK presigns GET and PUT but not POST, and the
//! functions that hand out links need no S3 client at all. The key derivation and the
//! signature are `aws-sigv4`'s. The local gateway verifies both with the same code.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};
use utoipa::ToSchema;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The tag every file gets until its check, as an `x-amz-tagging` header value: `state=pending`,
/// which the check removes; the bucket's lifecycle deletes a file still tagged after a day.
pub const PENDING_TAG: &str = "state=pending";
/// [`PENDING_TAG`] as an upload form's `tagging` field carries it.
pub const PENDING_TAGGING: &str =
    "<Tagging><TagSet><Tag><Key>state</Key><Value>pending</Value></Tag></TagSet></Tagging>";
const SERVICE: &str = "s3";
const AMZ_DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// The credentials and region links are signed with (a Lambda function's role credentials,
/// its session token included; locally the gateway's own).
#[derive(Clone)]
pub struct SigningIdentity {
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Session token of temporary credentials; it goes into the signed fields.
    pub session_token: Option<String>,
    /// The bucket's region.
    pub region: String,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("access_key", &self.access_key)
            .field("region", &self.region)
            .finish()
    }
}

/// Where a bucket answers: its URL (uploads go there) and the host and path prefix requests to
/// it are signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEndpoint {
    bucket: String,
    url: String,
    host: String,
    path_prefix: String,
}

impl BucketEndpoint {
    /// A bucket on AWS, virtual-hosted: `https://<bucket>.s3.<region>.amazonaws.com`.
    pub fn aws(bucket: &str, region: &str) -> Self {
        let host = format!("{bucket}.s3.{region}.amazonaws.com");
        Self { bucket: bucket.to_owned(), url: format!("https://{host}"), host, path_prefix: String::new() }
    }

    /// A bucket on an S3-compatible server (moto, the local gateway) at `endpoint`
    /// (`http://127.0.0.1:5000`), path-style: `<endpoint>/<bucket>`.
    pub fn path_style(endpoint: &str, bucket: &str) -> Self {
        let endpoint = endpoint.trim_end_matches('/');
        let host = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
        let host = host.split('/').next().unwrap_or(host).to_owned();
        Self {
            bucket: bucket.to_owned(),
            url: format!("{endpoint}/{bucket}"),
            host,
            path_prefix: format!("/{bucket}"),
        }
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bucket's URL, where the upload form is posted.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A browser upload form: POST `fields` and then the file (as the last field, `file`) as
/// `multipart/form-data` to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UploadForm {
    /// Where to post the form.
    pub url: String,
    /// The form's fields, in this order, before the file.
    pub fields: BTreeMap<String, String>,
    /// When the form stops working.
    #[serde(with = "crate::domain::timestamp")]
    pub expires_at: OffsetDateTime,
}

fn amz_date(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(AMZ_DATE).unwrap_or_default()
}

fn scope(at: OffsetDateTime, region: &str) -> String {
    format!("{}/{region}/{SERVICE}/aws4_request", &amz_date(at)[..8])
}

fn signature(identity: &SigningIdentity, at: OffsetDateTime, string_to_sign: &str) -> String {
    let key = generate_signing_key(&identity.secret_key, SystemTime::from(at), &identity.region, SERVICE);
    calculate_signature(key, string_to_sign.as_bytes())
}

/// The upload form for one object: exactly `size` bytes of `content_type` under `key`, tagged
/// [`PENDING_TAGGING`], until `now + lifetime`.
pub fn post_form(
    identity: &SigningIdentity,
    endpoint: &BucketEndpoint,
    key: &str,
    content_type: &str,
    size: u64,
    now: OffsetDateTime,
    lifetime: Duration,
) -> UploadForm {
    let expires_at = now + lifetime;
    let date = amz_date(now);
    let credential = format!("{}/{}", identity.access_key, scope(now, &identity.region));
    let mut fields = BTreeMap::from([
        ("key".to_owned(), key.to_owned()),
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("tagging".to_owned(), PENDING_TAGGING.to_owned()),
        ("x-amz-algorithm".to_owned(), ALGORITHM.to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), date),
    ]);
    if let Some(token) = &identity.session_token {
        fields.insert("x-amz-security-token".to_owned(), token.clone());
    }
    let mut conditions =
        vec![json!({"bucket": endpoint.bucket()}), json!(["content-length-range", size, size])];
    conditions.extend(fields.iter().map(|(name, value)| json!({name: value})));
    let expiration = expires_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let policy = json!({"expiration": expiration, "conditions": conditions});
    let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
    fields.insert("x-amz-signature".to_owned(), signature(identity, now, &policy));
    fields.insert("policy".to_owned(), policy);
    UploadForm { url: endpoint.url().to_owned(), fields, expires_at }
}

/// RFC 3986 percent-encoding as SigV4 wants it; `/` kept in paths.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b'/' if keep_slash => "/".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A presigned GET of `key`, served with the `response-*` headers given (such as
/// `response-content-disposition`), working from `now` for `lifetime`.
pub fn presigned_get(
    identity: &SigningIdentity,
    endpoint: &BucketEndpoint,
    key: &str,
    response_headers: &[(&str, &str)],
    now: OffsetDateTime,
    lifetime: Duration,
) -> String {
    let call = SignedCall { query: response_headers, ..SignedCall::new("GET", key) };
    presigned_request(&call, identity, endpoint, now, lifetime)
}

/// One request to sign: `method` on `key`, with the query parameters given (`response-*`
/// headers, a subresource such as `tagging` with an empty value) and the headers to sign beside
/// `host` (lower-case names, such as `x-amz-tagging`: the request must carry them as given).
#[derive(Debug, Clone, Copy)]
pub struct SignedCall<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
}

impl<'a> SignedCall<'a> {
    /// `method` on `key`, without query parameters or headers to sign but `host`.
    pub fn new(method: &'a str, key: &'a str) -> Self {
        Self { method, key, query: &[], headers: &[] }
    }
}

/// A presigned URL of `call`, working from `now` for `lifetime`; its payload is not signed.
pub fn presigned_request(
    call: &SignedCall<'_>,
    identity: &SigningIdentity,
    endpoint: &BucketEndpoint,
    now: OffsetDateTime,
    lifetime: Duration,
) -> String {
    let method = call.method;
    let path = format!("{}/{}", endpoint.path_prefix, uri_encode(call.key, true));
    let mut headers: Vec<(String, &str)> = vec![("host".into(), endpoint.host.as_str())];
    headers.extend(call.headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.trim())));
    headers.sort();
    let signed_headers = headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let mut query: Vec<(String, String)> = vec![
        ("X-Amz-Algorithm".into(), ALGORITHM.into()),
        ("X-Amz-Credential".into(), format!("{}/{}", identity.access_key, scope(now, &identity.region))),
        ("X-Amz-Date".into(), amz_date(now)),
        ("X-Amz-Expires".into(), lifetime.whole_seconds().to_string()),
        ("X-Amz-SignedHeaders".into(), signed_headers.clone()),
    ];
    if let Some(token) = &identity.session_token {
        query.push(("X-Amz-Security-Token".into(), token.clone()));
    }
    query.extend(call.query.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())));
    let mut encoded: Vec<(String, String)> =
        query.iter().map(|(name, value)| (uri_encode(name, false), uri_encode(value, false))).collect();
    encoded.sort();
    let query_string = encoded.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&");
    let canonical =
        format!("{method}\n{path}\n{query_string}\n{canonical_headers}\n{signed_headers}\nUNSIGNED-PAYLOAD");
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        amz_date(now),
        scope(now, &identity.region),
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let scheme = endpoint.url.split_once("://").map_or("https", |(scheme, _)| scheme);
    format!(
        "{scheme}://{}{path}?{query_string}&X-Amz-Signature={}",
        endpoint.host,
        signature(identity, now, &string_to_sign)
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a signed upload or link is refused (the local gateway's answers, as S3's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    /// A field or parameter is missing or malformed, or the signature is not ours.
    #[error("the signature is not valid")]
    InvalidSignature,
    /// It was signed for a time that has passed.
    #[error("the request has expired")]
    Expired,
    /// The upload breaks its policy (key, type, bucket) or misses a field the policy names.
    #[error("the upload does not match its policy: {0}")]
    PolicyViolated(String),
    /// The file's size is outside the policy's `content-length-range`.
    #[error("the file's size is outside the policy's content-length-range")]
    SizeOutOfRange,
}

fn parse_amz_date(text: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(text, AMZ_DATE).ok().map(PrimitiveDateTime::assume_utc)
}

/// What a verified upload stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUpload {
    /// The object's key.
    pub key: String,
    /// Its `Content-Type`.
    pub content_type: String,
}

/// Checks a posted upload form as S3 does: the signature over the policy, the credential's
/// scope, the policy's expiry, every condition (`bucket`, exact fields, `starts-with`,
/// `content-length-range` against `file_size`), and that every field is in the policy.
pub fn verify_post(
    identity: &SigningIdentity,
    bucket: &str,
    fields: &BTreeMap<String, String>,
    file_size: u64,
    now: OffsetDateTime,
) -> Result<VerifiedUpload, SignatureRefusal> {
    let field =
        |name: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    let invalid = || SignatureRefusal::InvalidSignature;
    let policy = field("policy").ok_or_else(invalid)?;
    let signed_at = field("x-amz-date").and_then(parse_amz_date).ok_or_else(invalid)?;
    let credential = format!("{}/{}", identity.access_key, scope(signed_at, &identity.region));
    if field("x-amz-algorithm") != Some(ALGORITHM) || field("x-amz-credential") != Some(credential.as_str()) {
        return Err(invalid());
    }
    if field("x-amz-signature") != Some(signature(identity, signed_at, policy).as_str()) {
        return Err(invalid());
    }
    let document: Value = base64::engine::general_purpose::STANDARD
        .decode(policy)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid)?;
    let expiration = document["expiration"]
        .as_str()
        .and_then(|e| OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
        .ok_or_else(invalid)?;
    if now >= expiration {
        return Err(SignatureRefusal::Expired);
    }
    let violated = |what: String| SignatureRefusal::PolicyViolated(what);
    let mut covered = vec!["policy".to_owned(), "x-amz-signature".to_owned()];
    for condition in document["conditions"].as_array().ok_or_else(invalid)? {
        match condition {
            Value::Object(exact) => {
                for (name, expected) in exact {
                    let actual = if name == "bucket" { Some(bucket) } else { field(name) };
                    if actual != expected.as_str() {
                        return Err(violated(format!("{name} must be {expected}")));
                    }
                    covered.push(name.to_ascii_lowercase());
                }
            }
            Value::Array(parts) => match parts.as_slice() {
                [Value::String(op), Value::Number(min), Value::Number(max)]
                    if op == "content-length-range" =>
                {
                    let (min, max) = (min.as_u64().unwrap_or(u64::MAX), max.as_u64().unwrap_or(0));
                    if !(min..=max).contains(&file_size) {
                        return Err(SignatureRefusal::SizeOutOfRange);
                    }
                }
                [Value::String(op), Value::String(name), Value::String(value)] => {
                    let name = name.trim_start_matches('$');
                    let actual = field(name).unwrap_or_default();
                    let holds = match op.as_str() {
                        "eq" => actual == value,
                        "starts-with" => actual.starts_with(value.as_str()),
                        _ => false,
                    };
                    if !holds {
                        return Err(violated(format!("{name} breaks its {op} condition")));
                    }
                    covered.push(name.to_ascii_lowercase());
                }
                _ => return Err(invalid()),
            },
            _ => return Err(invalid()),
        }
    }
    if let Some((name, _)) = fields.iter().find(|(name, _)| !covered.contains(&name.to_ascii_lowercase())) {
        return Err(violated(format!("the field {name} is not in the policy")));
    }
    let key = field("key").ok_or_else(|| violated("the key is missing".into()))?.to_owned();
    let content_type = field("Content-Type").unwrap_or("binary/octet-stream").to_owned();
    Ok(VerifiedUpload { key, content_type })
}

/// Checks a presigned GET of `key` with its `query` (as [`presigned_get`] made it): the
/// signature, then the expiry. The `response-*` parameters it names are the signed ones.
pub fn verify_get(
    identity: &SigningIdentity,
    endpoint: &BucketEndpoint,
    key: &str,
    query: &BTreeMap<String, String>,
    now: OffsetDateTime,
) -> Result<(), SignatureRefusal> {
    let invalid = || SignatureRefusal::InvalidSignature;
    let signed_at = query.get("X-Amz-Date").and_then(|d| parse_amz_date(d)).ok_or_else(invalid)?;
    let seconds: i64 = query.get("X-Amz-Expires").and_then(|e| e.parse().ok()).ok_or_else(invalid)?;
    let given = query.get("X-Amz-Signature").ok_or_else(invalid)?;
    let responses: Vec<(&str, &str)> = query
        .iter()
        .filter(|(name, _)| name.starts_with("response-"))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let expected = presigned_get(identity, endpoint, key, &responses, signed_at, Duration::seconds(seconds));
    if !expected.ends_with(&format!("&X-Amz-Signature={given}")) {
        return Err(invalid());
    }
    if now >= signed_at + Duration::seconds(seconds) {
        return Err(SignatureRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    /// The example credentials of AWS's SigV4 documentation.
    fn example_identity() -> SigningIdentity {
        SigningIdentity {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn a_presigned_get_matches_the_aws_documentations_example() {
        // "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
        let endpoint = BucketEndpoint {
            bucket: "examplebucket".into(),
            url: "https://examplebucket.s3.amazonaws.com".into(),
            host: "examplebucket.s3.amazonaws.com".into(),
            path_prefix: String::new(),
        };

        let url = presigned_get(
            &example_identity(),
            &endpoint,
            "test.txt",
            &[],
            datetime!(2013-05-24 00:00 UTC),
            Duration::seconds(86_400),
        );

        assert!(url.starts_with("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"), "{url}");
        assert!(
            url.ends_with("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
            "{url}"
        );
    }

    #[test]
    fn a_presigned_put_with_a_signed_tagging_header_is_signed_as_the_aws_sdk_signs_it() {
        use aws_sigv4::http_request::{
            sign, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
            UriPathNormalizationMode,
        };
        let endpoint = BucketEndpoint {
            bucket: "examplebucket".into(),
            url: "https://examplebucket.s3.amazonaws.com".into(),
            host: "examplebucket.s3.amazonaws.com".into(),
            path_prefix: String::new(),
        };
        let at = datetime!(2013-05-24 00:00 UTC);
        let headers = [("x-amz-tagging", PENDING_TAG)];
        let call = SignedCall { headers: &headers, ..SignedCall::new("PUT", "attachments/a b.png") };
        let identity = example_identity();
        let credentials =
            aws_credential_types::Credentials::from_keys(&identity.access_key, &identity.secret_key, None);
        let sdk_identity = credentials.into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(std::time::Duration::from_secs(86_400));
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&sdk_identity)
            .region("us-east-1")
            .name("s3")
            .time(at.into())
            .settings(settings)
            .build()
            .expect("signing parameters")
            .into();
        let request = SignableRequest::new(
            "PUT",
            "https://examplebucket.s3.amazonaws.com/attachments/a%20b.png",
            [("host", "examplebucket.s3.amazonaws.com"), ("x-amz-tagging", PENDING_TAG)].into_iter(),
            SignableBody::UnsignedPayload,
        )
        .expect("a signable request");

        let url = presigned_request(&call, &identity, &endpoint, at, Duration::seconds(86_400));
        let sdk = sign(request, &params).expect("the SDK signs it");

        let fields = fields_of(&url);
        assert_eq!(
            fields.get("X-Amz-SignedHeaders").map(String::as_str),
            Some("host;x-amz-tagging"),
            "{url}"
        );
        assert_eq!(fields.get("X-Amz-Signature"), Some(&sdk.signature().to_owned()), "{url}");
    }

    fn fields_of(url: &str) -> BTreeMap<String, String> {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_pairs(query)
    }

    fn form_pairs(query: &str) -> BTreeMap<String, String> {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(n, v)| (percent_decode(n), percent_decode(v)))
            .collect()
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_presigned_get_verifies_until_it_expires_and_not_with_another_disposition() {
        let (identity, endpoint) =
            (example_identity(), BucketEndpoint::path_style("http://127.0.0.1:3000/", "files"));
        let at = datetime!(2026-12-06 10:00 UTC);
        let url = presigned_get(
            &identity,
            &endpoint,
            "attachments/a b",
            &[("response-content-disposition", "inline; filename=\"é.png\"")],
            at,
            Duration::minutes(5),
        );
        let query = fields_of(&url);

        assert!(url.starts_with("http://127.0.0.1:3000/files/attachments/a%20b?"), "{url}");
        assert_eq!(
            verify_get(&identity, &endpoint, "attachments/a b", &query, at + Duration::minutes(4)),
            Ok(())
        );
        assert_eq!(
            verify_get(&identity, &endpoint, "attachments/a b", &query, at + Duration::minutes(5)),
            Err(SignatureRefusal::Expired)
        );
        let mut changed = query.clone();
        changed.insert("response-content-disposition".into(), "attachment".into());
        assert_eq!(
            verify_get(&identity, &endpoint, "attachments/a b", &changed, at),
            Err(SignatureRefusal::InvalidSignature)
        );
        assert_eq!(
            verify_get(&identity, &endpoint, "attachments/other", &query, at),
            Err(SignatureRefusal::InvalidSignature)
        );
    }

    #[test]
    fn an_upload_form_verifies_with_its_exact_size_type_and_key_until_it_expires() {
        let identity = SigningIdentity { session_token: Some("token".into()), ..example_identity() };
        let endpoint = BucketEndpoint::aws("uploads", "us-east-1");
        let at = datetime!(2026-12-06 10:00 UTC);
        let form =
            post_form(&identity, &endpoint, "attachments/x", "image/png", 42, at, Duration::minutes(5));
        let verify = |fields: &BTreeMap<String, String>, size, when| {
            verify_post(&identity, "uploads", fields, size, when)
        };

        assert_eq!(form.url, "https://uploads.s3.us-east-1.amazonaws.com");
        assert_eq!(form.fields["x-amz-security-token"], "token");
        assert_eq!(
            verify(&form.fields, 42, at + Duration::minutes(4)),
            Ok(VerifiedUpload { key: "attachments/x".into(), content_type: "image/png".into() })
        );
        assert_eq!(verify(&form.fields, 43, at), Err(SignatureRefusal::SizeOutOfRange));
        assert_eq!(verify(&form.fields, 42, at + Duration::minutes(5)), Err(SignatureRefusal::Expired));
        let mut html = form.fields.clone();
        html.insert("Content-Type".into(), "text/html".into());
        assert!(matches!(verify(&html, 42, at), Err(SignatureRefusal::PolicyViolated(_))));
        let mut forged = form.fields.clone();
        forged.insert("x-amz-signature".into(), "0".repeat(64));
        assert_eq!(verify(&forged, 42, at), Err(SignatureRefusal::InvalidSignature));
        let mut extra = form.fields.clone();
        extra.insert("acl".into(), "public-read".into());
        assert!(matches!(verify(&extra, 42, at), Err(SignatureRefusal::PolicyViolated(_))));
        assert!(matches!(
            verify_post(&identity, "other-bucket", &form.fields, 42, at),
            Err(SignatureRefusal::PolicyViolated(_))
        ));
    }
}
