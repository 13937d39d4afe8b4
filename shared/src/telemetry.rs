//! Tracing set-up: JSON lines in Lambda (CloudWatch), readable lines on a terminal.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second call (tests, the local gateway after a function) keeps the first subscriber.
    let _ = if in_lambda {
        builder.json().with_current_span(true).without_time().try_init()
    } else {
        builder.with_target(false).try_init()
    };
}
