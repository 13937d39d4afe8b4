//! A generated session event log: realistic session lifecycles over a span of days, from a seeded
//! RNG, stored exactly as the API stores them (`repo::events::put`), with ids whose time part is
//! the event's `at`, as the API's are.
//!
//! Each session is opened in the busy hours of a weekday more often than at night or at the
//! weekend; it waits in the queue (some customers give up), an agent takes it (by routing, or by
//! hand), answers (most of the time), sometimes hands it to a colleague, and it is closed by the
//! agent or the customer. Some customers rate it (a few change their score), and some reopen it
//! within the week, which starts a second (rarely a third) episode. Events later than the span's
//! end are left out: those sessions are still open when the rollup runs. Each session's facts
//! are then kept as the change feed keeps them ([`keep_facts`]).

use std::collections::BTreeMap;

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use switchboard_shared::analytics::facts;
use switchboard_shared::domain::{
    AuditEvent, LoggedKind, Priority, Role, RoomId, SessionId, SessionStatus, UserId,
};
use switchboard_shared::error::ApiError;
use switchboard_shared::repo::{events, sessions};
use switchboard_shared::store::{ItemStore, NamedTxOp, MAX_TRANSACTION_OPS};
use time::{Date, Duration, OffsetDateTime, Time};
use ulid::Ulid;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    /// Events in all (the last session is cut short to make it exact).
    pub events: u64,
    /// The first day (UTC).
    pub first_day: Date,
    /// How many days, from `first_day`.
    pub days: u16,
    /// Agents who serve the sessions.
    pub agents: u16,
    /// Rooms the sessions are opened in (some are opened in none).
    pub rooms: u16,
    /// The seed: the same shape gives the same log.
    pub seed: u64,
}

impl Shape {
    /// The start of the span.
    pub fn start(&self) -> OffsetDateTime {
        self.first_day.with_time(Time::MIDNIGHT).assume_utc()
    }

    /// The end of the span (exclusive).
    pub fn end(&self) -> OffsetDateTime {
        self.start() + Duration::days(i64::from(self.days))
    }

    /// The last day of the span.
    pub fn last_day(&self) -> Date {
        self.first_day + Duration::days(i64::from(self.days.max(1)) - 1)
    }
}

/// What one episode was generated to be, to check the log against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEpisode {
    /// Begun by a reopen (else by the creation).
    pub reopened: bool,
    /// Closed while still waiting.
    pub abandoned: bool,
    /// Who held it, in order (empty if abandoned).
    pub agents: Vec<UserId>,
    /// An agent replied in its wait.
    pub answered: bool,
    /// The score that counts, and how many times one was given.
    pub rating: Option<(u8, u32)>,
}

/// One session's generated events, oldest first, and what they were meant to be.
#[derive(Debug, Clone)]
pub struct SessionHistory {
    /// The session.
    pub id: SessionId,
    /// Its events as stored, oldest first.
    pub events: Vec<AuditEvent>,
    /// Its episodes as planned.
    pub episodes: Vec<PlannedEpisode>,
    /// Every planned event is in `events` (none was past the span's end or the event budget).
    pub complete: bool,
}

/// Relative weight of each hour of the day (UTC): quiet nights, a busy working day.
const HOURLY: [u32; 24] = [2, 1, 1, 1, 1, 2, 4, 7, 11, 14, 15, 15, 14, 15, 16, 16, 15, 13, 10, 8, 7, 5, 4, 3];
/// Relative weight of each day of the week, Monday first.
const WEEKLY: [u32; 7] = [10, 10, 10, 10, 9, 5, 4];
/// Priorities, with their weights.
const PRIORITIES: [(Priority, u32); 4] =
    [(Priority::Low, 15), (Priority::Normal, 60), (Priority::High, 20), (Priority::Urgent, 5)];
const SUBJECTS: [&str; 6] = [
    "Cannot log in",
    "Refund request",
    "Invoice is wrong",
    "Order not delivered",
    "Change my plan",
    "Bug report",
];
const TRANSFER_REASONS: [&str; 4] =
    ["needs the billing team", "customer prefers Spanish", "escalated to tier 2", "end of shift"];
