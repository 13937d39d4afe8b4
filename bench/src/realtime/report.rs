//! The Markdown report of a run: one section per measurement, checked against the budgets of
//! ARCHITECTURE.md §8 where it names one.

use std::fmt::Write as _;
use std::time::Duration;

use super::cpu::CpuSplit;
use super::dist::{ms, Dist};
use super::scenarios::{CallCounts, ConnectsResult, FanoutResult, FanoutSample, PairsResult};

/// Budget: the p99 of a fan-out to 1,000 sockets, until the last one has the message.
pub const FANOUT_P99_BUDGET: Duration = Duration::from_millis(50);

fn per_second(count: usize, wall: Duration) -> String {
    let seconds = wall.as_secs_f64();
    if seconds > 0.0 {
        format!("{:.0}", count as f64 / seconds)
    } else {
        "-".to_owned()
    }
}

fn cpu_line(cpu: &CpuSplit, unit: &str, units: usize) -> String {
    let units = units.max(1);
    let each = |d: Duration| ms(d / u32::try_from(units).unwrap_or(u32::MAX));
    format!(
        "CPU over {:.2} s of wall time: gateway {:.2} s (kernel {:.2} s), client {:.2} s (kernel {:.2} s), \
         other {:.2} s ({:.2} of the 2 cores busy); per {unit}: gateway {} ms, client {} ms, \
         gateway context switches {:.0}",
        cpu.wall.as_secs_f64(),
        cpu.gateway.total.as_secs_f64(),
        cpu.gateway.system.as_secs_f64(),
        cpu.client.total.as_secs_f64(),
        cpu.client.system.as_secs_f64(),
        cpu.other.total.as_secs_f64(),
        cpu.cores(),
        each(cpu.gateway.total),
        each(cpu.client.total),
        cpu.gateway.switches as f64 / units as f64,
    )
}

fn calls_line(calls: &CallCounts, unit: &str, units: usize) -> String {
    let listed: Vec<String> = calls
        .iter()
        .map(|(name, count)| format!("`{name}` {:.2}", *count as f64 / units.max(1) as f64))
        .collect();
    format!(
        "Gateway calls per {unit} (store calls by operation and key prefix, and posts): {}",
        listed.join(", ")
    )
}

fn row(out: &mut String, label: &str, dist: &Dist) {
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {} | {} |",
        ms(dist.p50),
        ms(dist.p90),
        ms(dist.p99),
        ms(dist.max),
        ms(dist.mean)
    );
}

/// The connect and disconnect section.
pub fn connects(result: &ConnectsResult) -> String {
    let config = result.config;
    let mut out = String::new();
    let _ = writeln!(out, "### Connects and disconnects\n");
    let _ = writeln!(
        out,
        "{} sockets of distinct customers, {} at a time, after {} warm-up connects; each connect runs the \
         authorizer and `$connect` before the upgrade; each close is answered before `$disconnect` runs.\n",
        config.sockets, config.concurrency, config.warmup
    );
    let _ = writeln!(
        out,
        "| step | wall (s) | per second | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | mean (ms) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let line = |out: &mut String, label: &str, wall: Duration, dist: Option<&Dist>| {
        let cells = dist.map_or_else(
            || "- | - | - | - | -".to_owned(),
            |d| format!("{} | {} | {} | {} | {}", ms(d.p50), ms(d.p90), ms(d.p99), ms(d.max), ms(d.mean)),
        );
        let _ = writeln!(
            out,
            "| {label} | {:.3} | {} | {cells} |",
            wall.as_secs_f64(),
            per_second(config.sockets, wall)
        );
    };
    line(&mut out, "connect (until the socket is open)", result.connect_wall, Some(&result.connects));
    line(
        &mut out,
        "close (until the client's close handshake is done)",
        result.close_wall,
        Some(&result.closes),
    );
    line(
        &mut out,
        "disconnect (until every close is done and the gateway's last `$disconnect` store call has ended)",
        result.disconnect_wall,
        None,
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "- Connects: {}.", cpu_line(&result.connect_cpu, "connect", config.sockets));
    let _ = writeln!(out, "- {}.", calls_line(&result.connect_calls, "connect", config.sockets));
    let _ =
        writeln!(out, "- Disconnects: {}.", cpu_line(&result.disconnect_cpu, "disconnect", config.sockets));
    let _ = writeln!(out, "- {}.", calls_line(&result.disconnect_calls, "disconnect", config.sockets));
    out
}

