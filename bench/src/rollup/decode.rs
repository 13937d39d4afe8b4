//! What decoding one stored event costs on each path a history can take
//! (`rollup-throughput decode`): the histories of one day's sessions are read once as items and
//! once as SQLite's raw items (the stored JSON text), then decoded again and again, each path
//! timed apart (process CPU):
//!
//! - item → `AuditEvent`: how every store's histories were decoded before `query_many_raw`, and
//!   the other readers of histories on DynamoDB now;
//! - item → `LifecycleEvent`: the rollup on DynamoDB now (the adapter hands over its items);
//! - JSON text → `LifecycleEvent`: the rollup on SQLite now (the stored text as it is);
//! - JSON text → `AuditEvent`: the other readers of histories on SQLite now;
//! - item → JSON text → `LifecycleEvent`: what DynamoDB would cost if its items were encoded to
//!   text for a text-only call (the first version of the batched read did that).
//!
//! Decoding consumes what it decodes (and frees it, as the rollup does), so each round decodes a
//! copy made before its timing starts.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_shared::analytics::events::LifecycleEvent;
use switchboard_shared::domain::{AuditEvent, SessionId};
use switchboard_shared::error::ApiError;
use switchboard_shared::repo::{events, sessions};
use switchboard_shared::store::{Item, ItemStore, KeyRange, Query, RawItem, MAX_QUERY_LIMIT};
use time::Date;

use super::usage::cpu_time;

/// Times each path is run over all the events read.
const ROUNDS: u32 = 5;

/// Microseconds of CPU per event on each path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecodeCosts {
    /// Events decoded on each path, each round.
    pub events: u64,
    /// Their stored JSON, bytes per event on average.
    pub json_bytes_per_event: f64,
    /// Item → `AuditEvent`.
    pub item_to_audit_event_us: f64,
    /// Item → `LifecycleEvent`.
    pub item_to_lifecycle_event_us: f64,
    /// JSON text → `LifecycleEvent`.
    pub json_to_lifecycle_event_us: f64,
    /// JSON text → `AuditEvent`.
    pub json_to_audit_event_us: f64,
    /// Item → JSON text → `LifecycleEvent`.
    pub item_to_json_to_lifecycle_event_us: f64,
}

/// Reads the histories of `day`'s sessions (at most about `limit` events) and times the paths.
pub async fn measure(store: &dyn ItemStore, day: Date, limit: usize) -> Result<DecodeCosts, ApiError> {
    let ids = sessions_of(store, day).await?;
    let (mut items, mut texts) = (Vec::new(), Vec::new());
    for batch in ids.chunks(256) {
        let queries: Vec<Query> = batch
            .iter()
            .map(|id| {
                Query::table(sessions::partition(id))
                    .range(KeyRange::BeginsWith("EVENT#".into()))
                    .limit(MAX_QUERY_LIMIT)
            })
            .collect();
        items.extend(store.query_many(queries.clone()).await?.into_iter().flat_map(|page| page.items));
        texts.extend(store.query_many_raw(queries).await?.into_iter().flat_map(|page| page.items));
        if items.len() >= limit {
            break;
        }
    }
    let events = items.len();
    let unreadable = |e: serde_json::Error| ApiError::Internal(format!("a stored event is unreadable: {e}"));
    let decode_all = |raw: Vec<RawItem>, lean: bool| -> Result<(), ApiError> {
        for item in raw {
            if lean {
                std::hint::black_box(item.decode::<LifecycleEvent>().map_err(unreadable)?);
            } else {
                std::hint::black_box(item.decode::<AuditEvent>().map_err(unreadable)?);
            }
        }
        Ok(())
    };
    let decoded = || items.iter().cloned().map(RawItem::Decoded).collect::<Vec<_>>();

    let item_to_audit = per_event(events, decoded, |raw| decode_all(raw, false))?;
    let item_to_lifecycle = per_event(events, decoded, |raw| decode_all(raw, true))?;
    let json_to_lifecycle = per_event(events, || texts.clone(), |raw| decode_all(raw, true))?;
    let json_to_audit = per_event(events, || texts.clone(), |raw| decode_all(raw, false))?;
    let item_to_json_to_lifecycle = per_event(
        events,
        || (),
        |()| {
            let encoded =
                items.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>().map_err(unreadable)?;
            decode_all(encoded.into_iter().map(RawItem::Json).collect(), true)
        },
    )?;
    let bytes: usize =
        texts.iter().map(|raw| if let RawItem::Json(text) = raw { text.len() } else { 0 }).sum();
    Ok(DecodeCosts {
        events: events as u64,
        json_bytes_per_event: bytes as f64 / events.max(1) as f64,
        item_to_audit_event_us: item_to_audit,
        item_to_lifecycle_event_us: item_to_lifecycle,
        json_to_lifecycle_event_us: json_to_lifecycle,
        json_to_audit_event_us: json_to_audit,
        item_to_json_to_lifecycle_event_us: item_to_json_to_lifecycle,
    })
}

/// The CPU microseconds per event of `ROUNDS` runs of `work` over `events` events, each on what
/// `prepare` gives it (made outside the timing: the items to consume).
fn per_event<T>(
    events: usize,
    mut prepare: impl FnMut() -> T,
    mut work: impl FnMut(T) -> Result<(), ApiError>,
) -> Result<f64, ApiError> {
    let mut spent = std::time::Duration::ZERO;
    for _ in 0..ROUNDS {
        let input = prepare();
        let start = cpu_time();
        work(input)?;
        spent += cpu_time().saturating_sub(start);
    }
    Ok(spent.as_secs_f64() * 1e6 / (f64::from(ROUNDS) * events.max(1) as f64))
}

/// The ids of the sessions with an event on `day` (the day index, keys only).
async fn sessions_of(store: &dyn ItemStore, day: Date) -> Result<Vec<SessionId>, ApiError> {
    let prefix = format!("{}#", sessions::PARTITION_PREFIX);
    let mut ids = std::collections::BTreeSet::new();
    let mut cursor = None;
    loop {
        let query = Query::index("gsi1", events::day_partition(day))
            .keys_only()
            .limit(MAX_QUERY_LIMIT)
            .cursor(cursor);
        let page = store.query(query).await?;
        ids.extend(page.items.iter().filter_map(|item: &Item| {
            let partition = item.get("pk").and_then(Value::as_str)?;
            SessionId::parse(partition.strip_prefix(&prefix)?).ok()
        }));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ids.into_iter().collect()),
        }
    }
}
