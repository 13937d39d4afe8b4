//! The chat widget: sites configured by admins, the public routes a site's pages call (its
//! settings, a visitor's customer token, a signed identity exchanged for a customer token) and
//! the origin checks that keep other websites' pages from using a site's widget.

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::widget::{
    constant_time_eq, identified_id, parse_email, parse_visitor_name, signature_matches, visitor_id,
    IdentitySecrets, Locale, Origin, Position, PrechatFields, Site, SiteInput, WidgetUser,
    ROTATION_GRACE_SECONDS,
};
use crate::domain::{now, AgentStatus, Participant, Principal, Role, SessionStatus, SiteId, UserId};
use crate::error::ApiError;
use crate::realtime::frames::ServerFrame;
use crate::repo::sessions::{self, SessionListing};
use crate::repo::sites::{self, SiteRecord, Visitor};
use crate::repo::{agents, limits};
use crate::store::{Condition, Cursor, ItemStore, TxOp, UpdateAction};

use super::live::{self, Skip};
use super::role_forbidden;

/// The name of the rate limit on minting widget tokens, per client IP.
const TOKEN_LIMIT: &str = "widget-tokens";

/// A new site with its identity secret, shown only here (and on rotation).
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteCreated {
    /// The site.
    #[serde(flatten)]
    pub site: Site,
    /// The secret the site's backend signs user ids with (HMAC-SHA256, or HS256 JWTs).
    pub identity_secret: String,
}

/// The reply of `POST /admin/sites/{id}/rotate-secret`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret.
    pub identity_secret: String,
    /// Until when signatures made with the previous secret are still accepted.
    #[serde(with = "crate::domain::timestamp")]
    pub previous_secret_expires_at: OffsetDateTime,
}

/// What the widget needs to draw itself: the site's public settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetSite {
    /// The site.
    pub site_id: SiteId,
    /// Its name.
    pub name: String,
    /// Which fields the pre-chat form asks for.
    pub prechat_fields: PrechatFields,
    /// `#rrggbb`.
    pub colour: String,
    /// Shown when the widget opens.
    pub greeting: String,
    /// Where the launcher sits.
    pub position: Position,
    /// The widget's language.
    pub locale: Locale,
    /// Whether an agent is online now (if not, messages are kept and answered later).
    pub agents_online: bool,
}

/// The body of `POST /widget/visitors`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVisitor {
    /// The site whose widget asks.
    pub site_id: SiteId,
    /// The `resume` credential an earlier call returned: a fresh token for the same visitor.
    #[serde(default)]
    pub resume: Option<String>,
    /// The visitor's name, from the pre-chat form (1 to 100 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// The visitor's e-mail address, from the pre-chat form.
    #[serde(default)]
    pub email: Option<String>,
}

/// A customer token for the widget.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetToken {
    /// The bearer token (a customer token naming its site).
    pub token: String,
    /// When it expires.
    #[serde(with = "crate::domain::timestamp")]
    pub expires_at: OffsetDateTime,
    /// The user it speaks for (`wv:<site>:<visitor>` or `wu:<site>:<user id>`).
    pub user_id: UserId,
    /// For visitors: the credential that gets a fresh token for the same visitor later (keep
    /// it, e.g. in the browser's storage); absent for signed-in users, who sign again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// For `identify`: the visitor's open sessions that moved to the signed-in user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_sessions: Option<Vec<crate::domain::SessionId>>,
}

/// The body of `POST /widget/identify`: either `user_id` with its `signature`, or an
/// `identity_token`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    /// The site.
    pub site_id: SiteId,
    /// The site's own id of its signed-in user (1 to 98 letters, digits or `-_.@|+`).
    #[serde(default)]
    pub user_id: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `user_id` with the site's identity secret.
    #[serde(default)]
    pub signature: Option<String>,
    /// A JWT signed HS256 with the site's identity secret: `sub` the user id, `exp` required,
    /// `name` optional, `email` optional (an address the site vouches for: replies the user
    /// leaves unread are e-mailed there).
    #[serde(default)]
    pub identity_token: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Admins: sites
