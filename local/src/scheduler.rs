//! EventBridge's schedules on localhost: the `Schedule` events of `infra/template.yaml` invoke
//! their functions in process, with the scheduled event Lambda would get. `rate(...)` schedules
//! fire at start-up and then every period; `cron(M H * * ? *)` ones at start-up too (catching up
//! on what the gateway missed while it was not running: the daily report of yesterday and the
//! days before without one) and then at that UTC time each day.
//! Between runs, backfill jobs started through the API are carried on every few seconds.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use switchboard_shared::analytics::backfill;
use switchboard_shared::domain::now;
use switchboard_shared::lambda::{dispatch_scheduled, ScheduledFunction};
use switchboard_shared::App;
use time::{Duration, OffsetDateTime, Time};

use crate::template::{self, TemplateError};

/// How often running backfill jobs are carried on between scheduled runs.
pub const BACKFILL_TICK: StdDuration = StdDuration::from_secs(5);
/// How long one tick works on backfill jobs.
const BACKFILL_SLICE: StdDuration = StdDuration::from_secs(4);

/// When a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every period, the first time at start-up.
    Rate(Duration),
    /// Every day at this UTC time (and once at start-up).
    Daily(Time),
}

impl Schedule {
    /// Reads the subset of EventBridge expressions the local gateway runs: `rate(N minute[s] |
    /// hour[s] | day[s])` and `cron(M H * * ? *)`.
    pub fn parse(expression: &str) -> Result<Self, String> {
        let unsupported =
            || format!("schedule {expression:?}: the local gateway runs rate(N unit) and cron(M H * * ? *)");
        if let Some(inner) = expression.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            let (count, unit) = inner.split_once(' ').ok_or_else(unsupported)?;
            let count: i64 = count.parse().map_err(|_| unsupported())?;
            let period = match unit {
                "minute" | "minutes" => Duration::minutes(count),
                "hour" | "hours" => Duration::hours(count),
                "day" | "days" => Duration::days(count),
                _ => return Err(unsupported()),
            };
            return if count > 0 { Ok(Self::Rate(period)) } else { Err(unsupported()) };
        }
        if let Some(inner) = expression.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            let fields: Vec<&str> = inner.split(' ').collect();
            let [minute, hour, "*", "*", "?", "*"] = fields.as_slice() else { return Err(unsupported()) };
            let minute: u8 = minute.parse().map_err(|_| unsupported())?;
            let hour: u8 = hour.parse().map_err(|_| unsupported())?;
            return Time::from_hms(hour, minute, 0).map(Self::Daily).map_err(|_| unsupported());
        }
        Err(unsupported())
    }

    /// The first firing after `after` (`None` for a rate schedule's first, immediate one).
    pub fn next_after(&self, after: OffsetDateTime) -> OffsetDateTime {
        match *self {
            Self::Rate(period) => after + period,
            Self::Daily(time) => {
                let today = after.replace_time(time);
                if today > after {
                    today
                } else {
                    today + Duration::DAY
                }
            }
        }
    }
}

/// Every scheduled function of the workspace.
pub fn functions() -> Vec<ScheduledFunction> {
    switchboard_reports::SCHEDULED
        .iter()
        .chain(switchboard_agent::SCHEDULED)
        .chain(switchboard_email::SCHEDULED)
        .copied()
        .collect()
}

/// The template's schedules bound to their functions; an unknown binary or expression is an
/// error at start-up.
pub fn bind(functions: &[ScheduledFunction]) -> Result<Vec<(ScheduledFunction, Schedule)>, String> {
    let routes = template::schedules(template::TEMPLATE).map_err(|e: TemplateError| e.to_string())?;
    routes
        .into_iter()
        .map(|route| {
            let function =
                functions.iter().find(|function| function.name == route.binary).ok_or_else(|| {
                    format!("infra/template.yaml schedules {}, which has no handler here", route.binary)
                })?;
            Ok((*function, Schedule::parse(&route.expression)?))
        })
        .collect()
}

/// Runs the schedules until the task is dropped.
pub async fn run(app: Arc<App>, schedules: Vec<(ScheduledFunction, Schedule)>) {
    for (function, schedule) in schedules {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let mut at = now();
            loop {
                let wait = (at - now()).max(Duration::ZERO);
                tokio::time::sleep(StdDuration::try_from(wait).unwrap_or_default()).await;
                let event = json!({
                    "version": "0",
                    "id": switchboard_shared::domain::next_ulid().to_string(),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": "000000000000",
                    "time": switchboard_shared::domain::timestamp::format(at).unwrap_or_default(),
                    "region": "local",
                    "resources": [format!("local:schedule/{}", function.name)],
                    "detail": {},
                });
                if let Err(error) = dispatch_scheduled(&app, &function, event).await {
                    tracing::warn!(function = function.name, %error, "scheduled run failed; it runs again at its next time");
                }
                at = schedule.next_after(at.max(now()));
            }
        });
    }
    let mut tick = tokio::time::interval(BACKFILL_TICK);
    loop {
        tick.tick().await;
        let deadline = std::time::Instant::now() + BACKFILL_SLICE;
        if let Err(error) = backfill::continue_backfills(app.store.as_ref(), deadline).await {
            tracing::warn!(%error, "carrying on backfill jobs failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn rate_and_daily_cron_expressions_are_read_and_others_refused() {
        assert_eq!(Schedule::parse("rate(15 minutes)"), Ok(Schedule::Rate(Duration::minutes(15))));
        assert_eq!(Schedule::parse("rate(1 hour)"), Ok(Schedule::Rate(Duration::HOUR)));
        assert_eq!(Schedule::parse("cron(15 0 * * ? *)"), Ok(Schedule::Daily(time::macros::time!(00:15))));
        for bad in
            ["rate(0 minutes)", "rate(5 weeks)", "cron(15 0 * * MON *)", "cron(61 0 * * ? *)", "every day"]
        {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_daily_schedule_fires_next_at_its_time_today_or_tomorrow() {
        let daily = Schedule::Daily(time::macros::time!(00:15));
        assert_eq!(daily.next_after(datetime!(2026-11-25 00:10 UTC)), datetime!(2026-11-25 00:15 UTC));
        assert_eq!(daily.next_after(datetime!(2026-11-25 00:15 UTC)), datetime!(2026-11-26 00:15 UTC));
        let rate = Schedule::Rate(Duration::minutes(15));
        assert_eq!(rate.next_after(datetime!(2026-11-25 23:50 UTC)), datetime!(2026-11-26 00:05 UTC));
    }

    #[test]
    fn every_schedule_of_the_template_has_a_handler() {
        let bound = bind(&functions()).unwrap();
        assert!(bound.iter().any(|(function, schedule)| function.name == "analytics-rollup"
            && *schedule == Schedule::Rate(Duration::minutes(15))));
        assert!(bound.iter().any(|(function, schedule)| function.name == "routing-sweep"
            && *schedule == Schedule::Rate(Duration::minutes(1))));
    }
}
