//! The daily report's content: a UTC day's figures (the metric engine's report and an hourly
//! series) as the labelled values, agent rows and chart series the PDF shows. Pure: the PDF
//! only lays this out, and the tests read the same words back from it.

use time::{Date, OffsetDateTime};

use crate::domain::metrics::{AgentReport, DurationReport, MetricsReport};
use crate::ops::insights::RoleCounts;

/// What stands for a figure with nothing to measure (`null` in the API).
pub const NO_FIGURE: &str = "\u{2014}";

/// How many agents the report lists.
pub const TOP_AGENTS: usize = 8;

/// One UTC hour of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourFigures {
    /// 0 to 23.
    pub hour: u8,
    /// Sessions created in the hour.
    pub sessions_created: u64,
    /// Sessions closed in the hour.
    pub sessions_closed: u64,
    /// Messages sent in the hour, by the sender's role.
    pub messages: RoleCounts,
}

/// Everything the daily report of one UTC day shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyReport {
    /// The UTC day.
    pub day: Date,
    /// When its figures were computed (resolution and CSAT may still change for 7 days).
    pub built_at: OffsetDateTime,
    /// The day's metrics (`docs/METRICS.md`).
    pub figures: MetricsReport,
    /// Hours 0 to 23 (an hour missing from the series counts as quiet).
    pub hours: Vec<HourFigures>,
}

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

impl DailyReport {
    /// The title of the report.
    pub fn title(&self) -> String {
        format!("Switchboard daily report \u{2014} {}", super::format_day(self.day))
    }

    /// Messages of the day, by role (the hours added up).
    pub fn messages(&self) -> RoleCounts {
        self.hours.iter().fold(RoleCounts::default(), |sum, hour| RoleCounts {
            customer: sum.customer + hour.messages.customer,
            agent: sum.agent + hour.messages.agent,
            admin: sum.admin + hour.messages.admin,
        })
    }

    /// The headline figures: volume, response times, quality.
    pub fn sections(&self) -> [Section; 3] {
        let f = &self.figures;
        let messages = self.messages();
        let volume = vec![
            ("Sessions created".to_owned(), f.sessions_created.to_string()),
            ("Sessions closed".to_owned(), f.sessions_closed.to_string()),
            ("Sessions reopened".to_owned(), f.sessions_reopened.to_string()),
            ("Transfers".to_owned(), f.transfers.to_string()),
            ("Unanswered waits".to_owned(), f.unanswered.to_string()),
            ("Abandoned waits".to_owned(), f.abandoned.count.to_string()),
            ("Messages from customers".to_owned(), messages.customer.to_string()),
            ("Messages from agents".to_owned(), messages.agent.to_string()),
            ("Messages from admins".to_owned(), messages.admin.to_string()),
        ];
        let mut times = Vec::new();
        duration_rows(&mut times, "First response", &f.first_response);
        duration_rows(&mut times, "Handle time", &f.handle);
        duration_rows(&mut times, "Wait", &f.wait);
        let distribution = f.csat.distribution.map(|n| n.to_string()).join(" / ");
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
    pub fn top_agents(&self) -> Vec<AgentRow> {
        let mut agents: Vec<&AgentReport> = self.figures.agents.iter().collect();
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

    /// The 24 hours of the day in order, quiet ones filled in.
    pub fn hourly(&self) -> Vec<HourFigures> {
        (0..24u8)
            .map(|hour| {
                self.hours.iter().find(|h| h.hour == hour).cloned().unwrap_or(HourFigures {
                    hour,
                    sessions_created: 0,
                    sessions_closed: 0,
                    messages: RoleCounts::default(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::domain::metrics::{CsatReport, ResolutionReport};
    use crate::domain::UserId;

    fn durations(count: u64, average: f64, median: f64, p90: f64) -> DurationReport {
        DurationReport {
            count,
            average_seconds: Some(average),
            median_seconds: Some(median),
            p90_seconds: Some(p90),
        }
    }

    fn none() -> DurationReport {
        DurationReport { count: 0, average_seconds: None, median_seconds: None, p90_seconds: None }
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
            handle: none(),
            closed: 0,
        }
    }

    /// A day with known figures (and a few without any).
    pub(crate) fn known_day() -> DailyReport {
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
        let hours = vec![
            HourFigures {
                hour: 9,
                sessions_created: 7,
                sessions_closed: 4,
                messages: RoleCounts { customer: 20, agent: 18, admin: 1 },
            },
            HourFigures {
                hour: 14,
                sessions_created: 5,
                sessions_closed: 6,
                messages: RoleCounts { customer: 10, agent: 12, admin: 0 },
            },
        ];
        DailyReport { day: date!(2026 - 01 - 05), built_at: datetime!(2026-01-06 00:10 UTC), figures, hours }
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
        let sections = known_day().sections();

        assert_eq!(value(&sections, "First response median"), "35.0 s");
        assert_eq!(value(&sections, "Handle time average"), "620.2 s");
        assert_eq!(value(&sections, "Resolution rate"), "0.0 %");
        assert_eq!(value(&sections, "CSAT average"), "\u{2014}");
        assert_eq!(value(&sections, "Scores 1 to 5"), "0 / 0 / 0 / 0 / 0");
        assert_eq!(score(Some(4.25)), "4.25 / 5");
        assert_eq!(percent(Some(0.8333)), "83.3 %");
    }

    #[test]
    fn messages_by_role_add_up_the_hours() {
        let sections = known_day().sections();

        assert_eq!(value(&sections, "Messages from customers"), "30");
        assert_eq!(value(&sections, "Messages from agents"), "30");
        assert_eq!(value(&sections, "Messages from admins"), "1");
    }

    #[test]
    fn agents_are_listed_by_sessions_handled_then_by_id() {
        let rows = known_day().top_agents();

        let ids: Vec<&str> = rows.iter().map(|r| r.agent_id.as_str()).collect();
        assert_eq!(ids, ["agent-cy", "agent-ann", "agent-bob"]);
        assert_eq!(rows[0].handle_median, "\u{2014}");
    }

    #[test]
    fn the_hourly_series_has_all_24_hours_in_order() {
        let hours = known_day().hourly();

        assert_eq!(hours.len(), 24);
        assert!(hours.iter().enumerate().all(|(i, h)| usize::from(h.hour) == i));
        assert_eq!(hours[9].sessions_created, 7);
        assert_eq!(hours[10].sessions_created, 0);
    }
}
