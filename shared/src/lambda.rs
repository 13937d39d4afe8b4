//! Running a function: the same dispatch in Lambda and in the local gateway.

use std::any::Any;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt, TryStreamExt};
use lambda_http::{service_fn, Body, Request, Response};
use tracing::Instrument;

use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::app::App;
use crate::domain::{ConnectionId, Principal};
use crate::error::ApiError;
use crate::http::{error_response, request_id, Chunks, HandlerResult, StreamingResult};
use crate::realtime::frames::{ServerFrame, MAX_MESSAGE_BYTES, MAX_REF_CHARS};

/// A handler: parses, authorizes, calls one operation, shapes the response.
pub type Handler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, HandlerResult>;

/// A handler whose response body is written chunk by chunk (a download).
pub type StreamingHandler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, StreamingResult>;

/// One Lambda function: its binary name (= function name) and its handler.
#[derive(Clone, Copy)]
pub struct HttpFunction {
    /// Binary and function name (`chat-create-session`).
    pub name: &'static str,
    /// The handler (for a streaming function: the same one with its body gathered in memory).
    pub handler: Handler,
    /// For a function whose response is streamed (API Gateway's `ResponseTransferMode: STREAM`
    /// in Lambda, a chunked body locally): its streaming handler.
    pub streaming: Option<StreamingHandler>,
}

/// Declares an [`HttpFunction`] constant for an `async fn(&App, Request) -> HandlerResult`.
#[macro_export]
macro_rules! http_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::HttpFunction = $crate::lambda::HttpFunction {
            name: $name,
            handler: |app, req| Box::pin($handler(app, req)),
            streaming: None,
        };
    };
}

/// Declares a streaming [`HttpFunction`] constant for an
/// `async fn(&App, Request) -> StreamingResult`.
#[macro_export]
macro_rules! streaming_http_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::HttpFunction = $crate::lambda::HttpFunction {
            name: $name,
            handler: |app, req| Box::pin($crate::lambda::gathered($handler(app, req))),
            streaming: Some(|app, req| Box::pin($handler(app, req))),
        };
    };
}

/// A streaming handler's response with its body gathered in memory (for [`dispatch`]); a failure
/// midway is the handler's failure.
pub async fn gathered(response: impl std::future::Future<Output = StreamingResult>) -> HandlerResult {
    let (parts, chunks) = response.await?.into_parts();
    let body = chunks
        .try_fold(Vec::new(), |mut body, chunk| async move {
            body.extend_from_slice(&chunk);
            Ok(body)
        })
        .await?;
    Ok(Response::from_parts(parts, if body.is_empty() { Body::Empty } else { Body::Binary(body) }))
}

/// Runs a handler for one request inside a span, turning failures into JSON error responses.
/// A request with a widget token from a browser page is first held to its site's allowed
/// origins (403 `origin_not_allowed`), and its answer, errors included, carries the CORS
/// headers that let the page read it.
pub async fn dispatch(app: &App, function: &HttpFunction, req: Request) -> Response<Body> {
    let checked = match crate::http::principal(&req) {
        Ok(principal) => {
            crate::ops::widget::check_widget_origin(app.store.as_ref(), &principal, crate::cors::origin(&req))
                .await
        }
        Err(_) => Ok(None),
    };
    let allowed = match checked {
        Ok(allowed) => allowed,
        Err(error) => return error_response(&error, request_id(&req).as_deref()),
    };
    let mut response = respond(function.name, req, |req| (function.handler)(app, req)).await;
    if let Some(origin) = allowed {
        crate::cors::allow_origin(&mut response, &origin);
    }
    response
}

/// What [`dispatch`] does, for a function that runs its handler `handle` without an [`App`]: a
/// span with the function and request id, failures turned into JSON error responses.
pub async fn respond<F, Fut>(name: &'static str, req: Request, handle: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = HandlerResult>,
{
    let request_id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        function = name,
        method = %req.method(),
        request_id = request_id.as_deref().unwrap_or("-"),
    );
    async {
        match caught(handle(req)).await {
            Ok(response) => response,
            Err(error) => error_response(&error, request_id.as_deref()),
        }
    }
    .instrument(span)
    .await
}

