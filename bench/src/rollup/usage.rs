//! What this process has used: CPU time (user + system, every thread, from `getrusage`, to the
//! microsecond) and peak resident memory (`VmHWM` from `/proc/self/status`). Linux only.

use std::time::Duration;

/// CPU time used by this process so far, all its threads (those that have ended too).
pub fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the `rusage` it is given, which is zeroed plain data owned
    // by this frame; `RUSAGE_SELF` is a valid `who`.
    let (status, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage), usage)
    };
    if status != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs()) + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The peak resident memory of this process so far, in KiB; 0 when /proc cannot tell.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status").map_or(0, |status| parse_peak_rss(&status))
}

/// `VmHWM` from the text of a `/proc/<pid>/status` file, in KiB.
fn parse_peak_rss(status: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_read_from_vm_hwm() {
        let status = "Name:\trollup\nVmPeak:\t  900 kB\nVmHWM:\t    5120 kB\nVmRSS:\t 4000 kB\n";

        assert_eq!(parse_peak_rss(status), 5120);
    }
}
