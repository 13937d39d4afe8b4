//! Tracing set-up: JSON lines in Lambda (CloudWatch), readable lines elsewhere, in colour only on
//! a terminal.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Installs the global subscriber once. `RUST_LOG` filters with `tracing`'s target syntax
/// (`info`, `warn,switchboard_shared=debug`); `Targets` parses it without the regex engine
/// `EnvFilter` would link into every function. Release builds compile out `debug` and `trace`
/// events altogether (`tracing`'s `release_max_level_info`), which keeps every function 0.4 MB
/// smaller; debug builds (the local gateway's `cargo run`) keep them.
pub fn init() {
    let filter = log_filter();
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // A second call (tests, the local gateway after a function) keeps the first subscriber.
    let _ = if in_lambda {
        tracing_subscriber::registry().with(json_lines(std::io::stdout)).with(filter).try_init()
    } else {
        // Colour codes only for a person at a terminal: in a file or a pipe they are noise.
        let colour = std::io::stdout().is_terminal();
        let layer = tracing_subscriber::fmt::layer().with_target(false).with_ansi(colour);
        tracing_subscriber::registry().with(layer).with(filter).try_init()
    };
}

/// [`init`] for a command whose standard output is its answer (a JSON outcome, a token): the
/// readable lines go to standard error, so `$(command)` and a pipe get the answer alone.
pub fn init_on_stderr() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let colour = std::io::stderr().is_terminal();
    let layer =
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(colour);
    let _ = tracing_subscriber::registry().with(layer).with(log_filter()).try_init();
}

/// `RUST_LOG`'s filter, `info` when unset or unreadable.
fn log_filter() -> Targets {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| spec.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// The JSON lines of a function in Lambda, written to `writer`: one object per event with its
/// fields and the innermost span's fields (the request's: function, request id, connection), no
/// time (CloudWatch stamps each line). Not the list of every enclosing span: it repeated the
/// request's span and `lambda_runtime`'s invoke span (request id, trace header) on every line,
/// about 400 bytes a line that CloudWatch bills (docs/BENCHMARKS.md, "Cost per conversation").
pub fn json_lines<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_writer(writer)
}