/// A handler's outcome with a panic in it turned into the internal error it is: the caller
/// gets the JSON 500 with its request id, never a dropped connection (local gateway) or the
/// runtime's unshaped error (Lambda), and the panic's message goes to the logs.
async fn caught<T>(handling: impl std::future::Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
    AssertUnwindSafe(handling).catch_unwind().await.unwrap_or_else(|panic| Err(panicked(panic.as_ref())))
}

/// The internal error of a panic, with its message when it has one.
fn panicked(panic: &(dyn Any + Send)) -> ApiError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    ApiError::Internal(format!("the handler panicked: {message}"))
}

/// Runs a function for one request with its body streamed: a streaming function's chunks as
/// they come (a failure midway is logged and cuts the body off), any other function's body as one
/// chunk. Failures before the first chunk are JSON error responses, as in [`dispatch`].
pub async fn dispatch_streaming(app: &App, function: &HttpFunction, req: Request) -> Response<Chunks> {
    let Some(streaming) = function.streaming else {
        return dispatch(app, function, req).await.map(|body| one_chunk(body.as_ref().to_vec()));
    };
    let request_id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        function = function.name,
        method = %req.method(),
        request_id = request_id.as_deref().unwrap_or("-"),
    );
    async {
        match caught(streaming(app, req)).await {
            Ok(response) => response.map(|chunks| {
                let (name, request_id) = (function.name, request_id.clone().unwrap_or_default());
                AssertUnwindSafe(chunks)
                    .catch_unwind()
                    .map(|chunk| chunk.unwrap_or_else(|panic| Err(panicked(panic.as_ref()))))
                    .inspect_err(move |error| {
                        tracing::error!(function = name, request_id, %error, "the response failed midway");
                    })
                    .boxed()
            }),
            Err(error) => {
                error_response(&error, request_id.as_deref()).map(|body| one_chunk(body.as_ref().to_vec()))
            }
        }
    }
    .instrument(span)
    .await
}

fn one_chunk(body: Vec<u8>) -> Chunks {
    stream::iter((!body.is_empty()).then(|| Ok(Bytes::from(body)))).boxed()
}

/// The whole `main` of an HTTP function: tracing, `App::from_env()` (exits with the reason if
/// the configuration is unusable), then the Lambda runtime loop — with response streaming for a
/// streaming function (its route has `ResponseTransferMode: RESPONSE_STREAM` in the template).
pub async fn run_http(function: HttpFunction) -> Result<(), lambda_http::Error> {
    if function.streaming.is_none() {
        return run(move |app, req| async move { dispatch(&app, &function, req).await }).await;
    }
    let app = start().await?;
    lambda_http::run_with_streaming_response(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move {
            let response = dispatch_streaming(&app, &function, req).await;
            Ok::<_, Infallible>(
                response.map(|chunks| http_body_util::StreamBody::new(chunks.map_ok(http_body::Frame::data))),
            )
        }
    }))
    .await
}

/// [`run_http`] for the functions that reach SNS in the request (device registration, a test
/// push, the replay of a failed change): their app pushes through SNS mobile push.
pub async fn run_http_pushing(function: HttpFunction) -> Result<(), lambda_http::Error> {
    serve(start_pushing().await?, function).await
}

