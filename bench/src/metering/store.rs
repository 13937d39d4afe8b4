//! An item store that meters DynamoDB's capacity units by partition key: every read and write
//! passes through to the wrapped store and is charged, from the real item sizes, to the table's
//! partition and to each index partition the item is (or was) keyed in, in the simulated second
//! the simulator set. The figures follow DynamoDB's billing: 1 write unit per KB written (of the
//! larger of the old and new item), twice in a transaction, an index write per index whose keys
//! the item carries (two when its index key changes: the old entry's delete and the new put);
//! 1 read unit per 4 KB read strongly, half eventually consistent (every index read); a Query's
//! units from the bytes of the items it returns, rounded up once per page.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, NamedTxOp, Page, Query, RawPage, StoreError, TxOp, UpdateAction,
    INDEXES, PK,
};

use super::units::item_size;

tokio::task_local! {
    /// The request (a function's name) the store calls of this task are made for.
    pub static REQUEST: &'static str;
}

/// The partition a unit is charged to: `table` or an index name, and the partition key value.
pub type Partition = (&'static str, String);

/// Units one partition received in one second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    /// Write units.
    pub write: f64,
    /// Read units.
    pub read: f64,
}

/// The largest item written under a key pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Largest {
    /// Bytes (DynamoDB's item size).
    pub bytes: usize,
    /// The item's key.
    pub key: String,
}

/// Everything metered so far.
#[derive(Debug, Default)]
pub struct Metered {
    /// The simulated second units are charged to now.
    pub second: u64,
    /// Per second, per partition.
    pub seconds: HashMap<u64, HashMap<Partition, Units>>,
    /// Largest item written per key pattern (the partition key without its ids).
    pub largest: HashMap<String, Largest>,
    /// Store calls per request name (requests made outside a request: `changes-process`).
    pub calls: HashMap<&'static str, u64>,
}

