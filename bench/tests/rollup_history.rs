//! The rollup benchmark's generated event log: stored where the API stores events, and read back
//! by the metric engine as the lifecycles that were generated.

use std::collections::BTreeMap;

use switchboard_bench::rollup::history::{self, Histories, SessionHistory, Shape};
use switchboard_shared::analytics::episodes::{EpisodeOrigin, SessionFacts, WaitEnd};
use switchboard_shared::analytics::range::day_bounds;
use switchboard_shared::repo::events::{self, Span};
use switchboard_shared::store::sqlite::SqliteItemStore;
use time::macros::date;

fn shape(events: u64) -> Shape {
    Shape { events, first_day: date!(2026 - 10 - 01), days: 7, agents: 20, rooms: 3, seed: 42 }
}

fn histories(shape: &Shape) -> Vec<SessionHistory> {
    Histories::new(shape).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn every_generated_event_is_in_the_index_of_its_day() {
    let store = SqliteItemStore::in_memory().unwrap();
    let shape = shape(3_000);

    let written = history::write(&store, &shape, &mut |_| {}).await.unwrap();

    assert_eq!(written.events, 3_000);
    assert_eq!(written.by_day.len(), 7, "{:?}", written.by_day);
    let mut indexed = BTreeMap::new();
    for &day in written.by_day.keys() {
        let (from, to) = day_bounds(day);
        indexed.insert(day, events::of_day(&store, day, &Span { from, to }).await.unwrap().len() as u64);
    }
    assert_eq!(indexed, written.by_day);
}

#[test]
fn event_ids_carry_their_time_and_sort_like_the_events() {
    for history in histories(&shape(3_000)) {
        let ids: Vec<ulid::Ulid> = history.events.iter().map(|e| e.id.parse().unwrap()).collect();
        for (event, id) in history.events.iter().zip(&ids) {
            assert_eq!(id.timestamp_ms() as i128, event.at.unix_timestamp_nanos() / 1_000_000, "{event:?}");
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", history.events);
    }
}

#[test]
fn the_same_seed_gives_the_same_log() {
    let first = histories(&shape(1_000));
    let second = histories(&shape(1_000));

    let events = |all: &[SessionHistory]| all.iter().flat_map(|h| h.events.clone()).collect::<Vec<_>>();
    assert_eq!(events(&first), events(&second));
    assert_eq!(events(&first).len(), 1_000);
}

#[tokio::test]
async fn a_stored_history_reads_back_as_the_episodes_generated() {
    let store = SqliteItemStore::in_memory().unwrap();
    let shape = shape(6_000);
    history::write(&store, &shape, &mut |_| {}).await.unwrap();
    let mut seen = BTreeMap::<&str, u32>::new();

    for generated in histories(&shape).iter().filter(|h| h.complete) {
        let stored = events::of_session(&store, &generated.id).await.unwrap();
        let facts = SessionFacts::from_events(generated.id, &stored);

        assert_eq!(stored, generated.events);
        assert_eq!(facts.ignored_events, 0, "{stored:#?}");
        assert_eq!(facts.episodes.len(), generated.episodes.len(), "{stored:#?}");
        for (episode, planned) in facts.episodes.iter().zip(&generated.episodes) {
            let origin = if planned.reopened { EpisodeOrigin::Reopened } else { EpisodeOrigin::Created };
            assert_eq!(episode.origin, origin);
            assert!(episode.closed_at.is_some());
            assert_eq!(episode.waits.len(), 1);
            let abandoned = matches!(episode.waits[0].end, Some(WaitEnd::Abandoned { .. }));
            assert_eq!(abandoned, planned.abandoned, "{stored:#?}");
            let holders: Vec<_> = episode.holds.iter().map(|hold| hold.agent_id.clone()).collect();
            assert_eq!(holders, planned.agents);
            assert!(episode.holds.iter().all(|hold| hold.duration().is_some()));
            assert_eq!(episode.waits[0].first_response.is_some(), planned.answered);
            assert_eq!(episode.rating.as_ref().map(|r| (r.score, r.times_given)), planned.rating);
            *seen.entry("episode").or_default() += 1;
            *seen.entry("reopened").or_default() += u32::from(planned.reopened);
            *seen.entry("abandoned").or_default() += u32::from(planned.abandoned);
            *seen.entry("transferred").or_default() += u32::from(planned.agents.len() > 1);
            *seen.entry("unanswered").or_default() += u32::from(!planned.abandoned && !planned.answered);
            *seen.entry("rated").or_default() += u32::from(planned.rating.is_some());
            *seen.entry("rating changed").or_default() += u32::from(planned.rating.is_some_and(|r| r.1 > 1));
        }
        let days = stored.iter().map(|event| event.at.date()).collect::<std::collections::BTreeSet<_>>();
        *seen.entry("over midnight").or_default() += u32::from(days.len() > 1);
    }

    // Every kind of lifecycle the rollup must handle is in the log.
    for kind in
        ["reopened", "abandoned", "transferred", "unanswered", "rated", "rating changed", "over midnight"]
    {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "no {kind} episode in {seen:?}");
    }
}