/// [`run_http`] for the function that starts bulk sends: its app enqueues them on the SQS queue
/// of `BULK_SEND_QUEUE_URL` (only this function's binary links the SQS client).
#[cfg(feature = "sqs")]
pub async fn run_http_enqueuing(function: HttpFunction) -> Result<(), lambda_http::Error> {
    let app = start().await?;
    let queue = match crate::jobs::sqs::SqsJobQueue::from_env() {
        Ok(queue) => queue,
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    serve(Arc::new(App::clone(&app).with_jobs(Arc::new(queue))), function).await
}

/// [`run_http`] for the functions that mint the widget's customer tokens: their app signs with
/// the widget token secret, read from SSM at cold start (only these functions and the authorizer
/// link the SSM client), and never pushes (their policies grant no SNS action: the app's push
/// port refuses, and no SNS client is linked).
#[cfg(feature = "ssm")]
pub async fn run_http_minting(function: HttpFunction) -> Result<(), lambda_http::Error> {
    let app = start().await?;
    let tokens = match crate::secrets::widget_tokens_from_env().await {
        Ok(Some(tokens)) => tokens,
        Ok(None) => {
            let error = crate::config::ConfigError::Missing(crate::secrets::WIDGET_TOKEN_SECRET_PARAMETER);
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    let limit = match crate::app::widget_token_limit_from_env() {
        Ok(limit) => limit,
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    serve(Arc::new(App::clone(&app).with_widget_tokens(tokens).with_widget_token_limit(limit)), function)
        .await
}

/// [`run_http`] for the functions that sign attachment links (upload forms, downloads): their
/// app signs for the bucket of `ATTACHMENTS_BUCKET` (required there) with the role's
/// credentials; no other function links the signing.
pub async fn run_http_signing_attachments(function: HttpFunction) -> Result<(), lambda_http::Error> {
    let app = start().await?;
    let links = match crate::attachments::store::S3Links::from_env() {
        Ok(Some(links)) => links,
        Ok(None) => {
            let error = crate::config::ConfigError::Missing(crate::attachments::store::ATTACHMENTS_BUCKET);
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    serve(Arc::new(App::clone(&app).with_attachment_links(Arc::new(links))), function).await
}

/// The Lambda runtime loop answering each request of `function` with `app`.
async fn serve(app: Arc<App>, function: HttpFunction) -> Result<(), lambda_http::Error> {
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(dispatch(&app, &function, req).await) }
    }))
    .await
}

/// Tracing and the app from the environment, exiting with the reason if the configuration is
/// unusable. Its push port refuses: only the functions whose policy grants SNS actions push (see
/// [`run_http_pushing`]), and a binary that never builds [`App::from_env`] links no SNS client.
/// Pushes to people who are not connected run from the change feed (`changes-process`).
async fn start() -> Result<Arc<App>, lambda_http::Error> {
    crate::telemetry::init();
    started(App::from_env_pushing(Arc::new(crate::push::refused::RefusedPush)).await)
}

/// [`start`] with the SNS push port: `App::from_env()`.
async fn start_pushing() -> Result<Arc<App>, lambda_http::Error> {
    crate::telemetry::init();
    started(App::from_env().await)
}

/// The app built, or the reason it could not be, logged.
fn started(built: Result<App, crate::config::ConfigError>) -> Result<Arc<App>, lambda_http::Error> {
    match built {
        Ok(app) => Ok(Arc::new(app)),
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            Err(error.into())
        }
    }
}

/// [`start`], then the Lambda runtime loop answering each event with `answer`.
async fn run<F, Fut>(answer: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<App>, Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    let app = start().await?;
    lambda_http::run(service_fn(move |req: Request| {
        let answered = answer(Arc::clone(&app), req);
        async move { Ok::<_, Infallible>(answered.await) }
    }))
    .await
}

/// Expands to the `main` of an HTTP function binary.
#[macro_export]
macro_rules! http_main {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_http($function).await
        }
    };
}

/// Expands to the `main` of an HTTP function binary that pushes through SNS in the request
/// ([`run_http_pushing`]).
#[macro_export]
macro_rules! http_main_pushing {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_http_pushing($function).await
        }
    };
}

/// A scheduled handler: gets the EventBridge scheduled event and the time it fired, returns a
/// JSON account of what it did (logged, and the invocation's result).
pub type ScheduledHandler = for<'a> fn(&'a App, ScheduledEvent) -> BoxFuture<'a, Result<Value, ApiError>>;

/// One scheduled Lambda function (an EventBridge rule invokes it).
#[derive(Clone, Copy)]
pub struct ScheduledFunction {
    /// Binary and function name (`analytics-rollup`).
    pub name: &'static str,
    /// The handler.
    pub handler: ScheduledHandler,
}

/// The fields of an EventBridge scheduled event the handlers use.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ScheduledEvent {
    /// `Scheduled Event`.
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// `aws.events` (or `aws.scheduler`).
    pub source: String,
    /// When the rule fired.
    #[serde(with = "crate::domain::timestamp")]
    pub time: time::OffsetDateTime,
}

