//! The analytics rollups: the metric engine's partial summaries (`analytics::summaries::Summary`,
//! mergeable) stored per UTC day and per UTC hour, overall (`ROLLUP#ALL`; an hour's item keeps
//! its agents' figures), per agent and day (`ROLLUP#AGENTS`) and per room (`ROLLUP#ROOMS`),
//! plus one small marker per built day
//! (`ROLLUP#BUILT`) and the backfill jobs (`ROLLUP#BACKFILL`). A range of days is one Query per
//! partition. Written only by the rollup (`analytics::rollup`), which recomputes whole days and
//! overwrites them, so writing a day twice leaves the same items.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};

use crate::analytics::summaries::{AgentSummary, Summary};
use crate::domain::{RoomId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Item, ItemStore, Key, KeyRange, Query};

use super::stats::day_text;
use super::{all_records, from_item, to_item};

/// Partition of the overall summaries.
pub const ALL: &str = "ROLLUP#ALL";
/// Partition of the per-agent summaries.
pub const AGENTS: &str = "ROLLUP#AGENTS";
/// Partition of the per-room summaries.
pub const ROOMS: &str = "ROLLUP#ROOMS";
/// Partition of the built-day markers.
pub const BUILT: &str = "ROLLUP#BUILT";
/// Partition of the backfill jobs.
pub const BACKFILL: &str = "ROLLUP#BACKFILL";
/// The room key of sessions opened without a room.
pub const NO_ROOM: &str = "-";

/// Sort key of a day's item: `D#<yyyy-mm-dd>`.
pub fn day_sk(day: Date) -> String {
    format!("D#{}", day_text(day))
}

/// Sort key of an hour's item: `H#<yyyy-mm-dd>T<hh>`.
pub fn hour_sk(day: Date, hour: u8) -> String {
    format!("H#{}T{hour:02}", day_text(day))
}

/// What a rollup item covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A UTC day.
    Day(Date),
    /// One hour (0–23) of a UTC day.
    Hour(Date, u8),
}

impl Period {
    fn day(self) -> Date {
        match self {
            Period::Day(day) | Period::Hour(day, _) => day,
        }
    }

    fn sk(self) -> String {
        match self {
            Period::Day(day) => day_sk(day),
            Period::Hour(day, hour) => hour_sk(day, hour),
        }
    }
}

/// The overall summary of a period (a day's `agents` map is stored apart, in [`AGENTS`]; an
/// hour's stays in it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overall {
    /// The figures.
    pub summary: Summary,
}

/// One agent's figures in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentFigures {
    /// The UTC day of the period, `yyyy-mm-dd`.
    pub day: String,
    /// The agent.
    pub agent_id: UserId,
    /// Their figures.
    pub figures: AgentSummary,
}

/// One room's summary in a period (its `agents` map left empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomFigures {
    /// The UTC day of the period, `yyyy-mm-dd`.
    pub day: String,
    /// The room, or `-` for sessions without one.
    pub room_id: String,
    /// The figures.
    pub summary: Summary,
}

/// The marker of a built day: written after all of the day's items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Built {
    /// `yyyy-mm-dd`.
    pub day: String,
    /// The time the day's figures are as of (it decides which resolutions are still pending).
    #[serde(with = "crate::domain::timestamp")]
    pub as_of: OffsetDateTime,
    /// Events of the day read from the day index.
    pub events: u64,
    /// Sessions whose history was read.
    pub sessions: u64,
}

/// The room key of a session's room.
pub fn room_key(room: Option<&RoomId>) -> String {
    room.map_or_else(|| NO_ROOM.to_owned(), ToString::to_string)
}

/// The item of the overall summary of a period.
pub fn overall_item(period: Period, summary: &Summary) -> Result<Item, ApiError> {
    let record = Overall { summary: summary.clone() };
    to_item(&record, &Key::new(ALL, period.sk()), &[])
}

/// The item of an agent's figures of a period.
pub fn agent_item(period: Period, agent_id: &UserId, figures: &AgentSummary) -> Result<Item, ApiError> {
    let record =
        AgentFigures { day: day_text(period.day()), agent_id: agent_id.clone(), figures: figures.clone() };
    to_item(&record, &Key::new(AGENTS, format!("{}#{agent_id}", period.sk())), &[])
}

/// The item of a room's summary of a period.
pub fn room_item(period: Period, room_id: &str, summary: &Summary) -> Result<Item, ApiError> {
    let record =
        RoomFigures { day: day_text(period.day()), room_id: room_id.to_owned(), summary: summary.clone() };
    to_item(&record, &Key::new(ROOMS, format!("{}#{room_id}", period.sk())), &[])
}

/// Writes (replaces) summary items ([`overall_item`], [`agent_item`], [`room_item`]).
pub async fn put_all(store: &dyn ItemStore, items: Vec<Item>) -> Result<(), ApiError> {
    store.put_many(items).await?;
    Ok(())
}

/// Marks a day built (after all its items are written).
pub async fn put_built(store: &dyn ItemStore, built: &Built) -> Result<(), ApiError> {
    store.put(to_item(built, &Key::new(BUILT, built.day.clone()), &[])?, None).await?;
    Ok(())
}

/// The built markers of the days from `from` to `to` (both included): one Query.
pub async fn built(store: &dyn ItemStore, from: Date, to: Date) -> Result<Vec<Built>, ApiError> {
    let query = Query::table(BUILT).range(KeyRange::Between(day_text(from), day_text(to))).limit(400);
    all_records(store, query).await
}

/// The overall day summaries of the days from `from` to `to` (both included), oldest first.
pub async fn overall_days(store: &dyn ItemStore, from: Date, to: Date) -> Result<Vec<Summary>, ApiError> {
    let query = Query::table(ALL).range(KeyRange::Between(day_sk(from), day_sk(to))).limit(100);
    let days: Vec<Overall> = all_records(store, query).await?;
    Ok(days.into_iter().map(|day| day.summary).collect())
}

