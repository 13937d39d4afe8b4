//! The Markdown report of a cold-start run, checked against the budgets of ARCHITECTURE.md §8.

use std::fmt::Write as _;

use crate::emulator::{Outcome, Sample};
use crate::stats::Summary;

/// Budget: a function's median init at most this many times the hello-world reference's.
pub const INIT_RATIO_BUDGET: f64 = 1.3;
/// Budget: warm peak RSS, in MiB (Lambda's "MB").
pub const PEAK_RSS_BUDGET_MIB: f64 = 16.0;

/// The samples of one binary.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The binary's name.
    pub name: String,
    /// One sample per start.
    pub samples: Vec<Sample>,
}

impl Measured {
    fn init_ms(&self) -> Option<Summary> {
        Summary::of(self.samples.iter().map(|s| s.init.as_secs_f64() * 1e3))
    }

    fn first_invocation_ms(&self) -> Option<Summary> {
        Summary::of(self.samples.iter().map(|s| s.first_invocation.as_secs_f64() * 1e3))
    }

    fn peak_rss_mib(&self) -> Option<Summary> {
        Summary::of(self.samples.iter().map(|s| s.peak_rss_kib as f64 / 1024.0))
    }

    /// The answer every start gave, or "varies".
    fn answer(&self) -> String {
        let Some(first) = self.samples.first() else { return "-".to_owned() };
        let same = self.samples.iter().all(|s| describe(s) == describe(first));
        if same {
            describe(first)
        } else {
            "varies".to_owned()
        }
    }
}

fn describe(sample: &Sample) -> String {
    let answer = match &sample.outcome {
        Outcome::Response { status: Some(status), .. } => format!("HTTP {status}"),
        Outcome::Response { status: None, body } => format!("response, {} B", body.len()),
        Outcome::Error { error_type } => format!("error {error_type}"),
    };
    match sample.aws_calls {
        0 => answer,
        1 => format!("{answer} (1 AWS call)"),
        n => format!("{answer} ({n} AWS calls)"),
    }
}

/// The report: one row per binary, the reference first, then what is over budget.
pub fn markdown(reference: &Measured, functions: &[Measured]) -> String {
    let runs = reference.samples.len();
    let reference_init = reference.init_ms().map_or(f64::NAN, |s| s.median);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cold start: exec → first `GET /runtime/invocation/next` (init done, clients built), {runs} starts \
         per binary, interleaved; peak RSS (`VmHWM`) after answering one event.\n"
    );
    out.push_str(
        "| binary | init median (ms) | init p90 (ms) | × hello-world | 1st invocation median (ms) \
         | peak RSS median (MiB) | answer | budgets |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---|---|\n");
    let mut over_budget = Vec::new();
    for (measured, is_reference) in
        std::iter::once((reference, true)).chain(functions.iter().map(|f| (f, false)))
    {
        let init = measured.init_ms();
        let ratio = init.map_or(f64::NAN, |s| s.median / reference_init);
        let rss = measured.peak_rss_mib();
        let mut misses = Vec::new();
        if !is_reference && ratio > INIT_RATIO_BUDGET {
            misses.push(format!("init {ratio:.2}× > {INIT_RATIO_BUDGET}×"));
        }
        if let Some(rss) = rss.filter(|rss| rss.median > PEAK_RSS_BUDGET_MIB) {
            misses.push(format!("RSS {:.1} MiB > {PEAK_RSS_BUDGET_MIB}", rss.median));
        }
        let verdict = match (is_reference, misses.is_empty()) {
            (true, true) => "reference".to_owned(),
            (false, true) => "ok".to_owned(),
            (_, false) => format!("**over**: {}", misses.join(", ")),
        };
        if !misses.is_empty() {
            over_budget.push(format!("{}: {}", measured.name, misses.join(", ")));
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            measured.name,
            figure(init.map(|s| s.median), 2),
            figure(init.map(|s| s.p90), 2),
            if is_reference { "1.00".to_owned() } else { format!("{ratio:.2}") },
            figure(measured.first_invocation_ms().map(|s| s.median), 2),
            figure(rss.map(|s| s.median), 1),
            measured.answer(),
            verdict,
        );
    }
    let _ = writeln!(
        out,
        "\nBudgets: init ≤ {INIT_RATIO_BUDGET}× the hello-world median, warm peak RSS ≤ {PEAK_RSS_BUDGET_MIB} MiB."
    );
    if over_budget.is_empty() {
        out.push_str("Over budget: none.\n");
    } else {
        let _ = writeln!(out, "Over budget: {}.", over_budget.join("; "));
    }
    out
}

fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn measured(name: &str, init_ms: u64, rss_kib: u64, status: Option<u16>) -> Measured {
        let sample = Sample {
            init: Duration::from_millis(init_ms),
            first_invocation: Duration::from_millis(1),
            peak_rss_kib: rss_kib,
            aws_calls: 0,
            outcome: Outcome::Response { status, body: "{}".to_owned() },
        };
        Measured { name: name.to_owned(), samples: vec![sample; 3] }
    }

    #[test]
    fn function_within_budget_is_ok() {
        let report = markdown(&measured("hello", 10, 4096, None), &[measured("chat-x", 12, 8192, Some(500))]);

        assert!(
            report.contains("| `chat-x` | 12.00 | 12.00 | 1.20 | 1.00 | 8.0 | HTTP 500 | ok |"),
            "{report}"
        );
        assert!(report.contains("Over budget: none."), "{report}");
    }

    #[test]
    fn slow_and_fat_function_is_over_both_budgets() {
        let report = markdown(&measured("hello", 10, 4096, None), &[measured("chat-x", 14, 20 * 1024, None)]);

        assert!(report.contains("**over**: init 1.40× > 1.3×, RSS 20.0 MiB > 16"), "{report}");
        assert!(report.contains("Over budget: chat-x: init 1.40×"), "{report}");
    }
}
