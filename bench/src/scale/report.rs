//! What the simulation measured, against the limits of the services it would run on: DynamoDB's
//! per-partition throughput and item size, API Gateway's account rates and frame size, Lambda's
//! concurrency. Printed as Markdown; the last line is `max_partition_utilization=X`.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::posts::Posted;
use super::sim::{Invocations, Load};
use crate::metering::store::{pattern, Largest, Metered, Partition, Units};

/// Write units a second one DynamoDB partition takes.
pub const PARTITION_WCU: f64 = 1_000.0;
/// Read units a second one DynamoDB partition takes.
pub const PARTITION_RCU: f64 = 3_000.0;
/// DynamoDB's item size limit.
pub const ITEM_LIMIT: usize = 400 * 1024;
/// The item size the design keeps under (half the limit: room to grow).
pub const ITEM_TARGET: usize = 200 * 1024;
/// API Gateway's default account throttle (requests a second, REST and WebSocket and
/// `@connections` posts together, per region).
pub const APIGW_RPS: f64 = 10_000.0;
/// API Gateway's default rate of new WebSocket connections a second (per account and region).
pub const APIGW_NEW_CONNECTIONS: f64 = 500.0;
/// API Gateway's WebSocket frame limit.
pub const FRAME_LIMIT: usize = 32 * 1024;
/// Lambda's default concurrent executions per region.
pub const LAMBDA_CONCURRENCY: f64 = 1_000.0;
/// The modelled time of one DynamoDB call from a function (milliseconds).
pub const CALL_MS: f64 = 6.0;
/// The modelled time of a function's own work per invocation (milliseconds).
pub const WORK_MS: f64 = 4.0;

/// Partitions of one entity (a session, a connection, a user, an agent...): their load is the
/// same on a smaller floor, so a scaled-down run reports it as measured. Every other partition
/// is shared by the whole floor: its writes grow with the load (×scale) and its reads are
/// counted ×scale², since a listing (the online agents, the dashboards, a queue) grows with the
/// floor as its readers do — an upper bound for the reads of fixed-size items.
const ENTITY_PREFIXES: [&str; 13] = [
    "SESSION#",
    "CONN#",
    "USER#",
    "AGENT#",
    "CUSTOMER#",
    "SUBS#",
    "USERCONN#",
    "ACTOR#",
    "CHANGE#",
    "PUSHCOAL#",
    "PUSHLOG#",
    "VISITOR#",
    "LIMIT#",
];

/// Whether a partition belongs to one entity (see [`ENTITY_PREFIXES`]).
pub fn is_entity(pk: &str) -> bool {
    ENTITY_PREFIXES.iter().any(|prefix| pk.starts_with(prefix))
}

/// One partition's load over the measured seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Hot {
    /// Table or index, and the partition key.
    pub partition: Partition,
    /// Mean units a second.
    pub mean: Units,
    /// The busiest second's units.
    pub peak: Units,
}

impl Hot {
    /// The mean's share of the partition's limit (the larger of writes and reads).
    pub fn utilization(&self) -> f64 {
        (self.mean.write / PARTITION_WCU).max(self.mean.read / PARTITION_RCU)
    }
}

/// The partitions, hottest first, scaled up from a run at 1/`scale` of the load.
pub fn hottest(metered: &Metered, seconds: u64, scale: u32) -> Vec<Hot> {
    let mut totals: HashMap<&Partition, (Units, Units)> = HashMap::new();
    for bucket in metered.seconds.values() {
        for (partition, units) in bucket {
            let (sum, peak) = totals.entry(partition).or_default();
            sum.write += units.write;
            sum.read += units.read;
            peak.write = peak.write.max(units.write);
            peak.read = peak.read.max(units.read);
        }
    }
    let n = seconds.max(1) as f64;
    let k = f64::from(scale.max(1));
    let mut hot: Vec<Hot> = totals
        .into_iter()
        .map(|(partition, (sum, peak))| {
            let (w, r) = if is_entity(&partition.1) { (1.0, 1.0) } else { (k, k * k) };
            Hot {
                partition: partition.clone(),
                mean: Units { write: sum.write / n * w, read: sum.read / n * r },
                peak: Units { write: peak.write * w, read: peak.read * r },
            }
        })
        .collect();
    hot.sort_by(|a, b| b.utilization().total_cmp(&a.utilization()).then(a.partition.cmp(&b.partition)));
    hot
}

