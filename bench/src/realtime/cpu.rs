//! CPU time of the benchmark's threads, from `/proc/self/task/*/stat`, split by who they work
//! for: the gateway (its runtime's threads, named `gateway`, and its SQLite store's thread),
//! the client's runtime (`client`), and the rest (the main thread). Kernel time is counted
//! apart: on loopback, the kernel's TCP work for both ends of a connection is mostly charged to
//! the thread that writes. Context switches (from `status`) count how often threads slept and
//! were woken.
//!
//! The kernel counts in clock ticks (10 ms), so figures over phases shorter than a few seconds
//! are rough. Linux only: elsewhere every figure is zero.

use std::time::{Duration, Instant};

use switchboard_shared::store::sqlite;

/// The name prefix of the gateway runtime's threads.
pub const GATEWAY_THREADS: &str = "gateway";
/// The name prefix of the client runtime's threads.
pub const CLIENT_THREADS: &str = "client";

/// Linux's `USER_HZ`: the unit of `utime` and `stime`, 100 on every architecture Linux runs on.
const TICKS_PER_SECOND: u64 = 100;

/// What a group of threads used so far.
#[derive(Debug, Clone, Copy, Default)]
struct Ticks {
    user: u64,
    system: u64,
    switches: u64,
}

/// CPU used so far, by owner.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    at: Instant,
    gateway: Ticks,
    client: Ticks,
    other: Ticks,
}

/// What a group of threads used between two snapshots.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User and kernel time.
    pub total: Duration,
    /// Kernel time.
    pub system: Duration,
    /// Context switches, voluntary and not.
    pub switches: u64,
}

/// CPU used between two snapshots, by owner, and the wall time between them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSplit {
    /// Wall time.
    pub wall: Duration,
    /// The gateway's threads.
    pub gateway: Usage,
    /// The client's threads.
    pub client: Usage,
    /// Any other thread of the process.
    pub other: Usage,
}

impl CpuSplit {
    /// CPU time over wall time, in cores (2.0 = both cores of a 2-core machine, busy).
    pub fn cores(&self) -> f64 {
        let wall = self.wall.as_secs_f64();
        if wall > 0.0 {
            (self.gateway.total + self.client.total + self.other.total).as_secs_f64() / wall
        } else {
            0.0
        }
    }
}

/// The name, user ticks and system ticks of one thread, from the text of its `stat` file.
fn parse_stat(text: &str) -> Option<(&str, u64, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?;
    // After the name: state (field 3), …, utime (field 14), stime (field 15).
    let mut fields = text.get(close + 1..)?.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((name, user, system))
}

/// Voluntary plus involuntary context switches, from the text of a thread's `status` file.
fn parse_switches(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
        .sum()
}

/// The CPU used by every thread of this process so far.
pub fn snapshot() -> CpuSnapshot {
    let mut snapshot = CpuSnapshot {
        at: Instant::now(),
        gateway: Ticks::default(),
        client: Ticks::default(),
        other: Ticks::default(),
    };
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return snapshot };
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let Some((name, user, system)) = parse_stat(&text) else { continue };
        let owner = if name.starts_with(GATEWAY_THREADS) || name.starts_with(sqlite::THREAD_NAME) {
            &mut snapshot.gateway
        } else if name.starts_with(CLIENT_THREADS) {
            &mut snapshot.client
        } else {
            &mut snapshot.other
        };
        owner.user += user;
        owner.system += system;
        owner.switches +=
            std::fs::read_to_string(task.path().join("status")).map_or(0, |s| parse_switches(&s));
    }
    snapshot
}

fn ticks(count: u64) -> Duration {
    Duration::from_millis(count * 1000 / TICKS_PER_SECOND)
}

fn usage(now: Ticks, earlier: Ticks) -> Usage {
    let system = now.system.saturating_sub(earlier.system);
    Usage {
        total: ticks(now.user.saturating_sub(earlier.user) + system),
        system: ticks(system),
        switches: now.switches.saturating_sub(earlier.switches),
    }
}

impl CpuSnapshot {
    /// What was used from `earlier` to this snapshot.
    pub fn since(&self, earlier: &CpuSnapshot) -> CpuSplit {
        CpuSplit {
            wall: self.at.saturating_duration_since(earlier.at),
            gateway: usage(self.gateway, earlier.gateway),
            client: usage(self.client, earlier.client),
            other: usage(self.other, earlier.other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_name_and_user_and_system_ticks() {
        let line = "4242 (gateway (1)) S 1 2 3 4 5 6 7 8 9 10 120 30 0 0 20 0 9 0 100 0 0";

        assert_eq!(parse_stat(line), Some(("gateway (1)", 120, 30)));
    }

    #[test]
    fn context_switches_add_voluntary_and_involuntary_ones() {
        let status = "Name:\tgateway\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n";

        assert_eq!(parse_switches(status), 157);
    }
}
