//! Running a function: the same dispatch in Lambda and in the local gateway.

use std::convert::Infallible;
use std::sync::Arc;

use futures::future::BoxFuture;
use lambda_http::{service_fn, Body, Request, Response};
use tracing::Instrument;

use crate::app::App;
use crate::http::{error_response, request_id, HandlerResult};

/// A handler: parses, authorizes, calls one operation, shapes the response.
pub type Handler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, HandlerResult>;

/// One Lambda function: its binary name (= function name) and its handler.
#[derive(Clone, Copy)]
pub struct HttpFunction {
    /// Binary and function name (`chat-create-session`).
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
}

/// Declares an [`HttpFunction`] constant for an `async fn(&App, Request) -> HandlerResult`.
#[macro_export]
macro_rules! http_function {
    ($(#[$doc:meta])* $constant:ident = $name:literal => $handler:path) => {
        $(#[$doc])*
        pub const $constant: $crate::lambda::HttpFunction = $crate::lambda::HttpFunction {
            name: $name,
            handler: |app, req| Box::pin($handler(app, req)),
        };
    };
}

/// Runs a handler for one request inside a span, turning failures into JSON error responses.
pub async fn dispatch(app: &App, function: &HttpFunction, req: Request) -> Response<Body> {
    let request_id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        function = function.name,
        method = %req.method(),
        request_id = request_id.as_deref().unwrap_or("-"),
    );
    async {
        match (function.handler)(app, req).await {
            Ok(response) => response,
            Err(error) => error_response(&error, request_id.as_deref()),
        }
    }
    .instrument(span)
    .await
}

/// The whole `main` of an HTTP function: tracing, `App::from_env()` (exits with the reason if
/// the configuration is unusable), then the Lambda runtime loop.
pub async fn run_http(function: HttpFunction) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = match App::from_env().await {
        Ok(app) => Arc::new(app),
        Err(error) => {
            tracing::error!(%error, "configuration is unusable");
            return Err(error.into());
        }
    };
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(dispatch(&app, &function, req).await) }
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