// ---------------------------------------------------------------------------------------------

fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    if principal.role == Role::Admin {
        Ok(())
    } else {
        Err(role_forbidden("configure widget sites; only admins do"))
    }
}

fn site_not_found() -> ApiError {
    ApiError::not_found("site_not_found", "no such site")
}

/// 32 random bytes, as lowercase hex: a new identity secret.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn settings_of(
    input: SiteInput,
    base: Option<&crate::domain::widget::SiteSettings>,
) -> Result<crate::domain::widget::SiteSettings, ApiError> {
    input.apply(base).map_err(|invalid| ApiError::unprocessable(invalid.code, invalid.message))
}

/// An admin creates a site; the reply carries its identity secret, shown this once.
pub async fn create_site(
    store: &dyn ItemStore,
    principal: &Principal,
    input: SiteInput,
) -> Result<SiteCreated, ApiError> {
    require_admin(principal)?;
    let settings = settings_of(input, None)?;
    let at = now();
    let record = SiteRecord {
        site: Site { site_id: SiteId::generate(), settings, created_at: at, updated_at: at },
        secrets: IdentitySecrets {
            identity_secret: new_secret(),
            previous_secret: None,
            previous_secret_until: None,
        },
    };
    store.transact_write(sites::put_new(&record)?).await?;
    Ok(SiteCreated { site: record.site, identity_secret: record.secrets.identity_secret })
}

/// One page of sites (admins).
pub async fn list_sites(
    store: &dyn ItemStore,
    principal: &Principal,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Site>, Option<Cursor>), ApiError> {
    require_admin(principal)?;
    let (records, next) = sites::list(store, limit, cursor).await?;
    Ok((records.into_iter().map(|r| r.site).collect(), next))
}

/// One site (admins).
pub async fn get_site(store: &dyn ItemStore, principal: &Principal, id: &SiteId) -> Result<Site, ApiError> {
    require_admin(principal)?;
    Ok(sites::get(store, id).await?.ok_or_else(site_not_found)?.site)
}

/// An admin changes some of a site's settings; the others stay.
pub async fn update_site(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SiteId,
    input: SiteInput,
) -> Result<Site, ApiError> {
    require_admin(principal)?;
    let before = sites::get(store, id).await?.ok_or_else(site_not_found)?;
    let settings = settings_of(input, Some(&before.site.settings))?;
    let after = SiteRecord {
        site: Site { settings, updated_at: now(), ..before.site.clone() },
        secrets: before.secrets.clone(),
    };
    write_replacement(store, &before, &after).await?;
    Ok(after.site)
}

/// An admin rotates a site's identity secret; the previous one keeps verifying for
/// [`ROTATION_GRACE_SECONDS`], so the site's backend can switch without signing anyone out.
pub async fn rotate_secret(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SiteId,
) -> Result<RotatedSecret, ApiError> {
    require_admin(principal)?;
    let before = sites::get(store, id).await?.ok_or_else(site_not_found)?;
    let at = now();
    let until = at + time::Duration::seconds(ROTATION_GRACE_SECONDS);
    let after = SiteRecord {
        site: Site { updated_at: at, ..before.site.clone() },
        secrets: IdentitySecrets {
            identity_secret: new_secret(),
            previous_secret: Some(before.secrets.identity_secret.clone()),
            previous_secret_until: Some(until),
        },
    };
    write_replacement(store, &before, &after).await?;
    Ok(RotatedSecret { identity_secret: after.secrets.identity_secret, previous_secret_expires_at: until })
}

async fn write_replacement(
    store: &dyn ItemStore,
    before: &SiteRecord,
    after: &SiteRecord,
) -> Result<(), ApiError> {
    match store.transact_write(sites::replace(before, after)?).await {
        Ok(()) => Ok(()),
        Err(crate::store::StoreError::TransactionCanceled { failed }) if failed.contains(&sites::SITE) => {
            Err(site_not_found())
        }
        Err(other) => Err(other.into()),
    }
}

