//! `realtime-bench`: the real-time benchmark of the local gateway's WebSocket API, served in
//! process over a fresh SQLite store. Prints Markdown on stdout (progress on stderr):
//!
//! 1. connects and disconnects per second (`--connects`, `--concurrency`);
//! 2. fan-out latency to `--fanout-sockets` sockets (p50/p90/p99/max/mean, against the 50 ms p99
//!    budget of ARCHITECTURE.md §8, and where the time went);
//! 3. sustained deliveries per second between `--sustained-pairs` customer/agent pairs;
//! 4. the delivery check: `--check-pairs` pairs × `--check-messages`, nothing lost, duplicated or
//!    reordered.
//!
//! The gateway and the client run on two runtimes of their own (threads named `gateway…` and
//! `client…`) but share the machine's cores. Build and run it in release:
//!
//!   cargo run --release -p switchboard-bench --features realtime --bin realtime-bench

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use switchboard_bench::realtime::cpu::{CLIENT_THREADS, GATEWAY_THREADS};
use switchboard_bench::realtime::harness::GatewayOptions;
use switchboard_bench::realtime::probe::PostVia;
use switchboard_bench::realtime::scenarios::{self, ConnectsConfig, FanoutConfig, PairsConfig};
use switchboard_bench::realtime::{report, BenchError};
use tokio::runtime::{Builder, Handle, Runtime};

/// A measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Step {
    /// Connects and disconnects per second.
    Connects,
    /// Fan-out latency to many sockets of one session.
    Fanout,
    /// Sustained deliveries per second between customer/agent pairs.
    Sustained,
    /// The delivery check: nothing lost, duplicated or reordered.
    Check,
}

