//! `cold-start`: times the init of Lambda function binaries against the hello-world reference on a
//! loopback Runtime API, and prints a Markdown table (progress goes to stderr).
//!
//!   cold-start --runs 20 target/release/chat-send-message target/release/authorizer-verify-token

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchboard_bench::emulator::{run_once, Function, RunOptions};
use switchboard_bench::report::{markdown, Measured};

/// The reference's event: it echoes it back.
const REFERENCE_EVENT: &str = r#"{"message":"hello"}"#;

/// Times exec → first `GET /runtime/invocation/next` of each binary against a hello-world
/// `lambda_runtime` reference, then answers one event and reads the peak RSS.
#[derive(Debug, Parser)]
#[command(name = "cold-start")]
struct Args {
    /// Function binaries (release builds); each gets `<events>/<binary name>.json` as its event.
    #[arg(required = true)]
    binaries: Vec<PathBuf>,
    /// Measured starts per binary, interleaved across binaries (after one discarded warm-up each).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// The reference binary [default: `hello-lambda` next to this program].
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Directory of the API Gateway event fixtures.
    #[arg(long, default_value = "events")]
    events: PathBuf,
    /// Seconds to wait for a function's init, and again for its answer.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Let the functions write their logs to this terminal.
    #[arg(long)]
    show_output: bool,
    /// Extra environment variable for every binary, reference included (repeatable), e.g.
    /// `--env SSL_CERT_FILE=/path/to/bundle.pem` to see what the trust store costs.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    extra_env: Vec<(String, String)>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("cold-start: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<String, String> {
    if args.runs == 0 {
        return Err("--runs must be at least 1".to_owned());
    }
    let reference_path = match &args.reference {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot locate this program: {e}"))?
            .with_file_name("hello-lambda"),
    };
    let mut functions = vec![Function::new(absolute(&reference_path)?, REFERENCE_EVENT)];
    for binary in &args.binaries {
        // Named as given (a symlink keeps its own name); started by its canonical path.
        let name = Function::new(binary.clone(), "").name;
        let event_file = args.events.join(format!("{name}.json"));
        let event =
            std::fs::read(&event_file).map_err(|e| format!("cannot read {}: {e}", event_file.display()))?;
        functions.push(Function { name, path: absolute(binary)?, event: event.into() });
    }
    let options = RunOptions {
        timeout: Duration::from_secs(args.timeout),
        show_output: args.show_output,
        extra_env: args.extra_env.clone(),
    };

    // One discarded start each: the binaries are in the page cache before anything is timed.
    for function in &functions {
        run_once(function, &options).await.map_err(|e| e.to_string())?;
    }
    let mut samples = vec![Vec::with_capacity(args.runs); functions.len()];
    for round in 0..args.runs {
        eprint!("\rcold-start: round {}/{}", round + 1, args.runs);
        // Each round starts with a different binary so drift in the machine's load spreads evenly.
        for offset in 0..functions.len() {
            let index = (round + offset) % functions.len();
            let sample = run_once(&functions[index], &options).await.map_err(|e| e.to_string())?;
            samples[index].push(sample);
        }
    }
    eprintln!();

    let mut measured =
        functions.iter().zip(samples).map(|(f, samples)| Measured { name: f.name.clone(), samples });
    let reference = measured.next().expect("the reference is always measured");
    let functions: Vec<Measured> = measured.collect();
    Ok(markdown(&reference, &functions))
}

fn parse_env(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {pair:?}")),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::fs::canonicalize(path).map_err(|e| format!("cannot find {}: {e}", path.display()))
}
