//! The item store: the one seam to the database, a small typed language over DynamoDB's model.
//!
//! Repositories are written once against [`ItemStore`]; `DynamoItemStore` runs it on DynamoDB and
//! `SqliteItemStore` on an embedded SQLite file. Both are held to the same conformance suite, so
//! the semantics below (conditions, counters, transactions, paging) are the contract of both.

pub mod changes;
pub mod cursor;
pub mod dynamo;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod validate;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

pub use cursor::Cursor;

/// An item: attribute name → JSON value. Strings, numbers, booleans, null, lists and maps.
pub type Item = Map<String, Value>;

/// Name of the table's partition key attribute.
pub const PK: &str = "pk";
/// Name of the table's sort key attribute.
pub const SK: &str = "sk";
/// Name of the attribute DynamoDB's TTL deletes items by (epoch seconds).
pub const TTL: &str = "expires_at";

/// A secondary index: its name and the attributes that key it. Every index projects all attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexDef {
    /// Index name as in DynamoDB (`gsi1`).
    pub name: &'static str,
    /// Partition key attribute of the index.
    pub pk: &'static str,
    /// Sort key attribute of the index.
    pub sk: &'static str,
}

/// The global secondary indexes of the Switchboard table (mirrored in `infra/template.yaml`).
pub const INDEXES: [IndexDef; 3] = [
    IndexDef { name: "gsi1", pk: "gsi1pk", sk: "gsi1sk" },
    IndexDef { name: "gsi2", pk: "gsi2pk", sk: "gsi2sk" },
    IndexDef { name: "gsi3", pk: "gsi3pk", sk: "gsi3sk" },
];

/// Looks up an index definition by name.
pub fn index(name: &str) -> Option<IndexDef> {
    INDEXES.iter().copied().find(|i| i.name == name)
}

/// DynamoDB's limit on one item's size, enforced by both adapters.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB's limit on operations in one transaction, enforced by both adapters.
pub const MAX_TRANSACTION_OPS: usize = 100;
/// Largest page a query may ask for.
pub const MAX_QUERY_LIMIT: usize = 1000;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Partition key value.
    pub pk: String,
    /// Sort key value.
    pub sk: String,
}

impl Key {
    /// Builds a key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// A condition on the item currently stored under a key (absent item: every attribute missing).
///
/// Comparisons follow DynamoDB: `LessThan`/`GreaterThan` compare two strings by bytes or two
/// numbers numerically and are false for values of different types or a missing attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// No item exists under the key.
    NotExists,
    /// An item exists under the key.
    Exists,
    /// The attribute is present (and the item exists).
    AttributeExists(String),
    /// The attribute is missing (or the item does not exist).
    AttributeNotExists(String),
    /// The attribute equals the value.
    Equals(String, Value),
    /// The attribute is missing or differs from the value (DynamoDB's `<>`).
    NotEquals(String, Value),
    /// The attribute is less than the value.
    LessThan(String, Value),
    /// The attribute is greater than the value.
    GreaterThan(String, Value),
    /// The attribute is a string that begins with the prefix (DynamoDB's `begins_with`; false
    /// for a missing attribute or another type).
    BeginsWith(String, String),
    /// All of the conditions hold.
    And(Vec<Condition>),
    /// At least one of the conditions holds.
    Or(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// One change to an item's attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    /// Sets the attribute to the value.
    Set(String, Value),
    /// Adds a number to a numeric attribute (a missing attribute counts as 0): an atomic counter.
    Add(String, i64),
    /// Removes the attribute.
    Remove(String),
}

/// A range on the sort key within one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRange {
    /// Every sort key.
    All,
    /// Sort keys that begin with the prefix.
    BeginsWith(String),
    /// Sort keys between the two values, both included.
    Between(String, String),
    /// Sort keys strictly greater than the value.
    After(String),
    /// Sort keys strictly less than the value.
    Before(String),
}

