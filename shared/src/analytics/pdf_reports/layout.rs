//! The daily report's content: a built day of the rollup (`analytics::rollup::DayRollup`: the metric
//! engine's figures, messages by role, 24 hours) as the labelled values, agent rows and chart
//! series the PDF shows. Pure: the PDF only lays this out, and the tests read the same words
//! back from it.

use crate::analytics::durations::DurationReport;
use crate::analytics::messages::RoleCounts;
use crate::analytics::rollup::{DayRollup, HourRollup};
use crate::analytics::summaries::AgentReport;

/// What stands for a figure with nothing to measure (`null` in the API).
pub const NO_FIGURE: &str = "\u{2014}";

/// How many agents the report lists.
pub const TOP_AGENTS: usize = 8;

/// A titled group of labelled values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Heading.
    pub title: &'static str,
    /// Label and value, in order.
    pub rows: Vec<(String, String)>,
}

/// One line of the agents table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    /// The agent's id.
    pub agent_id: String,
    /// Sessions received (assigned and transferred in).
    pub handled: String,
    /// Episodes closed while theirs.
    pub closed: String,
    /// First responses credited to them.
    pub first_responses: String,
    /// Their median first response.
    pub first_response_median: String,
    /// Their median share of handle time.
    pub handle_median: String,
}

/// The headings of the agents table, matching [`AgentRow`]'s fields.
pub const AGENT_COLUMNS: [&str; 6] =
    ["Agent", "Handled", "Closed", "First responses", "First response median", "Handle median"];

/// `35.0 s`; a dash when there is nothing to measure.
pub fn seconds(value: Option<f64>) -> String {
    value.map_or_else(|| NO_FIGURE.to_owned(), |s| format!("{s:.1} s"))
}

/// A ratio as `80.0 %`; a dash when undefined.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| NO_FIGURE.to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// A CSAT average as `4.25 / 5`; a dash without ratings.
pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| NO_FIGURE.to_owned(), |s| format!("{s:.2} / 5"))
}

fn duration_rows(rows: &mut Vec<(String, String)>, name: &str, report: &DurationReport) {
    rows.push((format!("{name} average"), seconds(report.average_seconds)));
    rows.push((format!("{name} median"), seconds(report.median_seconds)));
    rows.push((format!("{name} p90"), seconds(report.p90_seconds)));
}

/// The report's title: `Switchboard daily report — 2026-01-05`.
pub fn title(day: &DayRollup) -> String {
    format!("Switchboard daily report \u{2014} {}", crate::reports::format_day(day.day))
}

/// The headline figures: volume, response times, quality.
pub fn sections(day: &DayRollup) -> [Section; 3] {
    let f = &day.figures;
    let volume = vec![
        ("Sessions created".to_owned(), f.sessions_created.to_string()),
        ("Sessions closed".to_owned(), f.sessions_closed.to_string()),
        ("Sessions reopened".to_owned(), f.sessions_reopened.to_string()),
        ("Transfers".to_owned(), f.transfers.to_string()),
        ("Unanswered waits".to_owned(), f.unanswered.to_string()),
        ("Abandoned waits".to_owned(), f.abandoned.count.to_string()),
        ("Messages from customers".to_owned(), day.messages.customer.to_string()),
        ("Messages from agents".to_owned(), day.messages.agent.to_string()),
        ("Messages from admins".to_owned(), day.messages.admin.to_string()),
    ];
    let mut times = Vec::new();
    duration_rows(&mut times, "First response", &f.first_response);
    duration_rows(&mut times, "Handle time", &f.handle);
    duration_rows(&mut times, "Wait", &f.wait);
    let distribution = f.csat.distribution.map(|n| n.to_string()).join("/");
    let quality = vec![
        ("Resolution rate".to_owned(), percent(f.resolution.rate)),
        ("Resolved".to_owned(), f.resolution.resolved.to_string()),
        ("Reopened within 7 days".to_owned(), f.resolution.reopened.to_string()),
        ("Pending (under 7 days)".to_owned(), f.resolution.pending.to_string()),
        ("CSAT average".to_owned(), score(f.csat.average)),
        ("CSAT ratings".to_owned(), f.csat.rated.to_string()),
        ("CSAT response rate".to_owned(), percent(f.csat.response_rate)),
        ("Scores 1 to 5".to_owned(), distribution),
    ];
    [
        Section { title: "Volume", rows: volume },
        Section { title: "Response times", rows: times },
        Section { title: "Quality", rows: quality },
    ]
}

/// The agents who handled the most sessions (ties: by id), at most [`TOP_AGENTS`].
pub fn top_agents(day: &DayRollup) -> Vec<AgentRow> {
    let mut agents: Vec<&AgentReport> = day.figures.agents.iter().collect();
    agents.sort_by(|a, b| b.handled.cmp(&a.handled).then_with(|| a.agent_id.cmp(&b.agent_id)));
    agents
        .into_iter()
        .take(TOP_AGENTS)
        .map(|agent| AgentRow {
            agent_id: agent.agent_id.to_string(),
            handled: agent.handled.to_string(),
            closed: agent.closed.to_string(),
            first_responses: agent.first_responses.to_string(),
            first_response_median: seconds(agent.first_response.median_seconds),
            handle_median: seconds(agent.handle.median_seconds),
        })
        .collect()
}