impl Metered {
    /// Units per index and key pattern ([`pattern`]), all seconds together.
    pub fn by_pattern(&self) -> HashMap<(&'static str, String), Units> {
        let mut out: HashMap<(&'static str, String), Units> = HashMap::new();
        for ((index, pk), units) in self.seconds.values().flatten() {
            let entry = out.entry((*index, pattern(pk))).or_default();
            entry.write += units.write;
            entry.read += units.read;
        }
        out
    }

    /// Every partition's and second's units added up, and the calls made.
    pub fn totals(&self) -> (Units, u64) {
        let mut units = Units::default();
        for partition in self.seconds.values().flat_map(HashMap::values) {
            units.write += partition.write;
            units.read += partition.read;
        }
        (units, self.calls.values().sum())
    }
}

/// `inner`, metered.
pub struct MeteredStore<S> {
    inner: S,
    metered: Mutex<Metered>,
}

/// A partition key with its ids blanked out: `SESSION#01J…` → `SESSION#*`, `STATS#DAY` stays.
pub fn pattern(pk: &str) -> String {
    pk.split('#')
        .map(|part| {
            let id_like = part.len() >= 20 || part.chars().any(|c| c.is_ascii_digit()) || part.contains(':');
            if id_like {
                "*"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("#")
}

fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The partitions an item is keyed in: the table's, then each index's it carries.
fn partitions(item: &Item) -> Vec<Partition> {
    let mut out = Vec::new();
    if let Some(pk) = text(item, PK) {
        out.push(("table", pk));
    }
    for index in INDEXES {
        if let Some(pk) = text(item, index.pk) {
            out.push((index.name, pk));
        }
    }
    out
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

fn read_units(bytes: usize, strong: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if strong {
        units
    } else {
        units / 2.0
    }
}

impl<S: ItemStore> MeteredStore<S> {
    /// Meters `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner, metered: Mutex::new(Metered::default()) }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Charges from now on to `second`.
    pub fn set_second(&self, second: u64) {
        if let Ok(mut metered) = self.metered.lock() {
            metered.second = second;
        }
    }

    /// Runs `read` on what was metered so far.
    pub fn read<T>(&self, read: impl FnOnce(&Metered) -> T) -> Option<T> {
        self.metered.lock().ok().map(|metered| read(&metered))
    }

    /// Forgets what was metered (the set-up before the measured seconds).
    pub fn reset(&self) {
        if let Ok(mut metered) = self.metered.lock() {
            *metered = Metered { second: metered.second, ..Metered::default() };
        }
    }

    fn charge(&self, calls: u64, units: impl IntoIterator<Item = (Partition, Units)>) {
        let request = REQUEST.try_with(|name| *name).unwrap_or("changes-process");
        if let Ok(mut metered) = self.metered.lock() {
            *metered.calls.entry(request).or_default() += calls;
            let second = metered.second;
            let bucket = metered.seconds.entry(second).or_default();
            for (partition, add) in units {
                let entry = bucket.entry(partition).or_default();
                entry.write += add.write;
                entry.read += add.read;
            }
        }
    }

    fn note_size(&self, item: &Item, bytes: usize) {
        let Some(pk) = text(item, PK) else { return };
        if let Ok(mut metered) = self.metered.lock() {
            let largest = metered.largest.entry(pattern(&pk)).or_default();
            if bytes > largest.bytes {
                *largest = Largest { bytes, key: format!("{pk} / {}", text(item, "sk").unwrap_or_default()) };
            }
        }
    }

    /// The units of replacing `old` by `new` (either absent), times `factor` (2 in a transaction).
    fn write_charge(&self, old: Option<&Item>, new: Option<&Item>, factor: f64) -> Vec<(Partition, Units)> {
        let old_size = old.map(item_size).unwrap_or(0);
        let new_size = new.map(item_size).unwrap_or(0);
        if let Some(new) = new {
            self.note_size(new, new_size);
        }
        let table = write_units(old_size.max(new_size)) * factor;
        let old_parts = old.map(partitions).unwrap_or_default();
        let new_parts = new.map(partitions).unwrap_or_default();
        let mut out = Vec::new();
        if let Some((_, pk)) = new_parts.first().or(old_parts.first()) {
            out.push((("table", pk.clone()), Units { write: table, read: 0.0 }));
        }
        for index in INDEXES {
            let before = old_parts.iter().find(|(name, _)| *name == index.name);
            let after = new_parts.iter().find(|(name, _)| *name == index.name);
            let same_key = before.is_some()
                && after.is_some()
                && before == after
                && old.and_then(|o| text(o, index.sk)) == new.and_then(|n| text(n, index.sk));
            if same_key {
                let units = write_units(old_size.max(new_size));
                out.push((index_partition(after), Units { write: units, read: 0.0 }));
                continue;
            }
            if before.is_some() {
                out.push((index_partition(before), Units { write: write_units(old_size), read: 0.0 }));
            }
            if after.is_some() {
                out.push((index_partition(after), Units { write: write_units(new_size), read: 0.0 }));
            }
        }
        out
    }

    async fn current(&self, key: &Key) -> Option<Item> {
        self.inner.get(key).await.ok().flatten()
    }

    async fn charge_op(&self, op: &TxOp) -> Vec<(Partition, Units)> {
        match op {
            TxOp::Put { item, .. } => {
                let key = Key::new(text(item, PK).unwrap_or_default(), text(item, "sk").unwrap_or_default());
                let old = self.current(&key).await;
                self.write_charge(old.as_ref(), Some(item), 2.0)
            }
            TxOp::Update { key, actions, .. } => {
                let old = self.current(key).await;
                let new = applied(key, old.clone(), actions);
                self.write_charge(old.as_ref(), Some(&new), 2.0)
            }
            TxOp::Delete { key, .. } => {
                let old = self.current(key).await;
                self.write_charge(old.as_ref(), None, 2.0)
            }
            TxOp::Check { key, .. } => {
                let bytes = self.current(key).await.as_ref().map(item_size).unwrap_or(0);
                vec![(("table", key.pk.clone()), Units { write: write_units(bytes) * 2.0, read: 0.0 })]
            }
        }
    }

    fn charge_query(&self, query: &Query, bytes: usize) {
        let strong = query.index.is_none();
        let partition = (query.index.unwrap_or("table"), query.partition.clone());
        self.charge(1, [(partition, Units { write: 0.0, read: read_units(bytes, strong) })]);
    }
}

fn index_partition(found: Option<&Partition>) -> Partition {
    found.cloned().unwrap_or(("table", String::new()))
}

/// The item an update leaves (an estimate of its size: counters added as numbers).
fn applied(key: &Key, old: Option<Item>, actions: &[UpdateAction]) -> Item {
    let mut item = old.unwrap_or_else(|| {
        let mut item = Item::new();
        item.insert(PK.into(), Value::from(key.pk.clone()));
        item.insert("sk".into(), Value::from(key.sk.clone()));
        item
    });
    for action in actions {
        match action {
            UpdateAction::Set(name, value) => {
                item.insert(name.clone(), value.clone());
            }
            UpdateAction::Add(name, by) => {
                let now = item.get(name).and_then(Value::as_i64).unwrap_or(0) + by;
                item.insert(name.clone(), Value::from(now));
            }
            UpdateAction::Remove(name) => {
                item.remove(name);
            }
        }
    }
    item
}

#[async_trait]
impl<S: ItemStore> ItemStore for MeteredStore<S> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let found = self.inner.get(key).await?;
        let bytes = found.as_ref().map(item_size).unwrap_or(0);
        self.charge(1, [(("table", key.pk.clone()), Units { write: 0.0, read: read_units(bytes, true) })]);
        Ok(found)
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let key = Key::new(text(&item, PK).unwrap_or_default(), text(&item, "sk").unwrap_or_default());
        let old = self.current(&key).await;
        let charge = self.write_charge(old.as_ref(), Some(&item), 1.0);
        let result = self.inner.put(item, condition).await;
        self.charge(1, charge);
        result
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let old = self.current(key).await;
        let result = self.inner.update(key, actions.clone(), condition).await;
        let new = match &result {
            Ok(new) => new.clone(),
            Err(_) => applied(key, old.clone(), &actions),
        };
        self.charge(1, self.write_charge(old.as_ref(), Some(&new), 1.0));
        result
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        let old = self.current(key).await;
        let result = self.inner.delete(key, condition).await;
        self.charge(1, self.write_charge(old.as_ref(), None, 1.0));
        result
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query.clone()).await?;
        self.charge_query(&query, page.items.iter().map(item_size).sum());
        Ok(page)
    }

    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        let pages = self.inner.query_many(queries.clone()).await?;
        for (query, page) in queries.iter().zip(&pages) {
            self.charge_query(query, page.items.iter().map(item_size).sum());
        }
        Ok(pages)
    }

    async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
        // Decoded here to be measured: the simulator's reads of many items are few.
        let pages = self.query_many(queries).await?;
        Ok(pages
            .into_iter()
            .map(|page| RawPage {
                items: page.items.into_iter().map(switchboard_shared::store::RawItem::Decoded).collect(),
                next: page.next,
            })
            .collect())
    }

    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        let found = self.inner.get_many(keys.clone()).await?;
        let units = keys.iter().zip(&found).map(|(key, item)| {
            let bytes = item.as_ref().map(item_size).unwrap_or(0);
            (("table", key.pk.clone()), Units { write: 0.0, read: read_units(bytes, true) })
        });
        let calls = keys.len().div_ceil(100) as u64;
        self.charge(calls, units.collect::<Vec<_>>());
        Ok(found)
    }

    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut charges = Vec::new();
        for item in &items {
            let key = Key::new(text(item, PK).unwrap_or_default(), text(item, "sk").unwrap_or_default());
            let old = self.current(&key).await;
            charges.extend(self.write_charge(old.as_ref(), Some(item), 1.0));
        }
        let calls = items.len() as u64;
        let result = self.inner.put_many(items).await;
        self.charge(calls, charges);
        result
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        let mut charges = Vec::new();
        for op in &ops {
            charges.extend(self.charge_op(&op.op).await);
        }
        let result = self.inner.transact_write(ops).await;
        self.charge(1, charges);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchboard_shared::store::sqlite::SqliteItemStore;

    fn item(value: Value) -> Item {
        match value {
            Value::Object(item) => item,
            _ => Item::new(),
        }
    }

    fn units(store: &MeteredStore<SqliteItemStore>, index: &'static str, pk: &str) -> Units {
        store
            .read(|m| m.seconds.get(&0).and_then(|s| s.get(&(index, pk.to_owned())).copied()))
            .flatten()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_transactional_put_costs_twice_and_each_index_once() {
        let store = MeteredStore::new(SqliteItemStore::in_memory().unwrap());
        let put = TxOp::Put {
            item: item(json!({"pk": "A", "sk": "1", "gsi1pk": "G", "gsi1sk": "x"})),
            condition: None,
        };

        store.transact_write(vec![put.named("put")]).await.unwrap();

        assert_eq!(units(&store, "table", "A").write, 2.0);
        assert_eq!(units(&store, "gsi1", "G").write, 1.0);
    }

    #[tokio::test]
    async fn moving_an_index_key_writes_the_old_and_the_new_partition() {
        let store = MeteredStore::new(SqliteItemStore::in_memory().unwrap());
        store.put(item(json!({"pk": "A", "sk": "1", "gsi2pk": "OLD", "gsi2sk": "x"})), None).await.unwrap();

        store.put(item(json!({"pk": "A", "sk": "1", "gsi2pk": "NEW", "gsi2sk": "x"})), None).await.unwrap();

        assert_eq!(units(&store, "gsi2", "OLD").write, 2.0);
        assert_eq!(units(&store, "gsi2", "NEW").write, 1.0);
        assert_eq!(units(&store, "table", "A").write, 2.0);
    }

    #[tokio::test]
    async fn an_index_query_reads_half_a_unit_per_4_kb() {
        let store = MeteredStore::new(SqliteItemStore::in_memory().unwrap());
        let body = "x".repeat(5000);
        store
            .put(item(json!({"pk": "A", "sk": "1", "gsi1pk": "G", "gsi1sk": "1", "b": body})), None)
            .await
            .unwrap();

        store.query(Query::index("gsi1", "G")).await.unwrap();
        store.get(&Key::new("A", "1")).await.unwrap();

        assert_eq!(units(&store, "gsi1", "G").read, 1.0);
        assert_eq!(units(&store, "table", "A").read, 2.0);
    }

    #[test]
    fn ids_are_blanked_in_patterns() {
        assert_eq!(pattern("SESSION#01JABCDEFGHJKMNPQRSTVWXYZ0"), "SESSION#*");
        assert_eq!(pattern("STATS#DAY"), "STATS#DAY");
        assert_eq!(pattern("EVENTS#2026-12-06"), "EVENTS#*");
    }
}