/// Declares a [`ScheduledFunction`] constant for an
/// `async fn(&App, ScheduledEvent) -> Result<Value, ApiError>`.
#[macro_export]
macro_rules! scheduled_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::ScheduledFunction = $crate::lambda::ScheduledFunction {
            name: $name,
            handler: |app, event| Box::pin($handler(app, event)),
        };
    };
}

/// Runs a scheduled handler for one event inside a span. A failure is logged and returned, so
/// the invocation fails and Lambda retries it (scheduled work is written to be repeated).
pub async fn dispatch_scheduled(
    app: &App,
    function: &ScheduledFunction,
    event: Value,
) -> Result<Value, ApiError> {
    run_scheduled_event(function.name, event, |event| (function.handler)(app, event)).await
}

/// What [`dispatch_scheduled`] does, for a function that runs its handler `handle` without an
/// [`App`].
pub async fn run_scheduled_event<F, Fut>(
    name: &'static str,
    event: Value,
    handle: F,
) -> Result<Value, ApiError>
where
    F: FnOnce(ScheduledEvent) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    let span = tracing::info_span!("scheduled", function = name);
    async {
        let event: ScheduledEvent = serde_json::from_value(event)
            .map_err(|e| ApiError::bad_request("invalid_event", format!("not a scheduled event: {e}")))?;
        match handle(event).await {
            Ok(done) => {
                tracing::info!(%done, "scheduled run done");
                Ok(done)
            }
            Err(error) => {
                tracing::error!(%error, "scheduled run failed");
                Err(error)
            }
        }
    }
    .instrument(span)
    .await
}

/// The whole `main` of a scheduled function: tracing, the app from the environment (its push
/// port refuses, see [`start`]), then the Lambda runtime loop.
pub async fn run_scheduled(function: ScheduledFunction) -> Result<(), lambda_http::Error> {
    serve_scheduled(start().await?, function).await
}

/// The Lambda runtime loop of a scheduled function over `app`.
async fn serve_scheduled(app: Arc<App>, function: ScheduledFunction) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<Value>| {
            let app = Arc::clone(&app);
            async move {
                dispatch_scheduled(&app, &function, event.payload).await.map_err(lambda_http::Error::from)
            }
        },
    ))
    .await
}

/// [`run_scheduled`] for the function that sends e-mail (`email-sweep`): its app sends through
/// SES (`ops::email::Mailing::from_env`); only its binary links the SES client.
#[cfg(feature = "ses")]
pub async fn run_scheduled_mailing(function: ScheduledFunction) -> Result<(), lambda_http::Error> {
    let app = start().await?;
    let mailer = crate::mail::ses::SesMailer::from_env()
        .and_then(|ses| crate::ops::email::Mailing::from_env(Arc::new(ses)));
    let mailing = match mailer {
        Ok(mailing) => Arc::new(mailing),
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    serve_scheduled(Arc::new(App::clone(&app).with_mailing(mailing)), function).await
}

/// Expands to the `main` of the scheduled function that sends e-mail
/// ([`run_scheduled_mailing`]).
#[macro_export]
macro_rules! scheduled_main_mailing {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_scheduled_mailing($function).await
        }
    };
}

/// Expands to the `main` of a scheduled function binary.
#[macro_export]
macro_rules! scheduled_main {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_scheduled($function).await
        }
    };
}

/// A queue handler: gets an SQS event, returns the batch response (`batchItemFailures`).
pub type QueueHandler = for<'a> fn(&'a App, Value) -> BoxFuture<'a, Result<Value, ApiError>>;

/// One Lambda function an event source invokes with a batch of records: an SQS queue or the
/// table's stream (whose event source mappings report batch item failures), an SNS topic.
#[derive(Clone, Copy)]
pub struct QueueFunction {
    /// Binary and function name (`notifications-bulk-worker`).
    pub name: &'static str,
    /// The handler.
    pub handler: QueueHandler,
}

/// Declares a [`QueueFunction`] constant for an `async fn(&App, Value) -> Result<Value, ApiError>`.
#[macro_export]
macro_rules! queue_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::QueueFunction = $crate::lambda::QueueFunction {
            name: $name,
            handler: |app, event| Box::pin($handler(app, event)),
        };
    };
}

