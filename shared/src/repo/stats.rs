//! Counters the dashboard reads instead of recounting: the live queue (`STATS#LIVE` /
//! `COUNTERS`: waiting, active) and per UTC day (`STATS#DAY` / `<yyyy-mm-dd>#<stream shard>`,
//! summed per day when read: created, closed, handle time, first responses, ratings, messages by
//! hour and role). Each change adds to them with atomic `ADD` updates, outside the change's
//! transaction (a transaction would make every change conflict with every other on these hot
//! items): the live counters in the request that made the change, the day's from the change
//! feed, once per feed record, in one write per batch and day ([`count_run`]).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

use crate::domain::Role;
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, KeyRange, Query, StoreError, UpdateAction};

/// Key of the live queue counters.
pub fn live_key() -> Key {
    Key::new("STATS#LIVE", "COUNTERS")
}

/// The `yyyy-mm-dd` of a UTC day.
pub fn day_text(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), u8::from(day.month()), day.day())
}

/// Key of a day's counters as [`writes`] names them; a run counts them into its shard's item of
/// that day ([`shard_day_key`]). Days counted before shards had items of their own have this
/// one item, which [`day`] and [`days`] sum in.
fn day_key(day: Date) -> Key {
    Key::new(DAY_PARTITION, day_text(day))
}

/// One change to count.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A session was opened (it waits).
    Created,
    /// A closed session waits again.
    Reopened,
    /// Waiting sessions got an agent.
    Assigned { sessions: i64 },
    /// A session was closed from `was` (waiting or active), after `handle_seconds` with agents.
    Closed { was_active: bool, handle_seconds: Option<i64> },
    /// A session moved between agents.
    Transferred,
    /// An agent answered for the first time since the wait started, after `seconds`.
    FirstResponse { seconds: i64 },
    /// A customer rated; `previous` is the score they changed and the time they had given it
    /// (it is taken off that day's counters: a day counts each session's latest rating given on it).
    Rated { score: u8, previous: Option<(u8, OffsetDateTime)> },
    /// A message was sent by `role`.
    Message { role: Role },
}

/// Adds one change to the live queue counters (`STATS#LIVE`: one `ADD` update, none for a change
/// that does not move the queue). The request that made the change counts it, so the live
/// dashboard and the routing sweep's recount read the queue as it is; the day's counters are
/// the change feed's ([`count_run`]). Failures are logged and never fail the change, which is
/// stored already.
pub async fn count_live(store: &dyn ItemStore, change: Change) {
    let live = live_key();
    for (key, actions) in writes(crate::domain::now(), change).into_iter().filter(|(key, _)| *key == live) {
        if let Err(error) = store.update(&key, actions, None).await {
            tracing::warn!(%error, pk = %key.pk, sk = %key.sk, "counting a change failed");
        }
    }
}

/// The changes one feed record made, under the record's sequence.
pub type Counted = (String, Vec<(OffsetDateTime, Change)>);

/// Adds the changes of a run of feed records of one shard (in the shard's order) to the day
/// counters exactly once. Each stream shard counts into items of its own, one per day
/// (`STATS#DAY` / `<yyyy-mm-dd>#<shard>`, [`shard_day_key`]), which carry the newest sequence
/// they counted (`counted`). So a run is one plain conditional update per day it touches: that
/// day's `ADD`s and its new mark, on condition the mark is older than the run's first record
/// of that day (no transaction, no separate mark item: 1 write unit, where a transaction of the
/// counters and a shard mark was 4). A shard hands its records over in order and delivers again
/// only from a record it delivered before, so a day item's records at or below its mark are
/// those counted before: when the condition fails, the mark is read and only the records after
/// it are counted. No write for a run that counts nothing.
pub async fn count_run(store: &dyn ItemStore, shard: &str, run: Vec<Counted>) -> Result<(), ApiError> {
    let mut per_item: BTreeMap<String, Vec<(String, Vec<UpdateAction>)>> = BTreeMap::new();
    for (sequence, changes) in run {
        let sequence = ordered_sequence(&sequence)?;
        for (key, actions) in day_writes(changes) {
            per_item.entry(key.sk).or_default().push((sequence.clone(), actions));
        }
    }
    for (day, records) in per_item {
        count_into(store, &shard_day_key(&day, shard), records).await?;
    }
    Ok(())
}

