//! The local gateway: API Gateway's REST behaviour on localhost — routes from the template, the
//! authorizer in front, the handlers called in process with the same event Lambda would get.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{to_bytes, Body as AxumBody};
use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Request as HttpRequest, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use lambda_http::Body as LambdaBody;
use serde_json::{json, Map, Value};
use switchboard_shared::attachments::folder::{FolderAttachments, BUCKET_PATH};
use switchboard_shared::auth::{TokenMinter, TokenVerifier};
use switchboard_shared::changes::consumer::ConsumerHandle;
use switchboard_shared::lambda::{dispatch, dispatch_streaming, HttpFunction, WsFunction};
use switchboard_shared::reports::folder::{FolderReportStore, LinkRefusal};
use switchboard_shared::reports::{ReportStore, PDF_CONTENT_TYPE};
use switchboard_shared::App;
use tokio::net::TcpListener;

use crate::attachments::{LocalBucket, ServerBucket};
use crate::template::{self, match_path, Route};
use crate::ws::{self, Connections, WsBound};

/// API Gateway's own limit on a request body.
const MAX_GATEWAY_BODY: usize = 10 * 1024 * 1024;

/// What an upload form may hold besides the file (its fields and multipart framing).
const UPLOAD_FORM_FIELDS: u64 = 64 * 1024;

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The template is unusable.
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    /// A route names a binary this gateway has no handler for.
    #[error(
        "infra/template.yaml routes {method} {path} to {binary}, which has no handler in the local gateway"
    )]
    MissingHandler { method: String, path: String, binary: String },
}

/// Every WebSocket function the gateway can call, by binary name.
pub fn ws_functions() -> HashMap<&'static str, WsFunction> {
    switchboard_realtime::FUNCTIONS.iter().map(|function| (function.name, *function)).collect()
}

/// Every HTTP function the gateway can call, by binary name.
pub fn functions() -> HashMap<&'static str, HttpFunction> {
    switchboard_chat::FUNCTIONS
        .iter()
        .chain(switchboard_dashboard::FUNCTIONS)
        .chain(switchboard_notifications::FUNCTIONS)
        .chain(switchboard_agent::FUNCTIONS)
        .chain(switchboard_reports::FUNCTIONS)
        .chain(switchboard_widget::FUNCTIONS)
        .chain(switchboard_attachments::FUNCTIONS)
        .chain(switchboard_email::FUNCTIONS)
        .map(|function| (function.name, *function))
        .collect()
}

struct Bound {
    route: Route,
    function: HttpFunction,
}

/// A gateway ready to serve: the app, the token verifier and the routes.
#[derive(Clone)]
pub struct Gateway {
    app: App,
    function_apps: Arc<HashMap<&'static str, App>>,
    verifier: TokenVerifier,
    routes: Arc<Vec<Bound>>,
    ws_routes: Arc<HashMap<String, WsBound>>,
    connections: Arc<Connections>,
    openapi: Arc<String>,
    report_files: Option<Arc<FolderReportStore>>,
    dev_tokens: Option<Arc<TokenMinter>>,
    app_dir: Option<Arc<PathBuf>>,
    widget_dir: Option<Arc<PathBuf>>,
    feed: Option<ConsumerHandle>,
    attachment_bucket: Option<LocalBucket>,
    observer: Option<Arc<dyn InvocationObserver>>,
}

/// Told of every function the gateway ran, once it returned: what Lambda would have billed
/// (the cost benchmark counts invocations and their handler time with it).
pub trait InvocationObserver: Send + Sync {
    /// `function` (its binary's name) ran for `took`.
    fn invoked(&self, function: &'static str, took: std::time::Duration);
}

impl Gateway {
    /// Binds every template route to its handler; fails if one is missing.
    pub fn new(app: App, verifier: TokenVerifier) -> Result<Self, GatewayError> {
        Self::with_connections(app, verifier, Arc::default())
    }

