//! The cost benchmark: scripted conversations through the local gateway, metered as AWS bills
//! them, priced at list prices. Markdown on stdout; the last line is
//! `usd_per_1000_conversations=X.XXXX` for the main profile (`websocket`). See
//! `docs/BENCHMARKS.md` ("Cost per conversation").

use std::process::ExitCode;

use clap::Parser;
use switchboard_bench::cost::profiles::Profile;
use switchboard_bench::cost::{self, report};

/// Prices what a support conversation costs on AWS.
#[derive(Debug, Parser)]
#[command(name = "cost-bench")]
struct Args {
    /// Conversations run per profile (the figures are their average).
    #[arg(long, default_value_t = 5)]
    conversations: usize,
    /// The profiles to run, the first one's total is the last line (default: all, `websocket` first).
    #[arg(long, value_enum, value_delimiter = ',')]
    profile: Vec<Profile>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let profiles = if args.profile.is_empty() { Profile::ALL.to_vec() } else { args.profile };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cost-bench: starting the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let start_ms = time_now_ms();
    match runtime.block_on(cost::measure(&profiles, args.conversations.max(1), start_ms)) {
        Ok(measured) => {
            print!("{}", report::markdown(&measured));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cost-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn time_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or(1)
}