const COMMENTS: [&str; 4] = ["Thanks!", "Quick and helpful", "Took too long", "Problem not solved"];

/// More than the events of a session average (about six), so a round of sessions never outlasts
/// the event budget.
const MOST_EVENTS_A_SESSION_AVERAGES: u64 = 7;

/// Milliseconds of the Unix epoch: the generator's clock, so every time is whole milliseconds.
type Millis = i64;

const SECOND: Millis = 1000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;

/// An event before it has its id.
struct Draft {
    at: Millis,
    kind: &'static str,
    actor: (UserId, Role),
    details: Value,
}

/// The session histories of a shape, until its event budget is spent (the last one cut short).
pub struct Histories {
    shape: Shape,
    rng: StdRng,
    days: WeightedIndex<u32>,
    hours: WeightedIndex<u32>,
    priorities: WeightedIndex<u32>,
    agents: Vec<UserId>,
    admins: Vec<UserId>,
    rooms: Vec<RoomId>,
    customers: u32,
    left: u64,
    /// Opening times of the next sessions, latest first (taken from the end).
    openings: Vec<Millis>,
}

impl Histories {
    /// The histories of `shape`, in order of opening within each round (see `opening_time`).
    pub fn new(shape: &Shape) -> Result<Self, ApiError> {
        let mut rng = StdRng::seed_from_u64(shape.seed);
        let weekday = |day: u16| (shape.first_day + Duration::days(i64::from(day))).weekday();
        let days = WeightedIndex::new(
            (0..shape.days).map(|day| WEEKLY[weekday(day).number_days_from_monday() as usize]),
        )
        .map_err(|e| ApiError::Internal(format!("day weights: {e}")))?;
        let hours =
            WeightedIndex::new(HOURLY).map_err(|e| ApiError::Internal(format!("hour weights: {e}")))?;
        let priorities = WeightedIndex::new(PRIORITIES.map(|(_, weight)| weight))
            .map_err(|e| ApiError::Internal(format!("priority weights: {e}")))?;
        // At least two: a transfer needs another agent.
        let agents =
            (0..shape.agents.max(2)).map(|n| user(format!("agent-{n:03}"))).collect::<Result<_, _>>()?;
        let admins = (0..3).map(|n| user(format!("admin-{n}"))).collect::<Result<_, _>>()?;
        let start = millis(shape.start());
        let rooms = (0..shape.rooms)
            .map(|_| {
                RoomId::parse(&Ulid::from_parts(start.unsigned_abs(), rng.random()).to_string())
                    .map_err(invalid)
            })
            .collect::<Result<_, _>>()?;
        // About six events a session; a customer comes back about three times a month.
        let customers = u32::try_from(shape.events / 18).unwrap_or(u32::MAX).max(100);
        Ok(Self {
            shape: shape.clone(),
            rng,
            days,
            hours,
            priorities,
            agents,
            admins,
            rooms,
            customers,
            left: shape.events,
            openings: Vec::new(),
        })
    }

    fn exponential(&mut self, mean: Millis) -> Millis {
        let u: f64 = self.rng.random();
        (-(mean as f64) * (1.0 - u).ln()) as Millis
    }