    /// The same, serving these WebSocket connections (those a [`crate::ws::LocalRealtime`] in
    /// `app` delivers to).
    pub fn with_connections(
        app: App,
        verifier: TokenVerifier,
        connections: Arc<Connections>,
    ) -> Result<Self, GatewayError> {
        let functions = functions();
        let routes = template::routes(template::TEMPLATE)?
            .into_iter()
            .map(|route| match functions.get(route.binary.as_str()) {
                Some(function) => Ok(Bound { function: *function, route }),
                None => Err(GatewayError::MissingHandler {
                    method: route.method,
                    path: route.path,
                    binary: route.binary,
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ws_functions = ws_functions();
        let ws_routes = template::ws_routes(template::TEMPLATE)?
            .into_iter()
            .map(|route| match ws_functions.get(route.binary.as_str()) {
                Some(function) => {
                    Ok((route.route_key, WsBound { function: *function, two_way: route.two_way }))
                }
                None => Err(GatewayError::MissingHandler {
                    method: "WebSocket".into(),
                    path: route.route_key,
                    binary: route.binary,
                }),
            })
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(Self {
            app,
            function_apps: Arc::default(),
            verifier,
            routes: Arc::new(routes),
            ws_routes: Arc::new(ws_routes),
            connections,
            openapi: Arc::new(crate::openapi::json()),
            report_files: None,
            dev_tokens: None,
            app_dir: None,
            widget_dir: None,
            feed: None,
            attachment_bucket: None,
            observer: None,
        })
    }

    /// The same gateway serving the signed download links of a folder of reports (the local
    /// stand-in for S3's presigned URLs) on [`switchboard_shared::reports::folder::LINK_PATH`].
    pub fn serving_report_files(self, files: Arc<FolderReportStore>) -> Self {
        Self { report_files: Some(files), ..self }
    }

    /// The same gateway playing the attachments bucket of `files` on
    /// [`switchboard_shared::attachments::folder::BUCKET_PATH`]: upload forms and download links.
    pub fn serving_attachment_files(self, files: Arc<FolderAttachments>) -> Self {
        Self { attachment_bucket: Some(LocalBucket::Folder(files)), ..self }
    }

    /// The same gateway taking the upload forms of `bucket` (on an S3-compatible server) on
    /// [`switchboard_shared::attachments::folder::BUCKET_PATH`]; downloads go to the server.
    pub fn relaying_attachments_to(self, bucket: Arc<ServerBucket>) -> Self {
        Self { attachment_bucket: Some(LocalBucket::Server(bucket)), ..self }
    }

    /// The attachments bucket whose uploads this gateway takes, when it takes any.
    pub fn attachment_bucket(&self) -> Option<&LocalBucket> {
        self.attachment_bucket.as_ref()
    }

    /// The same gateway answering the web dashboard's development sign-in
    /// ([`crate::dashboard::DEV_TOKEN_PATH`]) with tokens of this minter.
    pub fn minting_dev_tokens(self, minter: TokenMinter) -> Self {
        Self { dev_tokens: Some(Arc::new(minter)), ..self }
    }

    /// The same gateway serving the built web dashboard in `dir` at `/` (every `GET` outside
    /// the API that names no file gets its `index.html`).
    pub fn serving_app(self, dir: PathBuf) -> Self {
        Self { app_dir: Some(Arc::new(dir)), ..self }
    }

    /// The same gateway serving the built chat widget in `dir` at `/widget/`.
    pub fn serving_widget(self, dir: PathBuf) -> Self {
        Self { widget_dir: Some(Arc::new(dir)), ..self }
    }

    /// The same gateway answering drains ([`crate::feed::DRAIN_PATH`]) with this consumer of
    /// the change feed.
    pub fn consuming_feed(self, feed: ConsumerHandle) -> Self {
        Self { feed: Some(feed), ..self }
    }

    /// The consumer of the change feed, if this gateway runs one.
    pub fn feed(&self) -> Option<&ConsumerHandle> {
        self.feed.as_ref()
    }

    /// The same gateway running each function with its own app, built by `app_for` from the
    /// function's name (to tell the functions' calls apart: the tests record each function's
    /// AWS calls to compare them with its IAM policy); functions it was not built for run with
    /// the shared app.
    pub fn with_app_per_function(self, app_for: impl Fn(&'static str) -> App) -> Self {
        let names = self
            .routes
            .iter()
            .map(|bound| bound.function.name)
            .chain(self.ws_routes.values().map(|bound| bound.function.name));
        let function_apps = names.map(|name| (name, app_for(name))).collect();
        Self { function_apps: Arc::new(function_apps), ..self }
    }

    /// The same gateway telling `observer` of every function it runs.
    pub fn observing_invocations(self, observer: Arc<dyn InvocationObserver>) -> Self {
        Self { observer: Some(observer), ..self }
    }

    /// Tells the observer, if any, that `function` ran since `started`.
    pub(crate) fn invoked(&self, function: &'static str, started: std::time::Instant) {
        if let Some(observer) = &self.observer {
            observer.invoked(function, started.elapsed());
        }
    }

    /// The app the function `name` runs with.
    pub fn app_for(&self, name: &str) -> &App {
        self.function_apps.get(name).unwrap_or(&self.app)
    }

    /// The axum router: REST under `/api/v1`, the WebSocket API on `/ws`, its Management API on
    /// `/@connections/{id}`.
    pub fn router(self) -> Router {
        // The largest file accepted, read into memory before its policy is checked: no more.
        let upload_limit =
            usize::try_from(self.app.attachment_limits.max_bytes + UPLOAD_FORM_FIELDS).unwrap_or(usize::MAX);
        Router::new()
            .route("/api/v1/openapi.json", get(openapi))
            .route("/ws", get(ws::upgrade))
            .route("/reports/{*object}", get(report_file))
            .route(crate::feed::DRAIN_PATH, post(crate::feed::drain))
            .route(
                BUCKET_PATH,
                post(crate::attachments::upload)
                    .layer(DefaultBodyLimit::max(upload_limit))
                    .options(crate::attachments::preflight),
            )
            .route(&format!("{BUCKET_PATH}/{{*key}}"), get(crate::attachments::download))
            .route(
                "/@connections/{id}",
                post(ws::post_to_connection)
                    .get(ws::get_connection)
                    .delete(ws::delete_connection)
                    .route_layer(axum::middleware::from_fn(ws::require_sigv4)),
            )
            .fallback(handle)
            .with_state(self)
    }

    /// The app the handlers run with.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The token verifier of the authorizer.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// The WebSocket route of a route key.
    pub fn ws_route(&self, route_key: &str) -> Option<WsBound> {
        self.ws_routes.get(route_key).copied()
    }

    /// The open WebSocket connections.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight. Sockets are
    /// TCP_NODELAY: a WebSocket reply written right after another frame must not wait for the
    /// client's delayed ACK (Nagle's algorithm held such replies for 40 ms).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY could not be set");
            }
        });
        axum::serve(listener, self.router().into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn openapi(State(gateway): State<Gateway>) -> Response {
    ([("content-type", "application/json")], gateway.openapi.as_str().to_owned()).into_response()
}

/// A report's PDF for a link the gateway signed and that has not expired (what a presigned S3
/// URL does in AWS): 403 for a bad or expired signature, 404 for no such report.
async fn report_file(
    State(gateway): State<Gateway>,
    axum::extract::Path(object): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let not_found = || gateway_error(StatusCode::NOT_FOUND, "report_not_found", "no such report");
    let Some(files) = gateway.report_files.as_ref() else { return not_found() };
    let verified = files.verify_link(
        &object,
        query.get("expires").map(String::as_str),
        query.get("signature").map(String::as_str),
        switchboard_shared::domain::now(),
    );
    let id = match verified {
        Ok(id) => id,
        Err(LinkRefusal::NotFound) => return not_found(),
        Err(LinkRefusal::InvalidSignature) => {
            return gateway_error(
                StatusCode::FORBIDDEN,
                "invalid_signature",
                "the link's signature is not valid",
            )
        }
        Err(LinkRefusal::Expired) => {
            return gateway_error(StatusCode::FORBIDDEN, "link_expired", "the link has expired")
        }
    };
    match files.get(&id).await {
        Ok(Some(bytes)) => (
            [
                ("content-type", PDF_CONTENT_TYPE.to_owned()),
                ("content-disposition", format!("attachment; filename=\"{}\"", id.file_name())),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(error) => {
            tracing::error!(%error, "reading a report failed");
            gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the gateway failed")
        }
    }
}

/// A JSON error of the gateway itself, shaped like the handlers' (and the template's gateway
/// responses in AWS).
pub(crate) fn gateway_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

async fn handle(
    State(gateway): State<Gateway>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: HttpRequest<AxumBody>,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    if path == crate::dashboard::DEV_TOKEN_PATH {
        if let Some(minter) = gateway.dev_tokens.as_ref() {
            if parts.method != Method::POST {
                return gateway_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "this path does not take that method",
                );
            }
            let Ok(body) = to_bytes(body, MAX_GATEWAY_BODY).await else {
                return gateway_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "request body is too large",
                );
            };
            return crate::dashboard::dev_token(minter, &parts.headers, &body);
        }
    }
    let mut path_matched = false;
    let mut found = None;
    for bound in gateway.routes.iter() {
        if let Some(params) = match_path(&bound.route.path, &path) {
            path_matched = true;
            if bound.route.method == parts.method.as_str() {
                found = Some((bound, params));
                break;
            }
        }
    }
    let Some((bound, params)) = found else {
        if let Some(dir) = gateway.widget_dir.as_ref() {
            if parts.method == Method::GET && path.starts_with(crate::widget::WIDGET_PATH) {
                return crate::widget::widget_file(dir, &path).await;
            }
        }
        if let Some(dir) = gateway.app_dir.as_ref() {
            if !path_matched && parts.method == Method::GET && !path.starts_with("/api/") {
                if let Some(file) = crate::dashboard::app_file(dir, &path).await {
                    return file;
                }
            }
        }
        return if path_matched {
            gateway_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path does not take that method",
            )
        } else {
            gateway_error(StatusCode::NOT_FOUND, "route_not_found", "no such route")
        };
    };
    let Ok(body) = to_bytes(body, MAX_GATEWAY_BODY).await else {
        return gateway_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is too large",
        );
    };
    let authorizer_event = json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:local:000000000000:local/local/{}{}", parts.method, path),
        "headers": header_map(&parts.headers),
    });
    // As API Gateway: a route with `Authorizer: NONE` in the template runs without a token and
    // without an authorizer context, whatever the request carries.
    let context = if bound.route.authorized {
        match switchboard_authorizer::authorize(&gateway.verifier, &authorizer_event) {
            Ok(answer) => Some(answer.context),
            Err(refusal) => {
                tracing::info!(reason = %refusal, "token refused");
                let mut refused = gateway_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "a valid bearer token is required",
                );
                // As the template's gateway response: a widget's page reads that its token expired.
                if let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) {
                    refused
                        .headers_mut()
                        .insert(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                    refused
                        .headers_mut()
                        .insert(axum::http::header::VARY, axum::http::HeaderValue::from_static("Origin"));
                }
                return refused;
            }
        }
    } else {
        None
    };
    let event = proxy_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bound.route,
        params,
        &body,
        peer,
        context.as_ref(),
    );
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(error) => {
            tracing::error!(%error, "building the Lambda request failed");
            return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the gateway failed");
        }
    };
    let started = std::time::Instant::now();
    if bound.function.streaming.is_some() {
        // As API Gateway with `ResponseTransferMode: STREAM`: the body goes out chunked, as the
        // handler writes it.
        let (parts, chunks) =
            dispatch_streaming(gateway.app_for(bound.function.name), &bound.function, request)
                .await
                .into_parts();
        gateway.invoked(bound.function.name, started);
        return Response::from_parts(parts, AxumBody::from_stream(chunks));
    }
    let response = dispatch(gateway.app_for(bound.function.name), &bound.function, request).await;
    gateway.invoked(bound.function.name, started);
    into_axum(response)
}