/// A query: one partition of the table or of an index, a sort-key range, a page.
#[derive(Debug, Clone)]
pub struct Query {
    /// `None` for the table, or an index name from [`INDEXES`].
    pub index: Option<&'static str>,
    /// Partition key value (of the table or the index).
    pub partition: String,
    /// Sort key range.
    pub range: KeyRange,
    /// Ascending sort-key order when true.
    pub ascending: bool,
    /// Most items in the page (1..=[`MAX_QUERY_LIMIT`]).
    pub limit: usize,
    /// Where the previous page stopped.
    pub cursor: Option<Cursor>,
    /// Items that fail this condition are left out of the page (like a DynamoDB filter); the
    /// adapter keeps reading until the page is full or the range ends. A filter may not name the
    /// queried key attributes nor use `Exists`/`NotExists` (DynamoDB refuses both).
    pub filter: Option<Condition>,
    /// Items carry only their keys: `pk`, `sk` and the queried index's attributes (DynamoDB's
    /// `ProjectionExpression`; SQLite then reads no item body unless a filter needs it).
    pub keys_only: bool,
}

impl Query {
    /// A query over a whole partition of the table, ascending, with the default page size.
    pub fn table(partition: impl Into<String>) -> Self {
        Self {
            index: None,
            partition: partition.into(),
            range: KeyRange::All,
            ascending: true,
            limit: 50,
            cursor: None,
            filter: None,
            keys_only: false,
        }
    }

    /// A query over a whole partition of an index, ascending, with the default page size.
    pub fn index(index: &'static str, partition: impl Into<String>) -> Self {
        Self { index: Some(index), ..Self::table(partition) }
    }

    /// Restricts the sort key.
    pub fn range(mut self, range: KeyRange) -> Self {
        self.range = range;
        self
    }

    /// Newest-first (descending) when false.
    pub fn ascending(mut self, ascending: bool) -> Self {
        self.ascending = ascending;
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after a previous page.
    pub fn cursor(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Leaves out items that fail the condition.
    pub fn filter(mut self, filter: Condition) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Returns only the items' key attributes.
    pub fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    /// The attributes a keys-only page carries: the table's key, then the index's.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![PK, SK];
        if let Some(def) = self.index.and_then(index) {
            names.extend([def.pk, def.sk]);
        }
        names
    }
}

/// One page of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The items, in sort-key order.
    pub items: Vec<Item>,
    /// Where to continue, or `None` when the range is exhausted.
    pub next: Option<Cursor>,
}

/// An item as an adapter hands it over to be decoded into a record: the JSON text it stores
/// (SQLite), or the item it has already decoded (DynamoDB, from its attribute values). Decoding
/// either skips building what the other would need: no [`Item`] for stored text, no text for an
/// item. The text exists only in builds with the SQLite store (the `sqlite` feature): the
/// functions, on DynamoDB alone, carry no decoder for it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawItem {
    /// The item's JSON object, as stored.
    #[cfg(feature = "sqlite")]
    Json(String),
    /// The item.
    Decoded(Item),
}

impl RawItem {
    /// The item decoded into `T` (attributes `T` does not name are skipped).
    pub fn decode<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        match self {
            #[cfg(feature = "sqlite")]
            RawItem::Json(text) => serde_json::from_str(&text),
            RawItem::Decoded(item) => serde_json::from_value(Value::Object(item)),
        }
    }
}

/// One page of a query, its items as [`RawItem`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPage {
    /// The items, in sort-key order.
    pub items: Vec<RawItem>,
    /// Where to continue, or `None` when the range is exhausted.
    pub next: Option<Cursor>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    /// Puts (replaces) an item, if the condition holds.
    Put { item: Item, condition: Option<Condition> },
    /// Updates an item (creating it when absent), if the condition holds.
    Update { key: Key, actions: Vec<UpdateAction>, condition: Option<Condition> },
    /// Deletes an item, if the condition holds.
    Delete { key: Key, condition: Option<Condition> },
    /// Only checks a condition.
    Check { key: Key, condition: Condition },
}

impl TxOp {
    /// The operation with the name its condition is reported by when it fails.
    pub fn named(self, name: &'static str) -> NamedTxOp {
        NamedTxOp { name, op: self }
    }
}

/// An operation of a transaction and its name, given where the transaction is built
/// (`"not_blocked"`, `"open_place"`): a cancelled transaction reports its failed conditions by
/// these names, so the caller maps each to its meaning by name, never by position.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTxOp {
    /// What the caller calls the operation's condition.
    pub name: &'static str,
    /// The operation.
    pub op: TxOp,
}