/// The overall hour summaries of one day, by hour.
pub async fn overall_hours(store: &dyn ItemStore, day: Date) -> Result<Vec<(u8, Summary)>, ApiError> {
    let query = Query::table(ALL).range(KeyRange::BeginsWith(format!("H#{}T", day_text(day)))).limit(24);
    let mut page = store.query(query).await?;
    let mut hours = Vec::with_capacity(page.items.len());
    for item in std::mem::take(&mut page.items) {
        let hour = item
            .get(crate::store::SK)
            .and_then(Value::as_str)
            .and_then(|sk| sk.rsplit('T').next())
            .and_then(|hh| hh.parse::<u8>().ok())
            .ok_or_else(|| ApiError::Internal("an hour rollup has an unreadable key".into()))?;
        let overall: Overall = from_item(item)?;
        hours.push((hour, overall.summary));
    }
    Ok(hours)
}

/// Every agent's day figures of the days from `from` to `to` (both included).
pub async fn agent_days(store: &dyn ItemStore, from: Date, to: Date) -> Result<Vec<AgentFigures>, ApiError> {
    let range = KeyRange::Between(format!("{}#", day_sk(from)), format!("{}#~", day_sk(to)));
    all_records(store, Query::table(AGENTS).range(range).limit(400)).await
}

/// One agent's day figures of the days from `from` to `to` (both included): the same Query as
/// [`agent_days`], filtered to the agent.
pub async fn agent_days_of(
    store: &dyn ItemStore,
    agent_id: &UserId,
    from: Date,
    to: Date,
) -> Result<Vec<AgentFigures>, ApiError> {
    let range = KeyRange::Between(format!("{}#", day_sk(from)), format!("{}#~", day_sk(to)));
    let filter = Condition::Equals("agent_id".into(), super::s(agent_id));
    all_records(store, Query::table(AGENTS).range(range).limit(400).filter(filter)).await
}

/// Every room's day summaries of the days from `from` to `to` (both included).
pub async fn room_days(store: &dyn ItemStore, from: Date, to: Date) -> Result<Vec<RoomFigures>, ApiError> {
    let range = KeyRange::Between(format!("{}#", day_sk(from)), format!("{}#~", day_sk(to)));
    all_records(store, Query::table(ROOMS).range(range).limit(100)).await
}

/// Where a backfill job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Days are left to build.
    Running,
    /// Every day is built.
    Done,
}

/// A backfill: build the rollups of the days from `from` to `to`, one day after the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// Job id (a ULID).
    pub id: String,
    /// First day.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    /// Last day, included.
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    /// The next day to build (after `to` once done).
    #[serde(with = "crate::domain::timestamp::day")]
    #[schema(value_type = String, format = Date)]
    pub next: Date,
    /// Days in the range.
    pub days_total: u64,
    /// Days built.
    pub days_done: u64,
    /// Events of the built days read from the day index.
    pub events_read: u64,
    /// Running or done.
    pub status: JobStatus,
    /// The admin who started it.
    pub created_by: UserId,
    /// When it was started.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
    /// When it last moved on.
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: OffsetDateTime,
}

impl Job {
    /// A new job for the days from `from` to `to` (`from <= to`).
    pub fn new(from: Date, to: Date, created_by: UserId, at: OffsetDateTime) -> Self {
        let days_total = u64::try_from((to - from).whole_days() + 1).unwrap_or(0);
        Self {
            id: crate::domain::next_ulid().to_string(),
            from,
            to,
            next: from,
            days_total,
            days_done: 0,
            events_read: 0,
            status: JobStatus::Running,
            created_by,
            created_at: at,
            updated_at: at,
        }
    }

    /// The job after its next day was built with `events` events.
    pub fn advanced(&self, events: u64, at: OffsetDateTime) -> Self {
        let days_done = self.days_done + 1;
        let next = self.next.next_day().unwrap_or(self.next);
        let status = if days_done >= self.days_total { JobStatus::Done } else { JobStatus::Running };
        Self {
            next,
            days_done,
            events_read: self.events_read + events,
            status,
            updated_at: at,
            ..self.clone()
        }
    }
}

fn job_key(id: &str) -> Key {
    Key::new(BACKFILL, id)
}

/// Stores a new job.
pub async fn create_job(store: &dyn ItemStore, job: &Job) -> Result<(), ApiError> {
    store.put(to_item(job, &job_key(&job.id), &[])?, Some(Condition::NotExists)).await?;
    Ok(())
}

/// Saves a job's progress if it still has `days_done` days done as read; `false` if another
/// worker moved it on first.
pub async fn save_job(store: &dyn ItemStore, job: &Job, days_done: u64) -> Result<bool, ApiError> {
    let item = to_item(job, &job_key(&job.id), &[])?;
    let condition = Condition::Equals("days_done".into(), Value::from(days_done));
    match store.put(item, Some(condition)).await {
        Ok(()) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A job by id (`None` for an unknown or malformed id).
pub async fn job(store: &dyn ItemStore, id: &str) -> Result<Option<Job>, ApiError> {
    if id.parse::<ulid::Ulid>().is_err() {
        return Ok(None);
    }
    store.get(&job_key(id)).await?.map(from_item).transpose()
}

/// The jobs still running, oldest first (one Query of the jobs partition).
pub async fn running_jobs(store: &dyn ItemStore) -> Result<Vec<Job>, ApiError> {
    let filter = Condition::Equals("status".into(), Value::from("running"));
    all_records(store, Query::table(BACKFILL).limit(100).filter(filter)).await
}
