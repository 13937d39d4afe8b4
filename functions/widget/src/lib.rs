//! The chat widget's REST handlers: admins configure sites (`/admin/sites`); a site's pages, with
//! no bearer token but an `Origin` the site allows, read its settings, get a visitor's customer
//! token and exchange a signed identity for a signed-in user's; CORS preflights of the routes
//! the widget calls are answered for the origins sites allow.

use lambda_http::{Body, Request, Response};
use switchboard_shared::auth::bearer_token;
use switchboard_shared::cors;
use switchboard_shared::domain::widget::{Site, SiteInput};
use switchboard_shared::domain::SiteId;
use switchboard_shared::error::ErrorBody;
use switchboard_shared::http::{
    json, json_body, no_content, page_request, path_param, principal, HandlerResult, ListPage,
};
use switchboard_shared::ops::require_role;
use switchboard_shared::ops::widget::{
    self, CreateVisitor, Identify, RotatedSecret, SiteCreated, WidgetSite, WidgetToken,
};
use switchboard_shared::repo::sites::SiteRecord;
use switchboard_shared::{domain::Role, http_function, ApiError, App};

http_function!(
    /// `POST /admin/sites`
    CREATE_SITE = "widget-create-site" => create_site
);
http_function!(
    /// `GET /admin/sites`
    LIST_SITES = "widget-list-sites" => list_sites
);
http_function!(
    /// `GET /admin/sites/{id}`
    GET_SITE = "widget-get-site" => get_site
);
http_function!(
    /// `PATCH /admin/sites/{id}`
    UPDATE_SITE = "widget-update-site" => update_site
);
http_function!(
    /// `POST /admin/sites/{id}/rotate-secret`
    ROTATE_SITE_SECRET = "widget-rotate-site-secret" => rotate_site_secret
);
http_function!(
    /// `DELETE /admin/sites/{id}`
    DELETE_SITE = "widget-delete-site" => delete_site
);
http_function!(
    /// `GET /widget/sites/{site_id}` (public)
    SITE_SETTINGS = "widget-site-settings" => site_settings
);
http_function!(
    /// `POST /widget/visitors` (public)
    CREATE_VISITOR = "widget-create-visitor" => create_visitor
);
http_function!(
    /// `POST /widget/identify` (public)
    IDENTIFY_USER = "widget-identify-user" => identify_user
);
http_function!(
    /// `OPTIONS` of every route the widget calls (public)
    ANSWER_PREFLIGHT = "widget-answer-preflight" => answer_preflight
);

/// Every function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[
    CREATE_SITE,
    LIST_SITES,
    GET_SITE,
    UPDATE_SITE,
    ROTATE_SITE_SECRET,
    DELETE_SITE,
    SITE_SETTINGS,
    CREATE_VISITOR,
    IDENTIFY_USER,
    ANSWER_PREFLIGHT,
];

const ADMINS_ONLY: &str = "configure widget sites; only admins do";

/// An admin creates a site: its settings, and its identity secret, shown only in this reply
/// (and on rotation). Each invalid field has its own 422 code.
#[utoipa::path(post, path = "/admin/sites", tag = "widget", request_body = SiteInput,
    responses((status = 201, body = SiteCreated), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 422, description = "invalid_name, invalid_origin, too_many_origins, invalid_prechat_fields, invalid_colour, invalid_greeting, invalid_position, invalid_locale or invalid_email_delay", body = ErrorBody)))]
pub async fn create_site(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let input: SiteInput = json_body(&req)?;
    json(201, &widget::create_site(app.store.as_ref(), &principal, input).await?)
}

/// The sites, oldest first (admins).
#[utoipa::path(get, path = "/admin/sites", tag = "widget",
    params(("limit" = Option<usize>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = ListPage<Site>), (status = 400, body = ErrorBody),
        (status = 403, description = "not an admin", body = ErrorBody)))]
pub async fn list_sites(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let page = page_request(&req)?;
    let (items, next) = widget::list_sites(app.store.as_ref(), &principal, page.limit, page.cursor).await?;
    json(200, &ListPage::new(items, next))
}

/// One site (admins); its identity secret is never shown again.
#[utoipa::path(get, path = "/admin/sites/{id}", tag = "widget", params(("id" = SiteId, Path)),
    responses((status = 200, body = Site), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody)))]
pub async fn get_site(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let id: SiteId = path_param(&req, "id")?;
    json(200, &widget::get_site(app.store.as_ref(), &principal, &id).await?)
}

/// An admin changes some of a site's settings (the fields sent); the others stay.
#[utoipa::path(patch, path = "/admin/sites/{id}", tag = "widget", params(("id" = SiteId, Path)),
    request_body = SiteInput,
    responses((status = 200, body = Site), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody),
        (status = 422, description = "a field's own code, as on create", body = ErrorBody)))]
pub async fn update_site(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let id: SiteId = path_param(&req, "id")?;
    let input: SiteInput = json_body(&req)?;
    json(200, &widget::update_site(app.store.as_ref(), &principal, &id, input).await?)
}

/// An admin rotates a site's identity secret: the new one is shown once; signatures made with
/// the previous one are accepted for 24 hours more, while the site's backend switches.
#[utoipa::path(post, path = "/admin/sites/{id}/rotate-secret", tag = "widget", params(("id" = SiteId, Path)),
    responses((status = 200, body = RotatedSecret), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody)))]