/// Counts `records` (in the shard's order) into one of its day items, skipping those its mark
/// says were counted.
async fn count_into(
    store: &dyn ItemStore,
    key: &Key,
    mut records: Vec<(String, Vec<UpdateAction>)>,
) -> Result<(), ApiError> {
    for _ in 0..MARK_READS {
        let (Some((first, _)), Some((last, _))) = (records.first(), records.last()) else { return Ok(()) };
        let condition = Condition::Or(vec![
            Condition::AttributeNotExists(MARK.into()),
            Condition::LessThan(MARK.into(), Value::String(first.clone())),
        ]);
        let mut actions = merge(records.iter().flat_map(|(_, actions)| actions.iter().cloned()).collect());
        actions.push(UpdateAction::Set(MARK.into(), Value::String(last.clone())));
        match store.update(key, actions, Some(condition)).await {
            Ok(_) => return Ok(()),
            Err(StoreError::ConditionFailed) => {
                let item = store.get(key).await?.unwrap_or_default();
                let counted = item.get(MARK).and_then(Value::as_str).unwrap_or_default().to_owned();
                records.retain(|(sequence, _)| *sequence > counted);
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Internal(format!("the counted mark of {} kept moving", key.sk)))
}

/// Key of the day item a stream shard counts into.
fn shard_day_key(day: &str, shard: &str) -> Key {
    Key::new(DAY_PARTITION, format!("{day}#{shard}"))
}

/// The partition of the day counters.
const DAY_PARTITION: &str = "STATS#DAY";
/// A day item's mark: the newest sequence of its shard counted, as [`ordered_sequence`] writes it.
const MARK: &str = "counted";
/// Reads of a mark one run may need: it moves only when the same shard is counted twice at
/// once, which one consumer per shard never does.
const MARK_READS: usize = 3;
/// Digits a sequence is padded to, so that text order is number order (DynamoDB Streams'
/// sequences have up to 40).
const SEQUENCE_DIGITS: usize = 48;

/// A sequence as text that sorts as its number: its digits, left-padded with zeros.
fn ordered_sequence(sequence: &str) -> Result<String, ApiError> {
    if sequence.is_empty()
        || sequence.len() > SEQUENCE_DIGITS
        || !sequence.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ApiError::Internal(format!("a change sequence that is not a number: {sequence:?}")));
    }
    Ok(format!("{sequence:0>SEQUENCE_DIGITS$}"))
}

/// The day counters' updates of one record's changes, per item.
fn day_writes(changes: Vec<(OffsetDateTime, Change)>) -> Vec<(Key, Vec<UpdateAction>)> {
    let live = live_key();
    changes.into_iter().flat_map(|(at, change)| writes(at, change)).filter(|(key, _)| *key != live).collect()
}

/// The counter updates of one change: per item, its `ADD`s (empty when it touches none).
fn writes(at: OffsetDateTime, change: Change) -> Vec<(Key, Vec<UpdateAction>)> {
    let mut live: Vec<UpdateAction> = Vec::new();
    let mut day: Vec<UpdateAction> = Vec::new();
    let mut earlier: Option<(Date, Vec<UpdateAction>)> = None;
    let add = |name: &str, by: i64| UpdateAction::Add(name.to_owned(), by);
    match change {
        Change::Created => {
            live.push(add("waiting", 1));
            day.push(add("created", 1));
        }
        Change::Reopened => {
            live.push(add("waiting", 1));
            day.push(add("reopened", 1));
        }
        Change::Assigned { sessions } => {
            live.extend([add("waiting", -sessions), add("active", sessions)]);
            day.push(add("assigned", sessions));
        }
        Change::Closed { was_active, handle_seconds } => {
            live.push(add(if was_active { "active" } else { "waiting" }, -1));
            day.push(add("closed", 1));
            if let Some(seconds) = handle_seconds {
                day.extend([add("handled", 1), add("handle_seconds", seconds)]);
            }
        }
        Change::Transferred => day.push(add("transferred", 1)),
        Change::FirstResponse { seconds } => {
            day.extend([add("first_responses", 1), add("first_response_seconds", seconds)]);
        }
        Change::Rated { score, previous } => {
            day.extend([
                add(&format!("rating_{score}"), 1),
                add("rating_sum", i64::from(score)),
                add("ratings", 1),
            ]);
            if let Some((previous, given)) = previous {
                let undo = vec![
                    add(&format!("rating_{previous}"), -1),
                    add("rating_sum", -i64::from(previous)),
                    add("ratings", -1),
                ];
                earlier = Some((given.date(), undo));
            }
        }
        Change::Message { role } => {
            day.push(add(&format!("messages_{}", role.as_str()), 1));
            day.push(add(&format!("messages_h{:02}_{}", at.hour(), role.as_str()), 1));
        }
    }
    let mut writes = vec![(live_key(), live)];
    match earlier {
        Some((given, mut undo)) if given == at.date() => {
            day.append(&mut undo);
            writes.push((day_key(at.date()), merge(day)));
        }
        Some((given, undo)) => {
            writes.extend([(day_key(at.date()), merge(day)), (day_key(given), merge(undo))])
        }
        None => writes.push((day_key(at.date()), merge(day))),
    }
    writes.retain(|(_, actions)| !actions.is_empty());
    writes
}