/// Errors of the item store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of a put, update or delete did not hold; nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; nothing was written. `failed` names the operations whose
    /// condition did not hold ([`NamedTxOp::name`]), in the transaction's order.
    #[error("transaction cancelled: conditions {failed:?} failed")]
    TransactionCanceled { failed: Vec<&'static str> },
    /// The request was invalid (bad key, item too large, too many operations, bad cursor...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The cursor was not one this query produced.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend failed in a way a retry will not mend (an unreadable item, a bug...).
    #[error("store backend failed: {0}")]
    Backend(String),
    /// The backend did not answer in time, could not be reached, throttled the request, or (SQLite)
    /// another process holds the file's lock: nothing was written, and the same request may
    /// succeed a little later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// [`ItemStore::count`] by reading the query's keys-only pages.
async fn count_pages<S: ItemStore + ?Sized>(store: &S, query: Query) -> Result<u64, StoreError> {
    let mut query = query.keys_only().limit(MAX_QUERY_LIMIT).cursor(None);
    let mut count = 0;
    loop {
        let page = store.query(query.clone()).await?;
        count += page.items.len() as u64;
        match page.next {
            Some(next) => query = query.cursor(Some(next)),
            None => return Ok(count),
        }
    }
}

/// The item store trait: DynamoDB's model, typed.
#[async_trait]
pub trait ItemStore: Send + Sync {
    /// Reads one item (strongly consistent).
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Puts (replaces) an item, if the condition holds. The item must carry `pk` and `sk`.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError>;

    /// Updates an item (creating it when absent), if the condition holds; returns the new item.
    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError>;

    /// Deletes an item, if the condition holds; returns the item that was deleted, if any.
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError>;

    /// Reads one page of a partition.
    async fn query(&self, query: Query) -> Result<Page, StoreError>;

    /// How many items the query's partition and range hold that pass its filter, over every page
    /// (its limit and cursor are not used): DynamoDB's `Select=COUNT`, which reads (and bills)
    /// what the query would and returns none of it. The default counts the keys-only pages of
    /// [`query`](Self::query); SQLite counts in SQL when the filter names only table keys.
    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        count_pages(self, query).await
    }

    /// Reads several items by key, strongly consistent, each as [`get`](Self::get) reads it:
    /// the answers in the keys' order (a key given twice is answered twice). The default gets
    /// eight at a time; DynamoDB asks `BatchGetItem` (100 keys a call, unprocessed keys asked
    /// again), SQLite reads them all in one hand-off.
    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        futures::stream::iter(keys)
            .map(|key| async move { self.get(&key).await })
            .buffered(8)
            .try_collect()
            .await
    }

    /// Reads the first page of each query, in their order: one request per query, as `query`
    /// would make, run eight at a time; an adapter may run them together (SQLite: one hand-off
    /// to its thread for all of them instead of one each).
    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        futures::stream::iter(queries).map(|query| self.query(query)).buffered(8).try_collect().await
    }

    /// [`query_many`](Self::query_many) with the items as the adapter holds them ([`RawItem`]):
    /// a reader of many items decodes each straight into its own type. SQLite hands over the
    /// stored JSON; the default, DynamoDB's, the items it decoded.
    async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
        let pages = self.query_many(queries).await?;
        Ok(pages
            .into_iter()
            .map(|page| RawPage {
                items: page.items.into_iter().map(RawItem::Decoded).collect(),
                next: page.next,
            })
            .collect())
    }

    /// Puts several items unconditionally, each replacing any item with its key, each checked as
    /// [`put`](Self::put) checks it, no key twice. Not one transaction: after an error some may
    /// be written, so write only what a rerun rewrites the same. The default puts eight at a
    /// time (on DynamoDB `PutItem`s: the write units of a `BatchWriteItem`, without its code in
    /// every function); SQLite writes them all in one transaction.
    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        validate::check_distinct_keys(&items)?;
        futures::stream::iter(items)
            .map(|item| self.put(item, None))
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    /// Applies all operations or none. At most [`MAX_TRANSACTION_OPS`], each key at most once.
    /// When conditions fail, [`StoreError::TransactionCanceled`] names every one of them.
    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError>;
}