/// The whole `main` of a queue function (the bulk sends' worker): tracing, `App::from_env()`
/// (pushing through SNS), then the Lambda runtime loop. A handler's error (an event that is not
/// an SQS event) fails the invocation, and with it the whole batch.
pub async fn run_queue(function: QueueFunction) -> Result<(), lambda_http::Error> {
    serve_batches(start_pushing().await?, function).await
}

/// The Lambda runtime loop of an event function over `app`.
async fn serve_batches(app: Arc<App>, function: QueueFunction) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<Value>| {
            let app = Arc::clone(&app);
            async move {
                let span = tracing::info_span!("queue", function = function.name);
                (function.handler)(&app, event.payload)
                    .instrument(span)
                    .await
                    .map_err(lambda_http::Error::from)
            }
        },
    ))
    .await
}

/// The whole `main` of an event function that neither pushes nor mails (the SNS topic of the
/// mail service's reports): [`run_queue`] with [`start`]'s app, so its binary links no SNS client.
pub async fn run_events(function: QueueFunction) -> Result<(), lambda_http::Error> {
    serve_batches(start().await?, function).await
}

/// Expands to the `main` of an event function binary that neither pushes nor mails
/// ([`run_events`]).
#[macro_export]
macro_rules! events_main {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_events($function).await
        }
    };
}

/// Expands to the `main` of a queue function binary.
#[macro_export]
macro_rules! queue_main {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_queue($function).await
        }
    };
}

/// A WebSocket route's request: the connection, the route, and the frame's fields (without
/// `action` and `ref`, which the dispatcher takes off).
pub struct WsRequest {
    /// The Lambda request (its context carries the authorizer's answer).
    pub request: Request,
    /// API Gateway's id of the connection.
    pub connection_id: ConnectionId,
    /// The frame's `action`, when it had one.
    pub action: Option<String>,
    /// The frame's other fields (`null` on `$connect` and `$disconnect`).
    pub payload: Value,
}

impl WsRequest {
    /// The caller, from the authorizer's context.
    pub fn principal(&self) -> Result<Principal, ApiError> {
        crate::http::principal(&self.request)
    }

    /// The frame's fields as a typed value; a missing, unknown or invalid field is 422
    /// `invalid_frame`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| ApiError::unprocessable("invalid_frame", e.to_string()))
    }
}

/// What a WebSocket handler returns: the reply frame (sent back on the connection through the
/// route response), none, or a failure the dispatcher turns into an `error` frame.
pub type WsResult = Result<Option<ServerFrame>, ApiError>;

/// A WebSocket route handler.
pub type WsHandler = for<'a> fn(&'a App, WsRequest) -> BoxFuture<'a, WsResult>;

/// One WebSocket Lambda function: its binary name and its handler.
#[derive(Clone, Copy)]
pub struct WsFunction {
    /// Binary and function name (`realtime-send-message`).
    pub name: &'static str,
    /// The handler.
    pub handler: WsHandler,
}

/// Declares a [`WsFunction`] constant for an `async fn(&App, WsRequest) -> WsResult`.
#[macro_export]
macro_rules! ws_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::WsFunction = $crate::lambda::WsFunction {
            name: $name,
            handler: |app, req| Box::pin($handler(app, req)),
        };
    };
}

fn frame_response(frame: Option<Value>) -> Response<Body> {
    let mut response = Response::new(match frame {
        Some(frame) => Body::Text(frame.to_string()),
        None => Body::Empty,
    });
    *response.status_mut() = http::StatusCode::OK;
    response
}

fn error_frame(error: &ApiError, action: Option<String>, request_id: Option<&str>) -> ServerFrame {
    let body = error.body(request_id);
    let request_id = matches!(error, ApiError::Internal(_)).then_some(body.error.request_id).flatten();
    ServerFrame::Error { code: body.error.code, message: body.error.message, action, request_id }
}