/// Folds repeated `ADD`s of one attribute into one (an update names an attribute once).
fn merge(actions: Vec<UpdateAction>) -> Vec<UpdateAction> {
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    for action in actions {
        if let UpdateAction::Add(name, by) = action {
            *sums.entry(name).or_default() += by;
        }
    }
    sums.into_iter().map(|(name, by)| UpdateAction::Add(name, by)).collect()
}

/// The live queue counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Live {
    /// Sessions waiting for an agent.
    pub waiting: i64,
    /// Sessions with an agent.
    pub active: i64,
}

/// Sets the live counters to `recount` if they still hold `read` (a change counted meanwhile
/// makes it a no-op, left to the next recount); true when they were set.
pub async fn correct_live(store: &dyn ItemStore, read: Live, recount: Live) -> Result<bool, ApiError> {
    // A counter never added to is absent, and reads as zero.
    let holds = |name: &str, value: i64| {
        let equals = Condition::Equals(name.into(), Value::from(value));
        if value == 0 {
            Condition::Or(vec![Condition::AttributeNotExists(name.into()), equals])
        } else {
            equals
        }
    };
    let actions = vec![
        UpdateAction::Set("waiting".into(), Value::from(recount.waiting)),
        UpdateAction::Set("active".into(), Value::from(recount.active)),
    ];
    let condition = Condition::And(vec![holds("waiting", read.waiting), holds("active", read.active)]);
    match store.update(&live_key(), actions, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Reads the live counters.
pub async fn live(store: &dyn ItemStore) -> Result<Live, ApiError> {
    let item = store.get(&live_key()).await?.unwrap_or_default();
    Ok(Live { waiting: number(&item, "waiting"), active: number(&item, "active") })
}

/// One day's counters: attribute name → value (missing ones are zero).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Day {
    /// The UTC day.
    pub day: String,
    counters: BTreeMap<String, i64>,
}

impl Day {
    /// A counter's value (zero when nothing was counted).
    pub fn get(&self, name: &str) -> i64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// Reads one day's counters: the sum of its items (one per stream shard that counted into it,
/// and the single item of the days before shards had their own): one Query.
pub async fn day(store: &dyn ItemStore, day: Date) -> Result<Day, ApiError> {
    let text = day_text(day);
    let mut days = read_days(store, KeyRange::BeginsWith(text.clone())).await?;
    Ok(days.pop().unwrap_or(Day { day: text, counters: BTreeMap::new() }))
}

/// Reads the counters of the days from `from` to `to` (both included), each the sum of its
/// items: one Query.
pub async fn days(store: &dyn ItemStore, from: Date, to: Date) -> Result<Vec<Day>, ApiError> {
    // A day's shard items sort after the day (`<day>#<shard>`) and before the next day.
    read_days(store, KeyRange::Between(day_text(from), format!("{}~", day_text(to)))).await
}

/// The days of the items in `range`, in order, each item's numbers added to its day's.
async fn read_days(store: &dyn ItemStore, range: KeyRange) -> Result<Vec<Day>, ApiError> {
    let mut out: Vec<Day> = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::table(DAY_PARTITION).range(range.clone()).limit(400).cursor(cursor);
        let page = store.query(query).await?;
        for item in &page.items {
            let sk = item.get(crate::store::SK).and_then(Value::as_str).unwrap_or_default();
            let day = sk.split('#').next().unwrap_or_default().to_owned();
            let counted = day_from(day, item);
            match out.last_mut() {
                Some(last) if last.day == counted.day => {
                    for (name, value) in counted.counters {
                        *last.counters.entry(name).or_default() += value;
                    }
                }
                _ => out.push(counted),
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

fn day_from(day: String, item: &crate::store::Item) -> Day {
    let counters =
        item.iter().filter_map(|(name, value)| value.as_i64().map(|v| (name.clone(), v))).collect();
    Day { day, counters }
}

fn number(item: &crate::store::Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_i64).unwrap_or(0)
}