    /// A log-normal duration: half are under `median`, a few are many times longer.
    fn log_normal(&mut self, median: Millis, sigma: f64) -> Millis {
        // Box-Muller: a standard normal from two uniforms.
        let (u, v): (f64, f64) = (self.rng.random(), self.rng.random());
        let normal = (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        ((median as f64) * (sigma * normal).exp()) as Millis
    }

    fn agent(&mut self) -> UserId {
        self.agents[self.rng.random_range(0..self.agents.len())].clone()
    }

    fn admin(&mut self) -> UserId {
        self.admins[self.rng.random_range(0..self.admins.len())].clone()
    }

    fn another_agent(&mut self, than: &UserId) -> UserId {
        loop {
            let agent = self.agent();
            if &agent != than {
                return agent;
            }
        }
    }

    /// When the next session is opened: a day by its weekday's weight, an hour by its weight, any
    /// millisecond of that hour.
    ///
    /// Sessions come in order of their opening, as they do in real life (and so the store's
    /// indexes grow at their ends: 2.5 times less CPU to write than in random order), in rounds:
    /// each round draws fewer sessions than the events left can hold, so the budget never ends a
    /// round early and leaves the last days short; the next round, a smaller one, fills the whole
    /// span again.
    fn opening_time(&mut self) -> Millis {
        loop {
            if let Some(at) = self.openings.pop() {
                return at;
            }
            let start = millis(self.shape.start());
            let round = (self.left / MOST_EVENTS_A_SESSION_AVERAGES).max(1);
            self.openings = (0..round)
                .map(|_| {
                    let day = self.days.sample(&mut self.rng) as Millis;
                    let hour = self.hours.sample(&mut self.rng) as Millis;
                    start + day * DAY + hour * HOUR + self.rng.random_range(0..HOUR)
                })
                .collect();
            self.openings.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    /// One episode from `start`: its events and what it is. Returns the close's time.
    fn episode(
        &mut self,
        start: Millis,
        reopened: bool,
        customer: &UserId,
        priority: Priority,
        drafts: &mut Vec<Draft>,
    ) -> (PlannedEpisode, Millis) {
        let as_customer = (customer.clone(), Role::Customer);
        let mut plan =
            PlannedEpisode { reopened, abandoned: false, agents: Vec::new(), answered: false, rating: None };
        let mean_wait = match priority {
            Priority::Urgent => 30 * SECOND,
            Priority::High => MINUTE,
            Priority::Normal => 2 * MINUTE,
            Priority::Low => 4 * MINUTE,
        };
        if self.rng.random_bool(0.06) {
            // The customer gives up before an agent is free.
            let closed = start + SECOND + self.exponential(5 * MINUTE);
            plan.abandoned = true;
            drafts.push(Draft {
                at: closed,
                kind: "session.closed",
                actor: as_customer,
                details: json!({"previous_status": SessionStatus::Waiting, "agent_id": null}),
            });
            return (plan, closed);
        }
        // A third of the sessions find an agent free at once (routed in the customer's request).
        let free_at_once = self.rng.random_bool(0.35);
        let assigned = start
            + if free_at_once { self.rng.random_range(0..2 * SECOND) } else { self.exponential(mean_wait) };
        let mut agent = self.agent();
        let (by, assigner) = if self.rng.random_bool(0.12) {
            ("manual", (self.admin(), Role::Admin))
        } else if free_at_once {
            ("routing", as_customer.clone())
        } else {
            ("routing", (agent.clone(), Role::Agent))
        };
        drafts.push(Draft {
            at: assigned,
            kind: "session.assigned",
            actor: assigner,
            details: json!({"agent_id": agent, "by": by}),
        });
        plan.agents.push(agent.clone());
        let mut now = assigned;
        if self.rng.random_bool(0.95) {
            now += 3 * SECOND + self.exponential(40 * SECOND);
            plan.answered = true;
            let message_id = Ulid::from_parts(now.unsigned_abs(), self.rng.random());
            drafts.push(Draft {
                at: now,
                kind: "session.first_response",
                actor: (agent.clone(), Role::Agent),
                details: json!({"agent_id": agent, "message_id": message_id.to_string()}),
            });
        }
        let transfers = match self.rng.random_range(0..100) {
            0..=1 => 2,
            2..=9 => 1,
            _ => 0,
        };
        for _ in 0..transfers {
            now += MINUTE + self.log_normal(4 * MINUTE, 0.8);
            let to = self.another_agent(&agent);
            let by = if self.rng.random_bool(0.8) {
                (agent.clone(), Role::Agent)
            } else {
                (self.admin(), Role::Admin)
            };
            let reason = pick(&mut self.rng, &TRANSFER_REASONS);
            drafts.push(Draft {
                at: now,
                kind: "session.transferred",
                actor: by,
                details: json!({"from_agent_id": agent, "to_agent_id": to, "reason": reason}),
            });
            agent = to;
            plan.agents.push(agent.clone());
        }
        // Handle time: eight minutes for half the sessions, hours for a few.
        let closed = now + 30 * SECOND + self.log_normal(8 * MINUTE, 1.0);
        let closer = if self.rng.random_bool(0.65) { (agent.clone(), Role::Agent) } else { as_customer };
        drafts.push(Draft {
            at: closed,
            kind: "session.closed",
            actor: closer,
            details: json!({"previous_status": SessionStatus::Active, "agent_id": agent}),
        });
        (plan, closed)
    }

    /// The ratings of an episode closed at `closed`, given before `until` (a reopen, if any).
    fn ratings(
        &mut self,
        closed: Millis,
        until: Millis,
        customer: &UserId,
        plan: &mut PlannedEpisode,
        drafts: &mut Vec<Draft>,
    ) {
        let rate_prob = if plan.abandoned { 0.05 } else { 0.55 };
        if !self.rng.random_bool(rate_prob) {
            return;
        }
        let window = 7 * DAY - MINUTE;
        let first = closed + SECOND + self.exponential(20 * MINUTE).min(window);
        let mut given: Vec<(Millis, u8)> = vec![(first, self.score())];
        if self.rng.random_bool(0.08) {
            let changed = first + MINUTE + self.exponential(DAY);
            if changed - closed <= window {
                given.push((changed, self.score()));
            }
        }
        let mut previous: Option<u8> = None;
        for (at, score) in given.into_iter().filter(|(at, _)| *at < until) {
            let comment = self.rng.random_bool(0.3).then(|| pick(&mut self.rng, &COMMENTS));
            drafts.push(Draft {
                at,
                kind: "session.rated",
                actor: (customer.clone(), Role::Customer),
                details: json!({"score": score, "comment": comment, "previous_score": previous}),
            });
            let times = plan.rating.map_or(0, |(_, times)| times) + 1;
            plan.rating = Some((score, times));
            previous = Some(score);
        }
    }

    fn score(&mut self) -> u8 {
        match self.rng.random_range(0..100) {
            0..=4 => 1,
            5..=11 => 2,
            12..=24 => 3,
            25..=54 => 4,
            _ => 5,
        }
    }

    /// One whole session: its drafts (in time order) and episodes.
    fn session(&mut self) -> Result<(SessionId, Vec<Draft>, Vec<PlannedEpisode>), ApiError> {
        let opened = self.opening_time();
        let id = SessionId::parse(&Ulid::from_parts(opened.unsigned_abs(), self.rng.random()).to_string())
            .map_err(invalid)?;
        let customer = user(format!("customer-{}", self.rng.random_range(0..self.customers)))?;
        let as_customer = (customer.clone(), Role::Customer);
        let priority = PRIORITIES[self.priorities.sample(&mut self.rng)].0;
        let room =
            (self.rng.random_bool(0.85) && !self.rooms.is_empty()).then(|| pick(&mut self.rng, &self.rooms));
        let subject = pick(&mut self.rng, &SUBJECTS);
        let mut drafts = vec![
            Draft {
                at: opened,
                kind: "session.created",
                actor: as_customer.clone(),
                details: json!({"priority": priority, "room_id": room, "subject": subject}),
            },
            Draft {
                at: opened,
                kind: "session.queued",
                actor: as_customer.clone(),
                details: json!({"reason": "created"}),
            },
        ];
        let mut episodes = Vec::new();
        let mut start = opened;
        let mut reopened = false;
        loop {
            let (mut plan, closed) = self.episode(start, reopened, &customer, priority, &mut drafts);
            // A reopen within the week (the API refuses one later), for one episode in fourteen.
            let reopen = (episodes.len() < 2 && self.rng.random_bool(0.07))
                .then(|| closed + MINUTE + self.exponential(DAY).min(7 * DAY - 2 * MINUTE));
            self.ratings(closed, reopen.unwrap_or(Millis::MAX), &customer, &mut plan, &mut drafts);
            let previous_agent = plan.agents.last().cloned();
            episodes.push(plan);
            let Some(at) = reopen else { break };
            drafts.push(Draft {
                at,
                kind: "session.reopened",
                actor: as_customer.clone(),
                details: json!({"previous_agent_id": previous_agent}),
            });
            drafts.push(Draft {
                at,
                kind: "session.queued",
                actor: as_customer.clone(),
                details: json!({"reason": "reopened"}),
            });
            start = at;
            reopened = true;
        }
        // Stable: events of one instant keep the order they were made in (created, then queued).
        drafts.sort_by_key(|draft| draft.at);
        Ok((id, drafts, episodes))
    }
}

impl Iterator for Histories {
    type Item = Result<SessionHistory, ApiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (id, drafts, episodes) = match self.session() {
            Ok(session) => session,
            Err(e) => return Some(Err(e)),
        };
        let end = millis(self.shape.end());
        let planned = drafts.len();
        let budget = usize::try_from(self.left).unwrap_or(usize::MAX);
        let mut last: Option<Ulid> = None;
        let mut events = Vec::with_capacity(planned.min(budget));
        for draft in drafts.into_iter().take_while(|draft| draft.at < end).take(budget) {
            // Ids sort like the events: the time part is `at`; within a millisecond, one up.
            let at_ms = draft.at.unsigned_abs();
            let event_id =
                match last.and_then(|l| (l.timestamp_ms() == at_ms).then(|| l.increment()).flatten()) {
                    Some(next) => next,
                    None => Ulid::from_parts(at_ms, self.rng.random()),
                };
            last = Some(event_id);
            let (actor_id, actor_role) = draft.actor;
            events.push(AuditEvent {
                id: event_id.to_string(),
                kind: LoggedKind::of_name(draft.kind),
                actor_id,
                actor_role,
                target: format!("session:{id}"),
                session_id: Some(id),
                at: time_of(draft.at),
                details: draft.details,
            });
        }
        self.left -= events.len() as u64;
        Some(Ok(SessionHistory { id, complete: events.len() == planned, events, episodes }))
    }
}

/// What [`write()`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    /// Events stored.
    pub events: u64,
    /// Sessions they belong to.
    pub sessions: u64,
    /// Events by UTC day (not in the JSON: the benchmark reports the days and their range).
    #[serde(skip)]
    pub by_day: BTreeMap<Date, u64>,
}

/// Generates the log of `shape` into `store`, in transactions of 100 puts; `progress` is told
/// the events written so far after each.
pub async fn write(
    store: &dyn ItemStore,
    shape: &Shape,
    progress: &mut dyn FnMut(u64),
) -> Result<Written, ApiError> {
    let mut written = Written::default();
    let mut batch: Vec<NamedTxOp> = Vec::with_capacity(MAX_TRANSACTION_OPS);
    for history in Histories::new(shape)? {
        let history = history?;
        written.sessions += 1;
        let partition = sessions::partition(&history.id);
        for event in &history.events {
            *written.by_day.entry(event.at.date()).or_default() += 1;
            batch.push(events::put(event, &partition)?.named("event"));
            if batch.len() == MAX_TRANSACTION_OPS {
                written.events += batch.len() as u64;
                store.transact_write(std::mem::take(&mut batch)).await?;
                progress(written.events);
            }
        }
    }
    if !batch.is_empty() {
        written.events += batch.len() as u64;
        store.transact_write(batch).await?;
        progress(written.events);
    }
    Ok(written)
}

/// Stores the facts of every generated session (`repo::facts`) as the change feed's reaction
/// does (`analytics::facts::refresh`: the session's stored history read and its facts written):
/// the feed refreshes a session's facts at each of its events, and what stays is the refresh
/// over its whole history, which this runs once per session; `progress` is told the sessions
/// done so far every 1,000. Returns the sessions.
pub async fn keep_facts(
    store: &dyn ItemStore,
    shape: &Shape,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ApiError> {
    let mut sessions = 0;
    for history in Histories::new(shape)? {
        facts::refresh(store, history?.id).await?;
        sessions += 1;
        if sessions % 1_000 == 0 {
            progress(sessions);
        }
    }
    Ok(sessions)
}

/// Any one of `from` (not empty).
fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> T {
    from[rng.random_range(0..from.len())]
}

fn user(name: String) -> Result<UserId, ApiError> {
    UserId::parse(&name).map_err(invalid)
}

fn invalid(e: switchboard_shared::domain::InvalidValue) -> ApiError {
    ApiError::Internal(format!("a generated id: {e}"))
}

fn millis(at: OffsetDateTime) -> Millis {
    (at.unix_timestamp_nanos() / 1_000_000) as Millis
}

fn time_of(at: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