/// A client frame split into its `action`, its `ref` and the rest; or the error frame's cause.
fn split_frame(req: &Request) -> Result<(Option<String>, Option<Value>, Value), ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_MESSAGE_BYTES });
    }
    let malformed =
        |why: &str| ApiError::bad_request("malformed_frame", format!("a frame must be a JSON object; {why}"));
    let value: Value = serde_json::from_slice(bytes).map_err(|e| malformed(&e.to_string()))?;
    let Value::Object(mut fields) = value else {
        return Err(malformed("this is not an object"));
    };
    let reference = match fields.remove("ref") {
        None => None,
        Some(Value::String(r)) if !r.is_empty() && r.chars().count() <= MAX_REF_CHARS => {
            Some(Value::String(r))
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_frame",
                format!("ref: must be a string of 1 to {MAX_REF_CHARS} characters"),
            ))
        }
    };
    let action = match fields.remove("action") {
        None => None,
        Some(Value::String(action)) => Some(action),
        Some(_) => return Err(ApiError::unprocessable("invalid_frame", "action: must be a string")),
    };
    Ok((action, reference, Value::Object(fields)))
}

/// Runs a WebSocket handler for one event. `$connect` answers with a status (a refusal keeps
/// the socket from opening); `$disconnect` always succeeds; a frame's reply — or its `error`
/// frame, which never drops the socket — goes back as the route response, carrying the frame's
/// `ref` when it had one (a frame with a `ref` and no reply of its own gets an `ack`).
pub async fn dispatch_ws(app: &App, function: &WsFunction, req: Request) -> Response<Body> {
    let request_id = request_id(&req);
    let (event_type, connection) = match req.request_context_ref() {
        Some(RequestContext::WebSocket(ctx)) => (ctx.event_type.clone(), ctx.connection_id.clone()),
        _ => (None, None),
    };
    let span = tracing::info_span!(
        "frame",
        function = function.name,
        event = event_type.as_deref().unwrap_or("-"),
        connection = connection.as_deref().unwrap_or("-"),
        request_id = request_id.as_deref().unwrap_or("-"),
    );
    async {
        let Some(connection_id) = connection.as_deref().and_then(|c| ConnectionId::parse(c).ok()) else {
            let error =
                ApiError::bad_request("not_a_websocket_event", "the event has no WebSocket connection id");
            return error_response(&error, request_id.as_deref());
        };
        match event_type.as_deref() {
            Some("CONNECT") | Some("DISCONNECT") => {
                let connecting = event_type.as_deref() == Some("CONNECT");
                let ws = WsRequest { request: req, connection_id, action: None, payload: Value::Null };
                match caught((function.handler)(app, ws)).await {
                    Ok(_) => frame_response(None),
                    Err(error) if connecting => error_response(&error, request_id.as_deref()),
                    Err(error) => {
                        tracing::warn!(%error, "disconnect failed");
                        frame_response(None)
                    }
                }
            }
            _ => {
                let (action, reference, payload) = match split_frame(&req) {
                    Ok(parts) => parts,
                    Err(error) => {
                        let frame = error_frame(&error, None, request_id.as_deref());
                        return frame_response(Some(frame.to_json()));
                    }
                };
                let ws = WsRequest { request: req, connection_id, action: action.clone(), payload };
                let reply = match caught((function.handler)(app, ws)).await {
                    Ok(reply) => reply,
                    Err(error) => {
                        if let ApiError::Internal(detail) = &error {
                            tracing::error!(%detail, "frame failed");
                        }
                        Some(error_frame(&error, action, request_id.as_deref()))
                    }
                };
                // A frame with a `ref` always gets a reply, so a client can wait for it.
                let reply = reply.or_else(|| reference.is_some().then_some(ServerFrame::Ack {}));
                frame_response(reply.map(|frame| {
                    let mut json = frame.to_json();
                    if let (Some(reference), Value::Object(fields)) = (reference, &mut json) {
                        fields.insert("ref".into(), reference);
                    }
                    json
                }))
            }
        }
    }
    .instrument(span)
    .await
}

/// The whole `main` of a WebSocket function.
pub async fn run_ws(function: WsFunction) -> Result<(), lambda_http::Error> {
    run(move |app, req| async move { dispatch_ws(&app, &function, req).await }).await
}

/// Expands to the `main` of a WebSocket function binary.
#[macro_export]
macro_rules! ws_main {
    ($function:path) => {
        #[tokio::main]
        async fn main() -> Result<(), lambda_http::Error> {
            $crate::lambda::run_ws($function).await
        }
    };
}