pub(crate) fn header_map(headers: &HeaderMap) -> Map<String, Value> {
    let mut map = Map::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            map.insert(name.as_str().to_owned(), Value::String(value.to_owned()));
        }
    }
    map
}

fn query_map(uri: &Uri) -> (Value, Value) {
    let pairs: Vec<(String, String)> =
        uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::String(value.clone()));
        multi.entry(name).or_default().push(Value::String(value));
    }
    let multi: Map<String, Value> = multi.into_iter().map(|(k, v)| (k, Value::Array(v))).collect();
    (Value::Object(single), Value::Object(multi))
}

/// The API Gateway REST proxy event for a request, as Lambda would receive it.
#[allow(clippy::too_many_arguments)]
fn proxy_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    route: &Route,
    params: Vec<(String, String)>,
    body: &[u8],
    peer: SocketAddr,
    context: Option<&switchboard_authorizer::AuthorizerContext>,
) -> Value {
    let (query, multi_query) = query_map(uri);
    let single_headers = header_map(headers);
    let multi_headers: Map<String, Value> =
        single_headers.iter().map(|(k, v)| (k.clone(), Value::Array(vec![v.clone()]))).collect();
    let path_parameters: Map<String, Value> =
        params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => {
            use base64::Engine;
            (Value::String(base64::engine::general_purpose::STANDARD.encode(body)), true)
        }
    };
    let mut event = json!({
        "resource": route.path,
        "path": uri.path(),
        "httpMethod": method.as_str(),
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": if path_parameters.is_empty() { Value::Null } else { Value::Object(path_parameters) },
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": route.path,
            "httpMethod": method.as_str(),
            "path": format!("/local{}", uri.path()),
            "stage": "local",
            "requestId": ulid::Ulid::new().to_string(),
            "requestTimeEpoch": time::OffsetDateTime::now_utc().unix_timestamp() * 1000,
            "identity": {"sourceIp": peer.ip().to_string()},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    });
    if let Some(context) = context {
        event["requestContext"]["authorizer"] = json!({
            "principalId": context.user_id,
            "userId": context.user_id,
            "role": context.role,
            "name": context.name,
        });
    }
    event
}

fn into_axum(response: lambda_http::Response<LambdaBody>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        LambdaBody::Empty => Vec::new(),
        LambdaBody::Text(text) => text.into_bytes(),
        LambdaBody::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Response::from_parts(parts, AxumBody::from(bytes))
}