fn dist_of(samples: &[FanoutSample], field: impl Fn(&FanoutSample) -> Duration) -> Dist {
    Dist::of(samples.iter().map(field))
}

/// The fan-out section.
pub fn fanout(result: &FanoutResult) -> String {
    let config = result.config;
    let samples = &result.samples;
    let mut out = String::new();
    let last = dist_of(samples, |s| s.last);
    let _ = writeln!(out, "### Fan-out to {} sockets\n", config.sockets);
    let _ = writeln!(
        out,
        "One session; {} sockets subscribed to it (the customer, the agent, {} admins). The customer sends {} \
         messages one after the other (after {} warm-up messages), each once every socket has the previous one. \
         Latency: from writing the frame to the moment the last of the {} sockets has its `message.created` \
         (the sender's own reply counts as its copy).\n",
        config.sockets,
        config.sockets.saturating_sub(2),
        config.messages,
        config.warmup,
        config.sockets
    );
    let verdict = if last.p99 <= FANOUT_P99_BUDGET {
        format!("ok (p99 {} ms ≤ {} ms)", ms(last.p99), ms(FANOUT_P99_BUDGET))
    } else {
        format!("**over**: p99 {} ms > {} ms", ms(last.p99), ms(FANOUT_P99_BUDGET))
    };
    let _ = writeln!(
        out,
        "| messages | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | mean (ms) | budget p99 ≤ 50 ms |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {verdict} |\n",
        last.count,
        ms(last.p50),
        ms(last.p90),
        ms(last.p99),
        ms(last.max),
        ms(last.mean)
    );
    let queries = samples.first().map_or(0, |s| s.queries);
    let posts = samples.first().map_or(0, |s| s.post_count);
    let _ = writeln!(out, "Where each message's time went (over the {} messages):\n", samples.len());
    let _ = writeln!(out, "| stage | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | mean (ms) |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    row(&mut out, "send → last socket has it (the figure above)", &last);
    row(&mut out, "send → first other socket has it", &dist_of(samples, |s| s.first));
    row(&mut out, "send → half the other sockets have it", &dist_of(samples, |s| s.median));
    row(&mut out, "send → the sender has its reply", &dist_of(samples, |s| s.reply));
    row(&mut out, "send → the gateway's store write starts", &dist_of(samples, |s| s.before_write));
    row(&mut out, "store write (one transaction)", &dist_of(samples, |s| s.write));
    row(
        &mut out,
        &format!("write done → first post (includes the subscriptions Query, {queries} page(s))"),
        &dist_of(samples, |s| s.write_to_posts),
    );
    row(&mut out, "  of which the subscriptions Query", &dist_of(samples, |s| s.query));
    row(
        &mut out,
        &format!("posts: first start → last end ({posts} posts, at most 64 in flight)"),
        &dist_of(samples, |s| s.posts),
    );
    row(&mut out, "  one post (each message's median)", &dist_of(samples, |s| s.post_p50));
    row(&mut out, "  one post (each message's longest)", &dist_of(samples, |s| s.post_max));
    row(&mut out, "last post done → the sender has its reply", &dist_of(samples, |s| s.posts_to_reply));
    row(&mut out, "last post done → last socket has it", &dist_of(samples, |s| s.posts_to_last));
    let _ = writeln!(out);
    let _ = writeln!(out, "- {}.", cpu_line(&result.cpu, "message", samples.len()));
    if posts > 0 {
        let per_post = result.cpu.gateway.total.as_secs_f64() * 1e6 / (samples.len() * posts).max(1) as f64;
        let _ = writeln!(
            out,
            "- Gateway CPU per post (all of a message's gateway CPU over its posts): {per_post:.1} µs."
        );
    }
    let _ = writeln!(out, "- {}.", calls_line(&result.calls, "message", samples.len()));
    out
}

/// A pairs section (`title` names it).
pub fn pairs(result: &PairsResult, title: &str) -> String {
    let config = result.config;
    let mut out = String::new();
    let sockets = 2 * config.pairs;
    let _ = writeln!(out, "### {title}\n");
    let _ = writeln!(
        out,
        "{} sessions, each with its customer and its agent connected and subscribed ({sockets} sockets). Every \
         socket sends {} messages, each as soon as the reply to the previous one came back (after {} warm-up \
         messages each, checked the same way). A delivery is a `message.created` received by the counterpart; \
         every socket checks that it gets each of its counterpart's messages once and in order, a reply for each \
         of its own naming the counterpart in `delivered_to` (the `delivered` receipt).\n",
        config.pairs, config.messages, config.warmup
    );
    let _ = writeln!(
        out,
        "| sockets | messages each | deliveries | elapsed (s) | deliveries/s | messages sent/s | send → reply p50 / p99 (ms) | send → delivery p50 / p99 (ms) | check |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let _ = writeln!(
        out,
        "| {sockets} | {} | {} | {:.3} | {} | {} | {} / {} | {} / {} | ok: {} delivered, none lost, duplicated or reordered; {} replies, {} receipts |",
        config.messages,
        result.deliveries,
        result.wall.as_secs_f64(),
        per_second(result.deliveries, result.wall),
        per_second(result.replies, result.wall),
        ms(result.send_to_reply.p50),
        ms(result.send_to_reply.p99),
        ms(result.send_to_delivery.p50),
        ms(result.send_to_delivery.p99),
        result.deliveries,
        result.replies,
        result.receipts,
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "- {}.", cpu_line(&result.cpu, "message", result.replies));
    let _ = writeln!(out, "- {}.", calls_line(&result.calls, "message", result.replies));
    let _ = writeln!(
        out,
        "- The store (one SQLite connection, one call at a time) had a call in flight {:.0}% of the time. \
         Per call, queueing included, p50 / p99 / mean (ms): write {} / {} / {}, subscriptions Query {} / {} / {}, \
         post {} / {} / {}.",
        100.0 * result.store_busy.as_secs_f64() / result.wall.as_secs_f64().max(f64::EPSILON),
        ms(result.writes.p50),
        ms(result.writes.p99),
        ms(result.writes.mean),
        ms(result.queries.p50),
        ms(result.queries.p99),
        ms(result.queries.mean),
        ms(result.posts.p50),
        ms(result.posts.p99),
        ms(result.posts.mean),
    );
    out
}

/// The fan-out's samples as CSV, one line per message, times in microseconds.
pub fn fanout_csv(result: &FanoutResult) -> String {
    let mut out = String::from(
        "message,at_us,last_us,first_us,median_us,reply_us,before_write_us,write_us,query_us,queries,\
         write_to_posts_us,posts_us,post_count,post_failures,post_p50_us,post_max_us,posts_to_reply_us,\
         posts_to_last_us\n",
    );
    let us = |d: Duration| d.as_micros();
    for (index, s) in result.samples.iter().enumerate() {
        let _ = writeln!(
            out,
            "{index},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            us(s.at),
            us(s.last),
            us(s.first),
            us(s.median),
            us(s.reply),
            us(s.before_write),
            us(s.write),
            us(s.query),
            s.queries,
            us(s.write_to_posts),
            us(s.posts),
            s.post_count,
            s.post_failures,
            us(s.post_p50),
            us(s.post_max),
            us(s.posts_to_reply),
            us(s.posts_to_last),
        );
    }
    out
}