/// The report, in Markdown, ending with `max_partition_utilization=X`.
pub fn render(load: &Load, metered: &Metered, posted: &Posted, invocations: &Invocations) -> String {
    let seconds = load.seconds.max(1);
    // Rates of the whole floor are the scaled-down run's times the scale.
    let n = seconds as f64 / f64::from(load.scale.max(1));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Scale simulation\n\n{} agents, {} conversations open, {} messages/s, {} dashboards, {} conversations/day; {} simulated seconds measured after the set-up.\n",
        load.agents * load.scale,
        load.conversations * load.scale,
        load.messages_per_second * load.scale,
        load.dashboards * load.scale,
        load.conversations_per_day * load.scale,
        load.seconds
    );
    if load.scale > 1 {
        let _ = writeln!(
            out,
            "Run at 1/{} of that load and scaled up: per-entity partitions as measured, shared ones ×{} (writes) and ×{} (reads); rates of the whole floor ×{}.\n",
            load.scale,
            load.scale,
            u64::from(load.scale).pow(2),
            load.scale
        );
    }

    let hot = hottest(metered, seconds, load.scale);
    let _ =
        writeln!(out, "## Hottest partitions (limit {PARTITION_WCU} WCU/s, {PARTITION_RCU} RCU/s each)\n");
    let _ = writeln!(
        out,
        "| where | partition key | WCU/s mean | WCU/s peak | RCU/s mean | RCU/s peak | utilization |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for h in hot.iter().take(15) {
        let _ = writeln!(
            out,
            "| {} | `{}` | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} |",
            h.partition.0,
            pattern_or_key(&h.partition.1),
            h.mean.write,
            h.peak.write,
            h.mean.read,
            h.peak.read,
            h.utilization()
        );
    }
    let (write_total, read_total) =
        hot.iter().fold((0.0, 0.0), |(w, r), h| (w + h.mean.write, r + h.mean.read));
    let _ = writeln!(
        out,
        "\nTable and indexes together: {write_total:.0} WCU/s, {read_total:.0} RCU/s (mean).\n"
    );

    let _ = writeln!(
        out,
        "## Largest items (limit {} KB, target under {} KB)\n",
        ITEM_LIMIT / 1024,
        ITEM_TARGET / 1024
    );
    let _ = writeln!(out, "| key pattern | largest | bytes | share of 400 KB |");
    let _ = writeln!(out, "|---|---|---:|---:|");
    let mut largest: Vec<(&String, &Largest)> = metered.largest.iter().collect();
    largest.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    for (pattern, item) in largest.iter().take(8) {
        let _ = writeln!(
            out,
            "| `{pattern}` | `{}` | {} | {:.3} |",
            item.key,
            item.bytes,
            item.bytes as f64 / ITEM_LIMIT as f64
        );
    }

    let posts_total: u64 = posted.seconds.values().flat_map(|c| c.values()).sum();
    let busiest_connection = posted.seconds.values().flat_map(|c| c.values()).copied().max().unwrap_or(0);
    let mut rest_rps = 0.0;
    let mut ws_rps = 0.0;
    let mut connects = 0.0;
    let mut concurrency = 0.0;
    let mut rows = Vec::new();
    let mut names: Vec<&'static str> = invocations.keys().copied().collect();
    names.sort();
    for name in names {
        let count = invocations[name] as f64;
        let calls = metered.calls.get(name).copied().unwrap_or(0) as f64;
        let rate = count / n;
        let ms = WORK_MS + CALL_MS * calls / count.max(1.0);
        concurrency += rate * ms / 1000.0;
        if name.starts_with("realtime-") {
            ws_rps += rate;
        } else if name != "routing-sweep" {
            rest_rps += rate;
        }
        if name == "realtime-connect" {
            connects += rate;
        }
        rows.push(format!(
            "| {name} | {rate:.2} | {:.1} | {ms:.0} | {:.2} |",
            calls / count.max(1.0),
            rate * ms / 1000.0
        ));
    }
    let feed_calls = metered.calls.get("changes-process").copied().unwrap_or(0) as f64 / n;
    let feed_concurrency = feed_calls * CALL_MS / 1000.0;
    concurrency += feed_concurrency;
    let post_rps = posts_total as f64 / n;

    let _ = writeln!(out, "\n## Lambda (default {LAMBDA_CONCURRENCY} concurrent executions a region)\n");
    let _ = writeln!(
        out,
        "Modelled duration: {WORK_MS} ms plus {CALL_MS} ms per DynamoDB call.\n\n| function | invocations/s | calls each | ms each | concurrency |\n|---|---:|---:|---:|---:|"
    );
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
    let _ = writeln!(
        out,
        "| changes-process (stream) | — | {feed_calls:.0} calls/s | — | {feed_concurrency:.2} |"
    );
    let _ = writeln!(
        out,
        "\nConcurrency: {concurrency:.1} of {LAMBDA_CONCURRENCY} ({:.3}).\n",
        concurrency / LAMBDA_CONCURRENCY
    );

    let apigw = rest_rps + ws_rps + post_rps;
    let _ = writeln!(out, "## API Gateway (default {APIGW_RPS} requests/s an account and region)\n");
    let _ = writeln!(out, "| what | per second | share of its quota |\n|---|---:|---:|");
    let _ = writeln!(out, "| REST requests | {rest_rps:.1} | |");
    let _ = writeln!(out, "| WebSocket frames in | {ws_rps:.1} | |");
    let _ = writeln!(out, "| `@connections` posts | {post_rps:.1} | |");
    let _ = writeln!(out, "| all together | {apigw:.1} | {:.3} |", apigw / APIGW_RPS);
    let _ = writeln!(
        out,
        "| new WebSocket connections | {connects:.2} | {:.4} |",
        connects / APIGW_NEW_CONNECTIONS
    );
    let _ = writeln!(
        out,
        "\nBusiest connection: {busiest_connection} posts in one second; largest frame {} bytes, `{}` ({:.3} of {} KB).\n",
        posted.largest_frame.0,
        posted.largest_frame.1,
        posted.largest_frame.0 as f64 / FRAME_LIMIT as f64,
        FRAME_LIMIT / 1024
    );

    let max = hot.first().map(Hot::utilization).unwrap_or(0.0);
    if let Some(first) = hot.first() {
        let _ = writeln!(out, "hottest_key={} {}", first.partition.0, first.partition.1);
    }
    let _ = writeln!(out, "max_partition_utilization={max:.3}");
    out
}

/// Ids in keys are left as they are for the keys that are hot (a session, a day), so the report
/// names the item; the pattern follows for long keys.
fn pattern_or_key(pk: &str) -> String {
    let shape = pattern(pk);
    if shape == pk || pk.len() <= 40 {
        pk.to_owned()
    } else {
        format!("{pk} ({shape})")
    }
}