/// The real-time benchmark of the local gateway's WebSocket API (Markdown on stdout).
#[derive(Debug, Parser)]
#[command(name = "realtime-bench")]
struct Args {
    /// Measurements to run, in the order given.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Step::Connects, Step::Fanout, Step::Sustained, Step::Check])]
    only: Vec<Step>,
    /// Sockets subscribed to the fan-out's session (the customer, the agent, the rest admins).
    #[arg(long, default_value_t = 1000)]
    fanout_sockets: usize,
    /// Fan-out messages measured.
    #[arg(long, default_value_t = 100)]
    fanout_messages: usize,
    /// Fan-out messages sent first, unmeasured.
    #[arg(long, default_value_t = 10)]
    fanout_warmup: usize,
    /// Also write each fan-out message's times to this CSV file (microseconds).
    #[arg(long)]
    fanout_csv: Option<std::path::PathBuf>,
    /// Customer/agent pairs of the sustained measurement.
    #[arg(long, default_value_t = 100)]
    sustained_pairs: usize,
    /// Messages each socket of the sustained measurement sends.
    #[arg(long, default_value_t = 50)]
    sustained_messages: usize,
    /// Customer/agent pairs of the delivery check.
    #[arg(long, default_value_t = 250)]
    check_pairs: usize,
    /// Messages each socket of the delivery check sends.
    #[arg(long, default_value_t = 20)]
    check_messages: usize,
    /// Messages each socket of the pairs measurements sends first, unmeasured (but checked).
    #[arg(long, default_value_t = 5)]
    pair_warmup: usize,
    /// Sockets the connect measurement opens and closes.
    #[arg(long, default_value_t = 1000)]
    connects: usize,
    /// Sockets the connect measurement opens and closes first, unmeasured.
    #[arg(long, default_value_t = 100)]
    connect_warmup: usize,
    /// Sockets opened (subscribed, closed) at once, in every measurement.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// How the gateway's fan-out posts to connections: `in-process` is `switchboard-local serve`'s
    /// default, `sdk` its `--realtime management-api` (the production client, as in AWS).
    #[arg(long, value_enum, default_value_t = PostVia::InProcess)]
    post_via: PostVia,
    /// Worker threads of the gateway's runtime.
    #[arg(long, default_value_t = 2)]
    gateway_threads: usize,
    /// Worker threads of the client's runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

impl Args {
    /// The most sockets open at once (client and gateway ends both hold a descriptor).
    fn most_sockets(&self) -> usize {
        self.only
            .iter()
            .map(|step| match step {
                Step::Connects => self.connects.max(self.connect_warmup),
                Step::Fanout => self.fanout_sockets,
                Step::Sustained => 2 * self.sustained_pairs,
                Step::Check => 2 * self.check_pairs,
            })
            .max()
            .unwrap_or(0)
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The soft limit on open files, from `/proc/self/limits`.
fn open_files_limit() -> Option<usize> {
    let limits = read("/proc/self/limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn machine(args: &Args) -> String {
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let command: Vec<String> = std::env::args().collect();
    format!(
        "## Real time: run of {date}\n\n\
         - Command: `{}`\n\
         - Machine: {cores} cores ({model}), {}; load average at start {}\n\
         - Gateway: the local gateway in process on 127.0.0.1, SQLite store in a temporary directory, \
           {} gateway worker threads; posts via `{:?}`\n\
         - Client: one tokio task per socket, {} client worker threads, on the same cores as the gateway\n",
        command.join(" "),
        std::env::consts::ARCH,
        read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        args.gateway_threads,
        args.post_via,
        args.client_threads,
    )
}

fn runtime(name: &'static str, threads: usize) -> std::io::Result<Runtime> {
    Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        // Blocking threads (SQLite) stay alive, so their CPU time is still counted at the end.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
}

async fn run(args: Args, gateway: Handle) -> Result<(), BenchError> {
    let options = GatewayOptions { post_via: args.post_via };
    println!("{}", machine(&args));
    for step in &args.only {
        let section = match step {
            Step::Connects => {
                let config = ConnectsConfig {
                    sockets: args.connects,
                    concurrency: args.concurrency,
                    warmup: args.connect_warmup,
                };
                report::connects(&scenarios::connects(&gateway, options, config).await?)
            }
            Step::Fanout => {
                let config = FanoutConfig {
                    sockets: args.fanout_sockets,
                    messages: args.fanout_messages,
                    warmup: args.fanout_warmup,
                    concurrency: args.concurrency,
                };
                let result = scenarios::fanout(&gateway, options, config).await?;
                if let Some(path) = &args.fanout_csv {
                    std::fs::write(path, report::fanout_csv(&result))?;
                }
                report::fanout(&result)
            }
            Step::Sustained => {
                let config = PairsConfig {
                    pairs: args.sustained_pairs,
                    messages: args.sustained_messages,
                    warmup: args.pair_warmup,
                    concurrency: args.concurrency,
                };
                let title = format!("Sustained deliveries with {} senders", 2 * config.pairs);
                report::pairs(&scenarios::pairs(&gateway, options, config).await?, &title)
            }
            Step::Check => {
                let config = PairsConfig {
                    pairs: args.check_pairs,
                    messages: args.check_messages,
                    warmup: args.pair_warmup,
                    concurrency: args.concurrency,
                };
                let title =
                    format!("Delivery check: {} sockets × {} messages", 2 * config.pairs, config.messages);
                report::pairs(&scenarios::pairs(&gateway, options, config).await?, &title)
            }
        };
        println!("{section}");
    }
    println!(
        "- Load average at the end: {}",
        read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let needed = 2 * args.most_sockets() + 256;
    if let Some(limit) = open_files_limit().filter(|limit| *limit < needed) {
        eprintln!("realtime-bench: {needed} open files are needed and the limit is {limit}: raise it (`ulimit -n {needed}`)");
        return ExitCode::FAILURE;
    }
    let (gateway, client) = match (
        runtime(GATEWAY_THREADS, args.gateway_threads),
        runtime(CLIENT_THREADS, args.client_threads),
    ) {
        (Ok(gateway), Ok(client)) => (gateway, client),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("realtime-bench: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = client.block_on(client.spawn(run(args, gateway.handle().clone())));
    gateway.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("realtime-bench: FAILED: {error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("realtime-bench: FAILED: the benchmark task failed: {error}");
            ExitCode::FAILURE
        }
    }
}
