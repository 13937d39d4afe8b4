//! The scale simulator: the target load of a large support floor run through the real
//! operations in simulated time, each partition key's capacity units metered, reported against
//! DynamoDB's, API Gateway's and Lambda's limits. The last line is `max_partition_utilization=X`.
//!
//!   scale-sim [--agents 2000] [--conversations 20000] [--messages-per-second 2000]
//!             [--dashboards 100] [--conversations-per-day 200000] [--seconds 60] [--scale 10]
//!             [--concurrency 16]
//!
//! `scripts/bench-scale.sh` builds and runs it. Figures: docs/BENCHMARKS.md ("Scale").

use std::time::Instant;

use clap::Parser;
use switchboard_bench::scale::report;
use switchboard_bench::scale::sim::{Floor, Load};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(name = "scale-sim", about = "The target load in simulated time, metered per partition key")]
struct Cli {
    /// Agents online.
    #[arg(long, default_value_t = 2_000)]
    agents: u32,
    /// Conversations open at once.
    #[arg(long, default_value_t = 20_000)]
    conversations: u32,
    /// Messages a second.
    #[arg(long, default_value_t = 2_000)]
    messages_per_second: u32,
    /// Dashboards open.
    #[arg(long, default_value_t = 100)]
    dashboards: u32,
    /// Conversations opened (and closed) a day.
    #[arg(long, default_value_t = 200_000)]
    conversations_per_day: u32,
    /// Simulated seconds measured after the set-up.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Operations run at once within a tick.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Runs 1/N of the load (agents, conversations, messages, dashboards, conversations a day)
    /// and scales the figures back up: per-entity partitions as measured, shared partitions'
    /// writes ×N and reads ×N², rates of the whole floor ×N. 1 runs the load itself (hours of
    /// CPU on the embedded store); the default, 10, takes minutes.
    #[arg(long, default_value_t = 10)]
    scale: u32,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let scale = cli.scale.max(1);
    let load = Load {
        agents: (cli.agents / scale).max(1),
        conversations: cli.conversations / scale,
        messages_per_second: cli.messages_per_second / scale,
        dashboards: cli.dashboards / scale,
        conversations_per_day: cli.conversations_per_day / scale,
        seconds: cli.seconds.max(1),
        concurrency: cli.concurrency.max(1),
        scale,
    };
    // A fixed day, mid-morning UTC: the counters and events of one day, none crossing midnight.
    let start = time::macros::datetime!(2026-12-07 09:00 UTC);
    let mut floor = Floor::open(load, start).await?;
    let began = Instant::now();
    eprintln!(
        "setting up: {} agents, {} dashboards, {} conversations",
        load.agents, load.dashboards, load.conversations
    );
    floor.set_up().await?;
    eprintln!("set up in {:.0?}; simulating {} seconds", began.elapsed(), load.seconds);
    let ran = Instant::now();
    floor.run().await?;
    eprintln!("simulated in {:.0?}; {} sends refused", ran.elapsed(), floor.refused());
    let invocations = floor.invocations();
    let text = floor
        .store
        .read(|metered| floor.posts.read(|posted| report::render(&load, metered, posted, &invocations)))
        .flatten()
        .ok_or("a meter's lock was poisoned")?;
    print!("{text}");
    Ok(())
}