/// An admin deletes a site: its widget stops working at once (its tokens' requests are
/// refused, as from an origin no site allows).
pub async fn delete_site(store: &dyn ItemStore, principal: &Principal, id: &SiteId) -> Result<(), ApiError> {
    require_admin(principal)?;
    let record = sites::get(store, id).await?.ok_or_else(site_not_found)?;
    match store.transact_write(sites::remove(&record)).await {
        Ok(()) => Ok(()),
        Err(crate::store::StoreError::TransactionCanceled { .. }) => Err(site_not_found()),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Origins
// ---------------------------------------------------------------------------------------------

/// 403 for a page whose origin the site does not allow.
pub fn origin_not_allowed() -> ApiError {
    ApiError::forbidden("origin_not_allowed", "this site's widget may not be used from this page's origin")
}

/// A site's record for its public settings: any caller but a browser page of an origin the site
/// does not allow. A page's same-origin `GET` (the widget on the gateway's own demo page) and a
/// server send no `Origin`; the settings hold no secret. 404 `site_not_found`, 403
/// `origin_not_allowed`.
pub async fn site_for_settings(
    store: &dyn ItemStore,
    id: &SiteId,
    origin: Option<&str>,
) -> Result<SiteRecord, ApiError> {
    match origin {
        None => sites::get(store, id).await?.ok_or_else(site_not_found),
        Some(_) => site_for_origin(store, id, origin).await,
    }
}

/// The site, when a page served from `origin` may use its widget: 404 `site_not_found` for no
/// such site, 403 `origin_not_allowed` for a missing `Origin` or one the site does not allow.
pub async fn site_for_origin(
    store: &dyn ItemStore,
    id: &SiteId,
    origin: Option<&str>,
) -> Result<SiteRecord, ApiError> {
    let record = sites::get(store, id).await?.ok_or_else(site_not_found)?;
    match origin {
        Some(origin) if record.site.allows(origin) => Ok(record),
        _ => Err(origin_not_allowed()),
    }
}

/// The check every REST function and the WebSocket `$connect` make of a widget token (in the
/// shared dispatch, so no handler can forget it): a request carrying one from a browser page
/// (an `Origin` header) must come from an origin its site allows, else 403
/// `origin_not_allowed`. Returns the origin to answer CORS for; `None` for other callers and
/// for requests without `Origin` (not made by a page in a browser).
pub async fn check_widget_origin(
    store: &dyn ItemStore,
    principal: &Principal,
    origin: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let (Some(user), Some(origin)) = (WidgetUser::of(&principal.user_id), origin) else {
        return Ok(None);
    };
    let parsed = Origin::parse(origin).map_err(|_| origin_not_allowed())?;
    if sites::allows(store, &user.site(), &parsed).await? {
        Ok(Some(origin.to_owned()))
    } else {
        Err(origin_not_allowed())
    }
}

/// The methods and headers a preflight may ask for.
pub const CORS_METHODS: &str = "GET, POST, PATCH, DELETE";
/// The request headers the widget sends.
pub const CORS_HEADERS: [&str; 3] = ["authorization", "content-type", "idempotency-key"];

/// A CORS preflight: allowed when some site allows `origin` (the preflight names no site; the
/// request itself is then checked against its own site) and asks only for the widget's methods
/// and headers.
pub async fn preflight(
    store: &dyn ItemStore,
    origin: Option<&str>,
    method: Option<&str>,
    headers: Option<&str>,
) -> Result<String, ApiError> {
    let origin = origin.and_then(|o| Origin::parse(o).ok()).ok_or_else(origin_not_allowed)?;
    let method_ok = method.is_some_and(|m| CORS_METHODS.split(", ").any(|allowed| allowed == m));
    let headers_ok = headers
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .all(|h| CORS_HEADERS.iter().any(|allowed| allowed.eq_ignore_ascii_case(h)));
    if !method_ok || !headers_ok {
        return Err(ApiError::forbidden(
            "cors_request_not_allowed",
            format!("the widget's API takes the methods {CORS_METHODS} and the headers Authorization, Content-Type and Idempotency-Key"),
        ));
    }
    if !sites::any_allows(store, &origin).await? {
        return Err(origin_not_allowed());
    }
    Ok(origin.to_string())
}

// ---------------------------------------------------------------------------------------------
// The widget's public routes
// ---------------------------------------------------------------------------------------------

/// The site's public settings for its widget, and whether an agent is online.
pub async fn widget_site(store: &dyn ItemStore, record: SiteRecord) -> Result<WidgetSite, ApiError> {
    let at = now();
    let agents_online = agents::in_status(store, AgentStatus::Online)
        .await?
        .iter()
        .any(|agent| agent.status_at(at) == AgentStatus::Online);
    let settings = record.site.settings;
    Ok(WidgetSite {
        site_id: record.site.site_id,
        name: settings.name,
        prechat_fields: settings.prechat_fields,
        colour: settings.colour,
        greeting: settings.greeting,
        position: settings.position,
        locale: settings.locale,
        agents_online,
    })
}

/// Counts one token request of a client IP against the app's limit: 429 `rate_limited` beyond it.
async fn limit_tokens(app: &App, source_ip: &str) -> Result<(), ApiError> {
    let now_ms = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let limit = app.widget_token_limit;
    if limits::allow(app.store.as_ref(), TOKEN_LIMIT, source_ip, limit, now_ms).await? {
        return Ok(());
    }
    Err(ApiError::TooManyRequests {
        code: "rate_limited",
        message: format!(
            "too many widget tokens for this address: bursts of {}, then one per {} ms",
            limit.burst, limit.interval_ms
        ),
    })
}

fn hash(credential: &str) -> String {
    Sha256::digest(credential.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid_resume() -> ApiError {
    ApiError::forbidden(
        "invalid_resume",
        "the resume credential is not one this site gave; start as a new visitor",
    )
}

/// A customer token for a visitor of the site `record` (whose origin the caller checked): a new
/// visitor, or with a valid `resume` the visitor it was given to (a reload or an expired token
/// keeps the conversation).
pub async fn create_visitor(
    app: &App,
    record: &SiteRecord,
    source_ip: &str,
    input: CreateVisitor,
) -> Result<WidgetToken, ApiError> {
    let store = app.store.as_ref();
    let tokens = app.widget_tokens()?;
    let name = input.name.as_deref().map(parse_visitor_name).transpose()?;
    let email = input.email.as_deref().map(parse_email).transpose()?;
    limit_tokens(app, source_ip).await?;
    let site = record.site.site_id;
    let (visitor, resume) = match input.resume {
        Some(resume) => {
            let (id, secret) = resume.split_once('.').ok_or_else(invalid_resume)?;
            let user = UserId::parse(&format!("wv:{site}:{id}")).map_err(|_| invalid_resume())?;
            let mut visitor = sites::get_visitor(store, &user).await?.ok_or_else(invalid_resume)?;
            if visitor.site_id != site
                || !constant_time_eq(hash(secret).as_bytes(), visitor.resume_hash.as_bytes())
            {
                return Err(invalid_resume());
            }
            if name.is_some() || email.is_some() {
                visitor.name = name.or(visitor.name);
                visitor.email = email.or(visitor.email);
                sites::update_visitor(store, &visitor).await?;
            }
            (visitor, resume)
        }
        None => {
            let user = visitor_id(&site)?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            let ulid = user.as_str().rsplit(':').next().unwrap_or_default().to_owned();
            let visitor = Visitor {
                user_id: user,
                site_id: site,
                name,
                email,
                resume_hash: hash(&secret),
                created_at: now(),
            };
            sites::put_visitor(store, &visitor).await?;
            (visitor, format!("{ulid}.{secret}"))
        }
    };
    let (token, expires) = tokens
        .mint(&visitor.user_id, visitor.name.as_deref())
        .map_err(|e| ApiError::Internal(format!("minting a widget token: {e}")))?;
    Ok(WidgetToken {
        token,
        expires_at: expires_at(expires)?,
        user_id: visitor.user_id,
        resume: Some(resume),
        moved_sessions: None,
    })
}

fn expires_at(epoch: u64) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::from_unix_timestamp(epoch as i64)
        .map_err(|e| ApiError::Internal(format!("token expiry: {e}")))
}

fn invalid_identity() -> ApiError {
    ApiError::forbidden(
        "invalid_identity",
        "the identity is not signed with this site's identity secret, or has expired",
    )
}

/// The claims of an identity token a site's backend signs.
#[derive(Deserialize)]
struct IdentityClaims {
    sub: String,
    #[serde(default)]
    name: Option<String>,
    /// An address the site vouches for: replies left unread are e-mailed there.
    #[serde(default)]
    email: Option<String>,
}

/// What a signed identity says: the site's own id of the user, and from an identity token their
/// name and address.
struct VerifiedIdentity {
    external_id: String,
    name: Option<String>,
    email: Option<String>,
}

/// The site's user a signed identity speaks for (its own id, and a name from an identity
/// token); 403 `invalid_identity` unless signed with one of the site's valid secrets.
fn verified_identity(secrets: &IdentitySecrets, input: &Identify) -> Result<VerifiedIdentity, ApiError> {
    let valid = secrets.valid_at(now());
    match (&input.user_id, &input.signature, &input.identity_token) {
        (Some(user), Some(signature), None) => {
            if valid.iter().any(|secret| signature_matches(secret, user, signature)) {
                Ok(VerifiedIdentity { external_id: user.clone(), name: None, email: None })
            } else {
                Err(invalid_identity())
            }
        }
        (None, None, Some(token)) => {
            crate::auth::jwt_crypto();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            validation.set_required_spec_claims(&["exp", "sub"]);
            validation.validate_aud = false;
            validation.leeway = crate::auth::LEEWAY_SECONDS;
            valid
                .iter()
                .find_map(|secret| {
                    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
                    jsonwebtoken::decode::<IdentityClaims>(token, &key, &validation).ok()
                })
                .map(|data| VerifiedIdentity {
                    external_id: data.claims.sub,
                    name: data.claims.name,
                    email: data.claims.email,
                })
                .ok_or_else(invalid_identity)
        }
        _ => Err(ApiError::unprocessable(
            "validation_failed",
            "send either user_id and signature, or identity_token",
        )),
    }
}

/// A signed identity from the site's backend exchanged for a customer token of that user, on
/// the site `record` (whose origin the caller checked); with the visitor's token, the
/// visitor's open sessions move to the user.
pub async fn identify(
    app: &App,
    record: &SiteRecord,
    source_ip: &str,
    visitor_token: Option<&str>,
    input: Identify,
) -> Result<WidgetToken, ApiError> {
    let tokens = app.widget_tokens()?;
    let site = record.site.site_id;
    let visitor = match visitor_token {
        None => None,
        Some(token) => {
            let principal = tokens.verify(token).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
            match WidgetUser::of(&principal.user_id) {
                Some(WidgetUser::Visitor { site: of }) if of == site => Some(principal),
                _ => {
                    return Err(ApiError::forbidden(
                        "not_a_visitor_of_this_site",
                        "the bearer token is not a visitor's token of this site",
                    ))
                }
            }
        }
    };
    if let Some(user) = &input.user_id {
        identified_id(&site, user)?;
    }
    limit_tokens(app, source_ip).await?;
    let identity = verified_identity(&record.secrets, &input)?;
    let user = identified_id(&site, &identity.external_id).map_err(|_| invalid_identity())?;
    let name = match (identity.name, &visitor) {
        (Some(name), _) => Some(parse_visitor_name(&name).map_err(|_| invalid_identity())?),
        (None, Some(visitor)) => visitor.name.clone(),
        (None, None) => None,
    };
    let store = app.store.as_ref();
    let contact = |email: String| Visitor {
        user_id: user.clone(),
        site_id: site,
        name: name.clone(),
        email: Some(email),
        resume_hash: String::new(),
        created_at: now(),
    };
    match (identity.email, &visitor) {
        // Kept as a visitor's pre-chat answers are (with no resume credential): the e-mails of
        // replies left unread go to the address the site signed, the latest one it signed.
        (Some(email), _) => {
            let email = parse_email(&email).map_err(|_| invalid_identity())?;
            sites::put_identified(store, &contact(email)).await?;
        }
        // The visitor's pre-chat address goes with their sessions to the signed-in user, unless
        // the user has an address already (one the site signed is never replaced by it).
        (None, Some(visitor)) => {
            let given = sites::get_visitor(store, &visitor.user_id).await?.and_then(|visitor| visitor.email);
            if let Some(email) = given {
                sites::put_identified_if_absent(store, &contact(email)).await?;
            }
        }
        (None, None) => {}
    }
    let moved = match &visitor {
        Some(visitor) => move_open_sessions(app, &visitor.user_id, &user, name.as_deref()).await?,
        None => Vec::new(),
    };
    let (token, expires) = tokens
        .mint(&user, name.as_deref())
        .map_err(|e| ApiError::Internal(format!("minting a widget token: {e}")))?;
    Ok(WidgetToken {
        token,
        expires_at: expires_at(expires)?,
        user_id: user,
        resume: None,
        moved_sessions: Some(moved),
    })
}

/// Moves a visitor's open (waiting or active) sessions to the signed-in user, each in one
/// transaction: the session's customer and index, its customer participant, and both users'
/// open-session counts. The user may end up above the cap on open sessions: a conversation
/// that exists is never refused.
async fn move_open_sessions(
    app: &App,
    visitor: &UserId,
    user: &UserId,
    name: Option<&str>,
) -> Result<Vec<crate::domain::SessionId>, ApiError> {
    let store = app.store.as_ref();
    let listing = SessionListing::Customer(visitor.clone());
    let mut open = Vec::new();
    for status in [SessionStatus::Waiting, SessionStatus::Active] {
        let (page, _) =
            sessions::list(store, &listing, Some(status), crate::http::MAX_PAGE_SIZE, None).await?;
        open.extend(page);
    }
    let mut moved = Vec::new();
    for mut session in open {
        let at = now();
        let ops = vec![
            TxOp::Update {
                key: sessions::key(&session.id),
                actions: vec![
                    UpdateAction::Set("customer_id".into(), serde_json::Value::String(user.to_string())),
                    UpdateAction::Set("gsi1pk".into(), serde_json::Value::String(format!("CUSTOMER#{user}"))),
                ],
                condition: Some(Condition::And(vec![
                    Condition::Equals("customer_id".into(), serde_json::Value::String(visitor.to_string())),
                    sessions::open_condition(),
                ])),
            }
            .named("session_open_of_visitor"),
            TxOp::Delete { key: sessions::participant_key(&session.id, visitor), condition: None }
                .named("visitor_participant"),
            sessions::put_participant(&Participant {
                session_id: session.id,
                user_id: user.clone(),
                role: Role::Customer,
                name: name.map(str::to_owned),
                joined_at: at,
            })?
            .named("user_participant"),
            sessions::release_open_place(visitor).named("visitor_place"),
            sessions::claim_open_place(user, u32::MAX).named("user_place"),
        ];
        match store.transact_write(ops).await {
            Ok(()) => {}
            // Closed or moved meanwhile: it stays where it is.
            Err(crate::store::StoreError::TransactionCanceled { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
        session.customer_id = user.clone();
        live::publish(
            app,
            &session.id,
            &ServerFrame::SessionUpdated { session: session.clone() },
            Skip::Nobody,
        )
        .await;
        moved.push(session.id);
    }
    Ok(moved)
}
