//! The scale simulator on a small floor: no write that every message makes lands on one shared
//! partition — the active sessions' index entries are spread over several partitions, and the
//! day counters take a write per batch of the change feed, not per message.

use std::collections::HashMap;

use switchboard_bench::metering::store::Units;
use switchboard_bench::scale::sim::{Floor, Load};

const LOAD: Load = Load {
    agents: 8,
    conversations: 40,
    messages_per_second: 40,
    dashboards: 2,
    conversations_per_day: 86_400,
    seconds: 3,
    concurrency: 8,
    scale: 1,
};

/// The write units of each partition (of `index`) whose key starts with `prefix`.
fn writes_by_partition(floor: &Floor, index: &str, prefix: &str) -> HashMap<String, f64> {
    floor
        .store
        .read(|metered| {
            let mut by_key: HashMap<String, f64> = HashMap::new();
            for bucket in metered.seconds.values() {
                for ((name, pk), Units { write, .. }) in bucket {
                    if *name == index && pk.starts_with(prefix) {
                        *by_key.entry(pk.clone()).or_default() += write;
                    }
                }
            }
            by_key
        })
        .expect("the meter")
}

fn largest_share(writes: &HashMap<String, f64>) -> f64 {
    let total: f64 = writes.values().sum();
    writes.values().copied().fold(0.0, f64::max) / total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_active_queue_spreads_its_writes_and_the_day_counters_take_fewer_than_the_messages() {
    // Arrange
    let start = time::macros::datetime!(2026-12-07 09:00 UTC);
    let mut floor = Floor::open(LOAD, start).await.expect("a floor");
    floor.set_up().await.expect("the floor set up");

    // Act
    floor.run().await.expect("the simulated seconds");

    // Assert: a message took 2 write units of `STATS#DAY` when each was counted on its own (a
    // transaction's update); counted per batch they share one.
    let sent = floor.invocations().get("realtime-send-message").copied().unwrap_or(0) - floor.refused();
    let counters: f64 = writes_by_partition(&floor, "table", "STATS#DAY").values().sum();
    assert!(sent >= 100, "the floor sent {sent} messages");
    assert!(counters < sent as f64, "day counters: {counters} write units for {sent} messages");
    let active = writes_by_partition(&floor, "gsi3", "QUEUE#active");
    assert!(active.len() > 1 && largest_share(&active) <= 0.5, "active sessions: {active:?}");
}