/// One UTC hour's bars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourBars {
    /// Sessions created.
    pub sessions_created: u64,
    /// Sessions closed.
    pub sessions_closed: u64,
    /// Messages by the sender's role.
    pub messages: RoleCounts,
}

/// Hours 0 to 23 in order (an hour the rollup did not list counts as quiet).
pub fn hourly(day: &DayRollup) -> [HourBars; 24] {
    let mut hours = [HourBars::default(); 24];
    for hour in &day.hours {
        if let Some(bars) = hours.get_mut(usize::from(hour.hour.hour())) {
            *bars = bars_of(hour);
        }
    }
    hours
}

fn bars_of(hour: &HourRollup) -> HourBars {
    HourBars {
        sessions_created: hour.sessions_created,
        sessions_closed: hour.sessions_closed,
        messages: hour.messages,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::analytics::summaries::{CsatReport, MetricsReport, ResolutionReport};
    use crate::domain::UserId;

    fn durations(count: u64, average: f64, median: f64, p90: f64) -> DurationReport {
        DurationReport {
            count,
            average_seconds: Some(average),
            median_seconds: Some(median),
            p90_seconds: Some(p90),
        }
    }

    fn agent(id: &str, handled: u64) -> AgentReport {
        AgentReport {
            agent_id: UserId::parse(id).unwrap(),
            handled,
            assigned: handled,
            transfers_in: 0,
            transfers_out: 0,
            first_responses: handled,
            first_response: durations(handled, 30.0, 30.0, 30.0),
            handle: DurationReport::none(),
            closed: 0,
        }
    }

    fn hour(hour: i64, created: u64, closed: u64, messages: RoleCounts) -> HourRollup {
        HourRollup {
            hour: datetime!(2026-01-05 00:00 UTC) + time::Duration::hours(hour),
            sessions_created: created,
            sessions_closed: closed,
            first_response: DurationReport::none(),
            messages,
        }
    }

    /// A built day with known figures (and a few without any).
    pub(crate) fn known_day() -> DayRollup {
        let figures = MetricsReport {
            from: datetime!(2026-01-05 00:00 UTC),
            to: datetime!(2026-01-06 00:00 UTC),
            as_of: datetime!(2026-01-06 00:10 UTC),
            sessions_created: 12,
            sessions_reopened: 1,
            sessions_closed: 10,
            wait: durations(11, 42.5, 40.0, 90.0),
            abandoned: durations(1, 300.0, 300.0, 300.0),
            first_response: durations(5, 36.0, 35.0, 50.0),
            unanswered: 2,
            handle: durations(10, 620.25, 600.0, 1200.0),
            resolution: ResolutionReport { resolved: 0, reopened: 1, pending: 9, rate: Some(0.0) },
            csat: CsatReport { average: None, distribution: [0; 5], rated: 0, response_rate: Some(0.0) },
            transfers: 3,
            agents: vec![agent("agent-bob", 4), agent("agent-cy", 6), agent("agent-ann", 4)],
        };
        DayRollup {
            day: date!(2026 - 01 - 05),
            built_at: datetime!(2026-01-06 00:10 UTC),
            figures,
            messages: RoleCounts { customer: 30, agent: 30, admin: 1 },
            hours: vec![
                hour(9, 7, 4, RoleCounts { customer: 20, agent: 18, admin: 1 }),
                hour(14, 5, 6, RoleCounts { customer: 10, agent: 12, admin: 0 }),
            ],
        }
    }

    fn value<'a>(sections: &'a [Section], label: &str) -> &'a str {
        sections
            .iter()
            .flat_map(|s| &s.rows)
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no row {label}"))
    }

    #[test]
    fn figures_read_in_seconds_percent_and_points_and_missing_ones_as_a_dash() {
        let sections = sections(&known_day());

        assert_eq!(value(&sections, "First response median"), "35.0 s");
        assert_eq!(value(&sections, "Handle time average"), "620.2 s");
        assert_eq!(value(&sections, "Resolution rate"), "0.0 %");
        assert_eq!(value(&sections, "CSAT average"), "\u{2014}");
        assert_eq!(value(&sections, "Scores 1 to 5"), "0/0/0/0/0");
        assert_eq!(value(&sections, "Messages from admins"), "1");
        assert_eq!(score(Some(4.25)), "4.25 / 5");
        assert_eq!(percent(Some(0.8333)), "83.3 %");
    }

    #[test]
    fn agents_are_listed_by_sessions_handled_then_by_id() {
        let rows = top_agents(&known_day());

        let ids: Vec<&str> = rows.iter().map(|r| r.agent_id.as_str()).collect();
        assert_eq!(ids, ["agent-cy", "agent-ann", "agent-bob"]);
        assert_eq!(rows[0].handle_median, "\u{2014}");
    }

    #[test]
    fn the_hourly_series_has_all_24_hours_in_order_quiet_ones_empty() {
        let hours = hourly(&known_day());

        assert_eq!(hours[9].sessions_created, 7);
        assert_eq!(hours[14].messages.agent, 12);
        assert_eq!(hours[10], HourBars::default());
    }
}