pub async fn rotate_site_secret(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let id: SiteId = path_param(&req, "id")?;
    json(200, &widget::rotate_secret(app.store.as_ref(), &principal, &id).await?)
}

/// An admin deletes a site: its widget stops working at once.
#[utoipa::path(delete, path = "/admin/sites/{id}", tag = "widget", params(("id" = SiteId, Path)),
    responses((status = 204, description = "deleted"), (status = 403, description = "not an admin", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody)))]
pub async fn delete_site(app: &App, req: Request) -> HandlerResult {
    let principal = principal(&req)?;
    require_role(&principal, &[Role::Admin], ADMINS_ONLY)?;
    let id: SiteId = path_param(&req, "id")?;
    widget::delete_site(app.store.as_ref(), &principal, &id).await?;
    no_content()
}

/// The site, when the page's `Origin` is one it allows, and that origin.
async fn allowed_site(app: &App, req: &Request, site: &SiteId) -> Result<(SiteRecord, String), ApiError> {
    let origin = cors::origin(req);
    let record = widget::site_for_origin(app.store.as_ref(), site, origin).await?;
    Ok((record, origin.unwrap_or_default().to_owned()))
}

/// A site's public settings for its widget (no token; a page's `Origin` must be one the site
/// allows, a request without one — the same origin's page, a server — reads them too, without
/// CORS headers) and whether an agent is online.
#[utoipa::path(get, path = "/widget/sites/{site_id}", tag = "widget", params(("site_id" = SiteId, Path)),
    security(()),
    responses((status = 200, body = WidgetSite),
        (status = 403, description = "origin_not_allowed", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody)))]
pub async fn site_settings(app: &App, req: Request) -> HandlerResult {
    let id: SiteId = path_param(&req, "site_id")?;
    let origin = cors::origin(&req);
    let record = widget::site_for_settings(app.store.as_ref(), &id, origin).await?;
    let outcome = async { json(200, &widget::widget_site(app.store.as_ref(), record).await?) }.await;
    match origin {
        Some(origin) => cors::respond_to(&req, origin, outcome),
        None => outcome,
    }
}

/// A customer token for a visitor of the site (no token; the page's `Origin` must be one the
/// site allows): a new visitor, or with `resume` the visitor it was given to. Rate limited per
/// client IP.
#[utoipa::path(post, path = "/widget/visitors", tag = "widget", request_body = CreateVisitor, security(()),
    responses((status = 201, body = WidgetToken),
        (status = 403, description = "origin_not_allowed, invalid_resume", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody),
        (status = 422, description = "a bad name or e-mail address", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub async fn create_visitor(app: &App, req: Request) -> HandlerResult {
    let input: CreateVisitor = json_body(&req)?;
    let (record, origin) = allowed_site(app, &req, &input.site_id).await?;
    let ip = cors::source_ip(&req);
    let outcome = async { json(201, &widget::create_visitor(app, &record, &ip, input).await?) }.await;
    cors::respond_to(&req, &origin, outcome)
}

/// A signed identity from the site's backend (`user_id` + `signature`, or `identity_token`)
/// exchanged for a customer token of that user; with the visitor's bearer token, the visitor's
/// open sessions move to the user. Unsigned, forged, expired or other sites' identities: 403.
#[utoipa::path(post, path = "/widget/identify", tag = "widget", request_body = Identify, security((), ("bearer" = [])),
    responses((status = 200, body = WidgetToken),
        (status = 401, description = "a visitor token that does not verify", body = ErrorBody),
        (status = 403, description = "invalid_identity, origin_not_allowed, not_a_visitor_of_this_site", body = ErrorBody),
        (status = 404, description = "site_not_found", body = ErrorBody),
        (status = 422, description = "neither or both forms, or a user id a user id cannot be", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub async fn identify_user(app: &App, req: Request) -> HandlerResult {
    let input: Identify = json_body(&req)?;
    let ip = cors::source_ip(&req);
    let visitor = req
        .headers()
        .get(lambda_http::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            bearer_token(value)
                .map(str::to_owned)
                .ok_or_else(|| ApiError::Unauthorized("malformed bearer token".into()))
        })
        .transpose()?;
    let (record, origin) = allowed_site(app, &req, &input.site_id).await?;
    let outcome =
        async { json(200, &widget::identify(app, &record, &ip, visitor.as_deref(), input).await?) }.await;
    cors::respond_to(&req, &origin, outcome)
}

/// A CORS preflight of a route the widget calls: 204 with the CORS headers for an origin some
/// site allows asking for the widget's methods and headers; 403 without them otherwise.
pub async fn answer_preflight(app: &App, req: Request) -> HandlerResult {
    let header = |name: &str| req.headers().get(name).and_then(|value| value.to_str().ok());
    let origin = widget::preflight(
        app.store.as_ref(),
        cors::origin(&req),
        header("access-control-request-method"),
        header("access-control-request-headers"),
    )
    .await?;
    let mut response = Response::builder()
        .status(204)
        .header("access-control-allow-methods", widget::CORS_METHODS)
        .header("access-control-allow-headers", "Authorization, Content-Type, Idempotency-Key")
        .header("access-control-max-age", "600")
        .body(Body::Empty)
        .map_err(|e| ApiError::Internal(format!("building response: {e}")))?;
    cors::allow_origin(&mut response, &origin);
    Ok(response)
}
