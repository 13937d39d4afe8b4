//! An item store that meters its writes: the process CPU time spent while at least one write
//! (put, update, delete, transaction) is in flight, which in a rollup is its write stage (the
//! items' encoding on the rollup's thread, the store's work on its own). Reads pass through.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, NamedTxOp, Page, Query, RawPage, StoreError, UpdateAction,
};

use super::usage::cpu_time;

/// What the writes used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriteUsage {
    /// Process CPU time while a write was in flight.
    pub cpu: Duration,
    /// Items written (a batch or a transaction counts its items).
    pub writes: u64,
}

#[derive(Default)]
struct Meter {
    in_flight: usize,
    since: Duration,
    usage: WriteUsage,
}

/// `inner`, with its writes metered.
pub struct MeteredWrites<S> {
    inner: S,
    meter: Mutex<Meter>,
}

impl<S: ItemStore> MeteredWrites<S> {
    /// Meters the writes to `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner, meter: Mutex::new(Meter::default()) }
    }

    /// What the writes used so far.
    pub fn usage(&self) -> WriteUsage {
        self.meter.lock().map(|meter| meter.usage).unwrap_or_default()
    }

    fn start(&self, items: usize) -> InFlight<'_> {
        if let Ok(mut meter) = self.meter.lock() {
            if meter.in_flight == 0 {
                meter.since = cpu_time();
            }
            meter.in_flight += 1;
            meter.usage.writes += items as u64;
        }
        InFlight(&self.meter)
    }
}

/// One write in flight; the meter stops when the last one ends (or is dropped unfinished).
struct InFlight<'a>(&'a Mutex<Meter>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut meter) = self.0.lock() {
            meter.in_flight = meter.in_flight.saturating_sub(1);
            if meter.in_flight == 0 {
                let spent = cpu_time().saturating_sub(meter.since);
                meter.usage.cpu += spent;
            }
        }
    }
}

#[async_trait]
impl<S: ItemStore> ItemStore for MeteredWrites<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let _in_flight = self.start(1);
        self.inner.put(item, condition).await
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let _in_flight = self.start(1);
        self.inner.update(key, actions, condition).await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        let _in_flight = self.start(1);
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.inner.count(query).await
    }

    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        self.inner.query_many(queries).await
    }

    async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
        self.inner.query_many_raw(queries).await
    }

    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let _in_flight = self.start(items.len());
        self.inner.put_many(items).await
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        let _in_flight = self.start(ops.len());
        self.inner.transact_write(ops).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_shared::store::sqlite::SqliteItemStore;

    #[tokio::test]
    async fn writes_are_counted_and_reads_are_not() {
        let store = MeteredWrites::new(SqliteItemStore::in_memory().unwrap());
        let serde_json::Value::Object(item) = json!({"pk": "P", "sk": "S", "n": 1}) else { unreachable!() };

        let serde_json::Value::Object(other) = json!({"pk": "P", "sk": "T"}) else { unreachable!() };

        store.put(item.clone(), None).await.unwrap();
        store.put_many(vec![item, other]).await.unwrap();
        store.get(&Key::new("P", "S")).await.unwrap();
        store.query(Query::table("P")).await.unwrap();
        store.query_many_raw(vec![Query::table("P")]).await.unwrap();

        assert_eq!(store.usage().writes, 3);
    }
}
