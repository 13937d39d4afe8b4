//! SQLite adapter of the item store: DynamoDB's semantics on one embedded database file.
//!
//! Every item is one row of JSON plus copies of its key attributes (table, indexes, TTL) in
//! columns, so SQLite can find and order rows. Conditions, updates and transactions are evaluated
//! in Rust on the decoded item inside one `BEGIN IMMEDIATE` transaction, which makes conditional
//! writes atomic even when several processes share the file.
//!
//! Every write also appends its change record (kind, keys, old and new image) to the `changes`
//! table in the same transaction: the local stand-in for the table's DynamoDB Stream, read in
//! order by the change feed's consumer, so a crash between a write and its reactions leaves the
//! change in the feed.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{Number, Value};
use tokio::sync::{oneshot, Notify};

use super::changes::{ChangeKind, ChangeRecord};
use super::validate::{check_condition, check_index_keys, check_key, check_name, check_query};
use super::{
    Condition, Cursor, Item, ItemStore, Key, KeyRange, NamedTxOp, Page, Query, RawItem, RawPage, StoreError,
    TxOp, UpdateAction, INDEXES, MAX_ITEM_BYTES, MAX_TRANSACTION_OPS, PK, SK, TTL,
};

/// How long SQLite work may wait, so that a file another process holds locked answers
/// [`StoreError::Unavailable`] within a bounded time instead of queueing writes behind each
/// other (each waiting its full busy timeout in turn). Worst case of one operation: the queue
/// wait plus the busy timeout (1.5 s by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteLimits {
    /// How long a write waits for another connection's lock on the file before it gives up:
    /// `SWITCHBOARD_SQLITE_BUSY_TIMEOUT_MS`, default 500.
    pub busy_timeout: Duration,
    /// How long an operation may wait for the connection's thread, when an operation found the
    /// file locked meanwhile, before it is refused without running:
    /// `SWITCHBOARD_SQLITE_QUEUE_WAIT_MS`, default 1,000.
    pub queue_wait: Duration,
}

/// Largest busy timeout or queue wait accepted from the environment.
const MAX_SQLITE_WAIT: Duration = Duration::from_secs(10);

impl Default for SqliteLimits {
    fn default() -> Self {
        Self { busy_timeout: Duration::from_millis(500), queue_wait: Duration::from_millis(1_000) }
    }
}

impl SqliteLimits {
    /// The limits from the environment, the defaults for what is not set.
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            busy_timeout: crate::config::millis_var(
                "SWITCHBOARD_SQLITE_BUSY_TIMEOUT_MS",
                defaults.busy_timeout,
                MAX_SQLITE_WAIT,
            )?,
            queue_wait: crate::config::millis_var(
                "SWITCHBOARD_SQLITE_QUEUE_WAIT_MS",
                defaults.queue_wait,
                MAX_SQLITE_WAIT,
            )?,
        })
    }
}

/// The item store on an embedded SQLite database (the local gateway and tests use it).
#[derive(Debug, Clone)]
pub struct SqliteItemStore {
    // The connection lives on its own thread, which runs the operations one at a time in the
    // order they arrive (`BEGIN IMMEDIATE` serialises them against other processes sharing the
    // file). One thread, not a pool's: the runtime never blocks on SQLite, and the rows the
    // store allocates come from one malloc arena, not one per pool thread it happened to use.
    jobs: mpsc::Sender<Job>,
    limits: SqliteLimits,
    // Woken after every write, so the feed's consumer reads new changes without polling.
    appended: Arc<Notify>,
}

/// How long the feed keeps a change its consumer has processed (DynamoDB Streams keeps records
/// 24 hours): older processed records are deleted as the checkpoint moves.
pub const FEED_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// The name of the connection's thread (one per store).
pub const THREAD_NAME: &str = "sqlite-store";

/// An operation for the connection's thread.
type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// What the connection's thread holds: the connection, and when an operation last found the
/// file locked by another connection past the busy timeout.
struct Worker {
    conn: Connection,
    locked_at: Option<Instant>,
}

impl SqliteItemStore {
    /// Opens the database file at `path`, creating the file and its schema when missing, with
    /// the default [`SqliteLimits`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteLimits::default())
    }

    /// [`open`](Self::open) with the given limits.
    pub fn open_with(path: &Path, limits: SqliteLimits) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        // WAL lets readers proceed while a writer works; NORMAL stays consistent after an
        // application crash, which is all a local development store needs.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(backend)?;
        Self::init(conn, limits)
    }

    /// Opens a private database that lives in memory and vanishes with the store.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(backend)?, SqliteLimits::default())
    }

    fn init(conn: Connection, limits: SqliteLimits) -> Result<Self, StoreError> {
        conn.busy_timeout(limits.busy_timeout).map_err(backend)?;
        conn.execute_batch(&schema_sql()).map_err(backend)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        // The thread ends (closing the connection) when the last clone of the store is dropped.
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                let mut worker = Worker { conn, locked_at: None };
                while let Ok(job) = queue.recv() {
                    job(&mut worker);
                }
            })
            .map_err(|e| StoreError::Backend(format!("start the sqlite thread: {e}")))?;
        Ok(Self { jobs, limits, appended: Arc::default() })
    }

    /// Woken after every write (a permit is kept when nobody waits): the feed's consumer waits
    /// on it between batches.
    pub fn appended(&self) -> Arc<Notify> {
        Arc::clone(&self.appended)
    }

    /// Up to `limit` change records after sequence `after` (0: from the start), oldest first.
    pub async fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, kind, pk, sk, old_image, new_image, at_ms FROM changes \
                     WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(backend)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            let mut rows = stmt.query(rusqlite::params![after, limit]).map_err(backend)?;
            let mut records = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let kind: String = row.get(1).map_err(backend)?;
                let image = |index: usize| -> Result<Option<Item>, StoreError> {
                    let json: Option<String> = row.get(index).map_err(backend)?;
                    json.as_deref().map(decode).transpose()
                };
                records.push(ChangeRecord {
                    sequence: row.get::<_, i64>(0).map_err(backend)?.to_string(),
                    shard: super::changes::LOCAL_SHARD.to_owned(),
                    kind: ChangeKind::parse(&kind)
                        .ok_or_else(|| StoreError::Backend(format!("a change of unknown kind {kind}")))?,
                    pk: row.get(2).map_err(backend)?,
                    sk: row.get(3).map_err(backend)?,
                    old: image(4)?,
                    new: image(5)?,
                    at_ms: row.get(6).map_err(backend)?,
                });
            }
            Ok(records)
        })
        .await
    }

    /// The sequence of the newest change record (0 when the feed is empty).
    pub async fn last_change(&self) -> Result<u64, StoreError> {
        self.run(|conn| {
            let seq: Option<i64> =
                conn.query_row("SELECT max(seq) FROM changes", [], |row| row.get(0)).map_err(backend)?;
            Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
        })
        .await
    }

    /// Where `consumer` stopped: the sequence of the last change it processed (0: none yet).
    pub async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        let consumer = consumer.to_owned();
        self.run(move |conn| {
            let seq: Option<i64> = conn
                .query_row("SELECT seq FROM change_checkpoints WHERE consumer = ?1", [&consumer], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(backend)?;
            Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
        })
        .await
    }

    /// Records that `consumer` processed every change up to `seq` (a checkpoint never moves
    /// back), and deletes processed changes older than [`FEED_RETENTION_MS`].
    pub async fn set_checkpoint(&self, consumer: &str, seq: u64, now_ms: i64) -> Result<(), StoreError> {
        let consumer = consumer.to_owned();
        let seq = i64::try_from(seq).map_err(|_| StoreError::Invalid("sequence out of range".into()))?;
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
            tx.execute(
                "INSERT INTO change_checkpoints (consumer, seq) VALUES (?1, ?2) \
                 ON CONFLICT (consumer) DO UPDATE SET seq = max(seq, excluded.seq)",
                rusqlite::params![consumer, seq],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM changes WHERE seq <= ?1 AND at_ms < ?2",
                rusqlite::params![seq, now_ms - FEED_RETENTION_MS],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    /// Wakes the feed's consumer after a write that succeeded.
    fn written<T>(&self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        if outcome.is_ok() {
            self.appended.notify_one();
        }
        outcome
    }

    /// Runs several queries in one hand-off and one read transaction (one snapshot, the file's
    /// locks taken once for all), each page made by `page`.
    async fn run_queries<P: Send + 'static>(
        &self,
        queries: Vec<Query>,
        page: fn(QueryPlan, &Connection, &Query) -> Result<P, StoreError>,
    ) -> Result<Vec<P>, StoreError> {
        let plans = queries.iter().map(QueryPlan::new).collect::<Result<Vec<_>, _>>()?;
        self.run(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let pages = plans
                .into_iter()
                .zip(&queries)
                .map(|(plan, query)| page(plan, &tx, query))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().map_err(backend)?;
            Ok(pages)
        })
        .await
    }

    /// Runs `work` on the connection's thread and waits for it without blocking the runtime.
    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let (queued, queue_wait) = (Instant::now(), self.limits.queue_wait);
        let job: Job = Box::new(move |worker| {
            // Behind operations that each waited out the busy timeout on another process's
            // lock, this one would wait their sum: refused unrun instead, so the caller's answer
            // stays bounded. A queue that is merely long (load, no lock) is worked through.
            let locked_meanwhile = worker.locked_at.is_some_and(|at| at >= queued);
            let outcome = if locked_meanwhile && queued.elapsed() > queue_wait {
                Err(StoreError::Unavailable(format!(
                    "sqlite: waited over {} ms for the connection while the file is locked",
                    queue_wait.as_millis()
                )))
            } else {
                // A panic mid-way drops its transaction (SQLite rolls it back) and fails this
                // operation alone; the thread carries on with the next.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut worker.conn)))
                    .unwrap_or_else(|_| Err(StoreError::Backend("a sqlite operation panicked".into())));
                if matches!(outcome, Err(StoreError::Unavailable(_))) {
                    worker.locked_at = Some(Instant::now());
                }
                outcome
            };
            // The caller may have stopped waiting (its request was cancelled): nothing to do.
            let _ = done.send(outcome);
        });
        self.jobs.send(job).map_err(|_| StoreError::Backend("the sqlite thread has stopped".into()))?;
        result.await.map_err(|_| StoreError::Backend("the sqlite thread dropped an operation".into()))?
    }
}

#[async_trait]
impl ItemStore for SqliteItemStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        let key = key.clone();
        self.run(move |conn| load(conn, &key)).await
    }

    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        keys.iter().try_for_each(check_key)?;
        self.run(move |conn| keys.iter().map(|key| load(conn, key)).collect()).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let row = Row::new(item)?;
        if let Some(c) = &condition {
            check_condition(c)?;
        }
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                if let Some(c) = &condition {
                    let current = load(&tx, &row.key)?;
                    if !holds(c, current.as_ref()) {
                        return Err(StoreError::ConditionFailed);
                    }
                }
                save(&tx, &row)?;
                tx.commit().map_err(backend)
            })
            .await;
        self.written(outcome)
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        check_key(key)?;
        check_actions(&actions)?;
        if let Some(c) = &condition {
            check_condition(c)?;
        }
        let key = key.clone();
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                let current = load(&tx, &key)?;
                if let Some(c) = &condition {
                    if !holds(c, current.as_ref()) {
                        return Err(StoreError::ConditionFailed);
                    }
                }
                let row = Row::new(apply(current, &key, &actions)?)?;
                save(&tx, &row)?;
                tx.commit().map_err(backend)?;
                Ok(row.item)
            })
            .await;
        self.written(outcome)
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        if let Some(c) = &condition {
            check_condition(c)?;
        }
        let key = key.clone();
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                let current = load(&tx, &key)?;
                if let Some(c) = &condition {
                    if !holds(c, current.as_ref()) {
                        return Err(StoreError::ConditionFailed);
                    }
                }
                if current.is_some() {
                    erase(&tx, &key)?;
                }
                tx.commit().map_err(backend)?;
                Ok(current)
            })
            .await;
        self.written(outcome)
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let plan = QueryPlan::new(&query)?;
        self.run(move |conn| plan.run(conn, &query)).await
    }

    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        self.run_queries(queries, QueryPlan::run).await
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        match QueryPlan::count(&query)? {
            Some(plan) => self.run(move |conn| plan.run_count(conn)).await,
            None => super::count_pages(self, query).await,
        }
    }

    async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
        self.run_queries(queries, QueryPlan::run_raw).await
    }

    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        super::validate::check_distinct_keys(&items)?;
        let rows = items.into_iter().map(Row::new).collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                for row in &rows {
                    save(&tx, row)?;
                }
                tx.commit().map_err(backend)
            })
            .await;
        self.written(outcome)
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
            return Err(StoreError::Invalid(format!(
                "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations, not {}",
                ops.len()
            )));
        }
        let names: Vec<&'static str> = ops.iter().map(|named| named.name).collect();
        let planned = ops.into_iter().map(|named| Planned::new(named.op)).collect::<Result<Vec<_>, _>>()?;
        let mut keys = HashSet::new();
        if let Some(dup) = planned.iter().map(Planned::key).find(|k| !keys.insert(*k)) {
            // DynamoDB refuses a transaction with two operations on one item.
            return Err(StoreError::Invalid(format!("two operations on item {}/{}", dup.pk, dup.sk)));
        }
        let outcome = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
                // Every condition is judged against the state before the transaction (keys are
                // distinct, so no operation sees another's write), and every failure is reported.
                let mut failed = Vec::new();
                let mut writes = Vec::new();
                for (name, op) in names.into_iter().zip(planned) {
                    let current = load(&tx, op.key())?;
                    if op.condition().is_some_and(|c| !holds(c, current.as_ref())) {
                        failed.push(name);
                        continue;
                    }
                    match op {
                        Planned::Put { row, .. } => writes.push(Write::Save(row)),
                        Planned::Update { key, actions, .. } => {
                            writes.push(Write::Save(Row::new(apply(current, &key, &actions)?)?));
                        }
                        Planned::Delete { key, .. } => writes.push(Write::Erase(key)),
                        Planned::Check { .. } => {}
                    }
                }
                if !failed.is_empty() {
                    // Dropping `tx` rolls back; nothing has been written yet anyway.
                    return Err(StoreError::TransactionCanceled { failed });
                }
                for write in &writes {
                    match write {
                        Write::Save(row) => save(&tx, row)?,
                        Write::Erase(key) => erase(&tx, key)?,
                    }
                }
                tx.commit().map_err(backend)
            })
            .await;
        self.written(outcome)
    }
}

// ---------------------------------------------------------------------------------------------
// Schema and rows

/// The `CREATE` statements: the items table with two columns per index, and one SQL index each.
fn schema_sql() -> String {
    let mut columns = String::new();
    let mut indexes = String::new();
    for def in INDEXES {
        // TEXT columns compare with the BINARY collation: memcmp of UTF-8, DynamoDB's order.
        let _ = write!(columns, "\"{}\" TEXT, \"{}\" TEXT, ", def.pk, def.sk);
        let _ = writeln!(
            indexes,
            "CREATE INDEX IF NOT EXISTS \"items_{name}\" ON items (\"{pk}\", \"{sk}\", pk, sk);",
            name = def.name,
            pk = def.pk,
            sk = def.sk,
        );
    }
    format!(
        "CREATE TABLE IF NOT EXISTS items (\n\
         pk TEXT NOT NULL, sk TEXT NOT NULL, item TEXT NOT NULL, {columns}expires_at INTEGER,\n\
         PRIMARY KEY (pk, sk)) WITHOUT ROWID;\n{indexes}{FEED_SQL}"
    )
}

/// The change feed: one record per write (in the write's transaction), in order, and where each
/// consumer stopped.
const FEED_SQL: &str = "CREATE TABLE IF NOT EXISTS changes (\n\
     seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL,\n\
     old_image TEXT, new_image TEXT, at_ms INTEGER NOT NULL);\n\
     CREATE TABLE IF NOT EXISTS change_checkpoints (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);\n";

/// Milliseconds since the epoch, the time a change record carries.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The statement that writes a row, with one placeholder per column.
fn save_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let mut columns = String::from("pk, sk, item");
        for def in INDEXES {
            let _ = write!(columns, ", \"{}\", \"{}\"", def.pk, def.sk);
        }
        columns.push_str(", expires_at");
        let placeholders = vec!["?"; 4 + 2 * INDEXES.len()].join(", ");
        format!("INSERT OR REPLACE INTO items ({columns}) VALUES ({placeholders})")
    })
}

/// A validated item ready to be written: its key and its JSON.
struct Row {
    key: Key,
    item: Item,
    json: String,
}

impl Row {
    /// Validates an item as DynamoDB would (keys, index key types, size) and encodes it.
    fn new(item: Item) -> Result<Self, StoreError> {
        let key = Key::new(key_attribute(&item, PK)?, key_attribute(&item, SK)?);
        check_key(&key)?;
        if item.contains_key("") {
            return Err(StoreError::Invalid("an attribute name is empty".into()));
        }
        check_index_keys(&item)?;
        let json =
            serde_json::to_string(&item).map_err(|e| StoreError::Backend(format!("encode item: {e}")))?;
        // DynamoDB counts names and values; the JSON text is a close, slightly larger measure.
        if json.len() > MAX_ITEM_BYTES {
            return Err(StoreError::Invalid(format!(
                "item is {} bytes, over the {MAX_ITEM_BYTES}-byte limit",
                json.len()
            )));
        }
        Ok(Self { key, item, json })
    }

    /// The column values, in the order of [`save_sql`].
    fn params(&self) -> Vec<SqlValue> {
        let mut params = Vec::with_capacity(4 + 2 * INDEXES.len());
        params.push(SqlValue::Text(self.key.pk.clone()));
        params.push(SqlValue::Text(self.key.sk.clone()));
        params.push(SqlValue::Text(self.json.clone()));
        for def in INDEXES {
            // Only an item with both index attributes is in the index, as in DynamoDB.
            match (self.item.get(def.pk), self.item.get(def.sk)) {
                (Some(Value::String(p)), Some(Value::String(s))) => {
                    params.push(SqlValue::Text(p.clone()));
                    params.push(SqlValue::Text(s.clone()));
                }
                _ => params.extend([SqlValue::Null, SqlValue::Null]),
            }
        }
        // Stored for inspection and a future sweeper; like moto, nothing deletes expired rows.
        let expires_at = self.item.get(TTL).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)));
        params.push(expires_at.map_or(SqlValue::Null, SqlValue::Integer));
        params
    }
}

fn key_attribute(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(StoreError::Invalid(format!("key attribute {name} must be a string"))),
        None => Err(StoreError::Invalid(format!("item lacks key attribute {name}"))),
    }
}

fn load(conn: &Connection, key: &Key) -> Result<Option<Item>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT item FROM items WHERE pk = ?1 AND sk = ?2").map_err(backend)?;
    let json: Option<String> =
        stmt.query_row([&key.pk, &key.sk], |row| row.get(0)).optional().map_err(backend)?;
    json.as_deref().map(decode).transpose()
}

fn save(conn: &Connection, row: &Row) -> Result<(), StoreError> {
    // The change first, while the old image is still there; a write that changes nothing
    // leaves no record, as in DynamoDB Streams.
    let mut change = conn
        .prepare_cached(
            "INSERT INTO changes (kind, pk, sk, old_image, new_image, at_ms) \
             SELECT CASE WHEN old.item IS NULL THEN 'INSERT' ELSE 'MODIFY' END, ?1, ?2, old.item, ?3, ?4 \
             FROM (SELECT (SELECT item FROM items WHERE pk = ?1 AND sk = ?2) AS item) AS old \
             WHERE old.item IS NOT ?3",
        )
        .map_err(backend)?;
    change.execute(rusqlite::params![row.key.pk, row.key.sk, row.json, now_ms()]).map_err(backend)?;
    let mut stmt = conn.prepare_cached(save_sql()).map_err(backend)?;
    stmt.execute(params_from_iter(row.params())).map_err(backend)?;
    Ok(())
}

fn erase(conn: &Connection, key: &Key) -> Result<(), StoreError> {
    let mut change = conn
        .prepare_cached(
            "INSERT INTO changes (kind, pk, sk, old_image, new_image, at_ms) \
             SELECT 'REMOVE', pk, sk, item, NULL, ?3 FROM items WHERE pk = ?1 AND sk = ?2",
        )
        .map_err(backend)?;
    change.execute(rusqlite::params![key.pk, key.sk, now_ms()]).map_err(backend)?;
    let mut stmt = conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2").map_err(backend)?;
    stmt.execute([&key.pk, &key.sk]).map_err(backend)?;
    Ok(())
}

fn decode(json: &str) -> Result<Item, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Backend(format!("stored item is not a JSON map: {e}")))
}

/// Maps a SQLite error: a file another connection holds locked past the busy timeout is
/// [`StoreError::Unavailable`] (the operation did nothing, and may pass once the lock is gone).
fn backend(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(format!("sqlite: {e}"))
        }
        _ => StoreError::Backend(format!("sqlite: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation (what DynamoDB refuses with a ValidationException)

fn check_actions(actions: &[UpdateAction]) -> Result<(), StoreError> {
    if actions.is_empty() {
        return Err(StoreError::Invalid("an update without actions".into()));
    }
    let mut seen = HashSet::new();
    for action in actions {
        let name = action_attribute(action);
        check_name(name)?;
        if name == PK || name == SK {
            return Err(StoreError::Invalid(format!("cannot update key attribute {name}")));
        }
        // DynamoDB refuses two actions on one attribute ("two document paths overlap").
        if !seen.insert(name) {
            return Err(StoreError::Invalid(format!("two update actions on attribute {name}")));
        }
    }
    Ok(())
}

fn action_attribute(action: &UpdateAction) -> &str {
    match action {
        UpdateAction::Set(name, _) | UpdateAction::Add(name, _) | UpdateAction::Remove(name) => name,
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Whether `condition` holds for `item` (`None`: no item, so every attribute is missing).
fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    let attribute = |name: &str| item.and_then(|i| i.get(name));
    match condition {
        Condition::NotExists => item.is_none(),
        Condition::Exists => item.is_some(),
        Condition::AttributeExists(name) => attribute(name).is_some(),
        Condition::AttributeNotExists(name) => attribute(name).is_none(),
        Condition::Equals(name, value) => attribute(name).is_some_and(|a| values_equal(a, value)),
        // DynamoDB's `a <> :v` is true when `a` is missing.
        Condition::NotEquals(name, value) => !attribute(name).is_some_and(|a| values_equal(a, value)),
        Condition::LessThan(name, value) => {
            attribute(name).and_then(|a| compare(a, value)) == Some(Ordering::Less)
        }
        Condition::GreaterThan(name, value) => {
            attribute(name).and_then(|a| compare(a, value)) == Some(Ordering::Greater)
        }
        Condition::BeginsWith(name, prefix) => {
            attribute(name).and_then(Value::as_str).is_some_and(|a| a.starts_with(prefix.as_str()))
        }
        Condition::And(conditions) => conditions.iter().all(|c| holds(c, item)),
        Condition::Or(conditions) => conditions.iter().any(|c| holds(c, item)),
        Condition::Not(inner) => !holds(inner, item),
    }
}

/// DynamoDB equality: same type, numbers by value (`1` equals `1.0`), lists and maps deeply.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| values_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// DynamoDB ordering: strings by UTF-8 bytes, numbers numerically, anything else unordered.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Number(x), Value::Number(y)) => compare_numbers(x, y),
        _ => None,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    // Integers compare exactly (an f64 would conflate large ones); anything else as f64.
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// Applies update actions to the current item, or to a new item holding only the key.
fn apply(current: Option<Item>, key: &Key, actions: &[UpdateAction]) -> Result<Item, StoreError> {
    let mut item = current.unwrap_or_else(|| {
        let mut item = Item::new();
        item.insert(PK.to_owned(), Value::String(key.pk.clone()));
        item.insert(SK.to_owned(), Value::String(key.sk.clone()));
        item
    });
    for action in actions {
        match action {
            UpdateAction::Set(name, value) => {
                item.insert(name.clone(), value.clone());
            }
            UpdateAction::Add(name, delta) => {
                let sum = match item.get(name) {
                    None => Number::from(*delta),
                    Some(Value::Number(n)) => add(n, *delta)?,
                    Some(_) => {
                        return Err(StoreError::Invalid(format!(
                            "cannot add to non-number attribute {name}"
                        )));
                    }
                };
                item.insert(name.clone(), Value::Number(sum));
            }
            UpdateAction::Remove(name) => {
                item.remove(name);
            }
        }
    }
    Ok(item)
}

fn add(n: &Number, delta: i64) -> Result<Number, StoreError> {
    let out_of_range = || StoreError::Invalid("counter out of range".into());
    match integer(n) {
        Some(x) => {
            let sum = x + i128::from(delta);
            i64::try_from(sum)
                .map(Number::from)
                .or_else(|_| u64::try_from(sum).map(Number::from))
                .map_err(|_| out_of_range())
        }
        None => n.as_f64().and_then(|x| Number::from_f64(x + delta as f64)).ok_or_else(out_of_range),
    }
}

// ---------------------------------------------------------------------------------------------
// Transactions

/// A validated transaction operation.
enum Planned {
    Put { row: Row, condition: Option<Condition> },
    Update { key: Key, actions: Vec<UpdateAction>, condition: Option<Condition> },
    Delete { key: Key, condition: Option<Condition> },
    Check { key: Key, condition: Condition },
}

impl Planned {
    fn new(op: TxOp) -> Result<Self, StoreError> {
        let planned = match op {
            TxOp::Put { item, condition } => Planned::Put { row: Row::new(item)?, condition },
            TxOp::Update { key, actions, condition } => {
                check_key(&key)?;
                check_actions(&actions)?;
                Planned::Update { key, actions, condition }
            }
            TxOp::Delete { key, condition } => {
                check_key(&key)?;
                Planned::Delete { key, condition }
            }
            TxOp::Check { key, condition } => {
                check_key(&key)?;
                Planned::Check { key, condition }
            }
        };
        if let Some(c) = planned.condition() {
            check_condition(c)?;
        }
        Ok(planned)
    }

    fn key(&self) -> &Key {
        match self {
            Planned::Put { row, .. } => &row.key,
            Planned::Update { key, .. } | Planned::Delete { key, .. } | Planned::Check { key, .. } => key,
        }
    }

    fn condition(&self) -> Option<&Condition> {
        match self {
            Planned::Put { condition, .. }
            | Planned::Update { condition, .. }
            | Planned::Delete { condition, .. } => condition.as_ref(),
            Planned::Check { condition, .. } => Some(condition),
        }
    }
}

/// A write a transaction applies once every condition has held.
enum Write {
    Save(Row),
    Erase(Key),
}

// ---------------------------------------------------------------------------------------------
// Queries

/// A validated query turned into SQL.
struct QueryPlan {
    sql: String,
    params: Vec<SqlValue>,
}

impl QueryPlan {
    fn new(query: &Query) -> Result<Self, StoreError> {
        // The key columns (a keys-only page, the cursor), then the item's JSON unless the page
        // is keys only with no filter to judge.
        let mut columns =
            query.key_attributes().iter().map(|name| format!("\"{name}\"")).collect::<Vec<_>>().join(", ");
        if !query.keys_only || query.filter.is_some() {
            columns.push_str(", item");
        }
        let (mut sql, mut params) = Self::selecting(&columns, query)?;
        let sk_col = check_query(query)?.1;
        let mut bound = |sql: &mut String, op: &str, value: &str| {
            let _ = write!(sql, " AND \"{sk_col}\" {op} ?");
            params.push(SqlValue::Text(value.to_owned()));
        };
        let (cmp, dir) = if query.ascending { (">", "ASC") } else { ("<", "DESC") };
        if let Some(cursor) = &query.cursor {
            cursor.check_fits(query)?;
            let sort_key = cursor.sort_key(query.index).ok_or(StoreError::InvalidCursor)?;
            match query.index {
                None => bound(&mut sql, cmp, sort_key),
                Some(_) => {
                    // Index sort keys need not be unique: continue after the whole ordering tuple.
                    let (pk, sk) = cursor.table_key().ok_or(StoreError::InvalidCursor)?;
                    let _ = write!(sql, " AND (\"{sk_col}\", pk, sk) {cmp} (?, ?, ?)");
                    params.extend([sort_key, pk, sk].map(|s| SqlValue::Text(s.to_owned())));
                }
            }
        }
        match query.index {
            None => {
                let _ = write!(sql, " ORDER BY sk {dir}");
            }
            Some(_) => {
                let _ = write!(sql, " ORDER BY \"{sk_col}\" {dir}, pk {dir}, sk {dir}");
            }
        }
        Ok(Self { sql, params })
    }

    /// `SELECT columns FROM items WHERE` the query's partition and sort-key range.
    fn selecting(columns: &str, query: &Query) -> Result<(String, Vec<SqlValue>), StoreError> {
        let (pk_col, sk_col) = check_query(query)?;
        let mut sql = format!("SELECT {columns} FROM items WHERE \"{pk_col}\" = ?");
        let mut params = vec![SqlValue::Text(query.partition.clone())];
        let mut bound = |sql: &mut String, op: &str, value: &str| {
            let _ = write!(sql, " AND \"{sk_col}\" {op} ?");
            params.push(SqlValue::Text(value.to_owned()));
        };
        match &query.range {
            // An index partition only holds items with both attributes; say so for the planner.
            KeyRange::All => {
                let _ = write!(sql, " AND \"{sk_col}\" IS NOT NULL");
            }
            KeyRange::BeginsWith(prefix) => {
                bound(&mut sql, ">=", prefix);
                if let Some(end) = prefix_successor(prefix) {
                    bound(&mut sql, "<", &end);
                }
            }
            KeyRange::Between(low, high) => {
                bound(&mut sql, ">=", low);
                bound(&mut sql, "<=", high);
            }
            KeyRange::After(low) => {
                bound(&mut sql, ">", low);
            }
            KeyRange::Before(high) => {
                bound(&mut sql, "<", high);
            }
        }
        Ok((sql, params))
    }

    /// The count of a query whose filter names only the table's key columns (`None` for another
    /// filter: the items must be read to judge it).
    fn count(query: &Query) -> Result<Option<Self>, StoreError> {
        let (mut sql, mut params) = Self::selecting("COUNT(*)", query)?;
        if let Some(filter) = &query.filter {
            if !key_filter(filter, &mut sql, &mut params) {
                return Ok(None);
            }
        }
        Ok(Some(Self { sql, params }))
    }

    fn run_count(self, conn: &Connection) -> Result<u64, StoreError> {
        let mut stmt = conn.prepare_cached(&self.sql).map_err(backend)?;
        let count: i64 = stmt.query_row(params_from_iter(self.params), |row| row.get(0)).map_err(backend)?;
        u64::try_from(count).map_err(|_| StoreError::Backend(format!("a count of {count}")))
    }

    fn run(self, conn: &Connection, query: &Query) -> Result<Page, StoreError> {
        let names = query.key_attributes();
        let (items, next) = self.scan(conn, query, |row, decoded| match (query.keys_only, decoded) {
            (true, _) => key_item(row, &names),
            (false, Some(item)) => Ok(item),
            (false, None) => decode(body(row, &names)?),
        })?;
        Ok(Page { items, next })
    }

    /// [`run`](Self::run) with the items' JSON as stored (keys-only pages: the key attributes).
    fn run_raw(self, conn: &Connection, query: &Query) -> Result<RawPage, StoreError> {
        let names = query.key_attributes();
        let (items, next) = self.scan(conn, query, |row, _| match query.keys_only {
            true => keys_json(row, &names).map(RawItem::Json),
            false => Ok(RawItem::Json(body(row, &names)?.to_owned())),
        })?;
        Ok(RawPage { items, next })
    }

    /// Streams the rows in order, hands each one that passes the filter to `emit` (with the item
    /// when judging the filter decoded it) until the page is full, and gives the cursor after the
    /// last when one more row proves there is more.
    fn scan<T>(
        self,
        conn: &Connection,
        query: &Query,
        mut emit: impl FnMut(&rusqlite::Row<'_>, Option<Item>) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, Option<Cursor>), StoreError> {
        let names = query.key_attributes();
        let mut stmt = conn.prepare_cached(&self.sql).map_err(backend)?;
        let mut rows = stmt.query(params_from_iter(self.params)).map_err(backend)?;
        let mut out = Vec::new();
        let mut last = None;
        while let Some(row) = rows.next().map_err(backend)? {
            if let Some(last) = last.take() {
                return Ok((out, Some(Cursor::after_item(&last, query.index)?)));
            }
            let decoded = match &query.filter {
                Some(filter) => {
                    let item = decode(body(row, &names)?)?;
                    if !holds(filter, Some(&item)) {
                        continue;
                    }
                    Some(item)
                }
                None => None,
            };
            out.push(emit(row, decoded)?);
            if out.len() == query.limit {
                last = Some(key_item(row, &names)?);
            }
        }
        Ok((out, None))
    }
}

/// Adds `filter` to a query's SQL where it names only the table's key columns (`pk`, `sk`, which
/// every row holds as text): `begins_with` as a range, `And` of such; `false` for any other.
fn key_filter(filter: &Condition, sql: &mut String, params: &mut Vec<SqlValue>) -> bool {
    match filter {
        Condition::BeginsWith(name, prefix) if name == PK || name == SK => {
            let _ = write!(sql, " AND {name} >= ?");
            params.push(SqlValue::Text(prefix.clone()));
            if let Some(end) = prefix_successor(prefix) {
                let _ = write!(sql, " AND {name} < ?");
                params.push(SqlValue::Text(end));
            }
            true
        }
        Condition::And(conditions) => conditions.iter().all(|c| key_filter(c, sql, params)),
        _ => false,
    }
}

/// The key attributes of a row (its first columns), as an item.
fn key_item(row: &rusqlite::Row<'_>, names: &[&str]) -> Result<Item, StoreError> {
    let mut item = Item::new();
    for (i, name) in names.iter().enumerate() {
        item.insert((*name).to_owned(), Value::String(row.get::<_, String>(i).map_err(backend)?));
    }
    Ok(item)
}

/// The key attributes of a row as a JSON object.
fn keys_json(row: &rusqlite::Row<'_>, names: &[&str]) -> Result<String, StoreError> {
    let mut json = Vec::with_capacity(160);
    json.push(b'{');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        let value = row.get_ref(i).and_then(|value| Ok(value.as_str()?)).map_err(backend)?;
        // Attribute names are the schema's plain identifiers; values are escaped.
        json.push(b'"');
        json.extend_from_slice(name.as_bytes());
        json.extend_from_slice(b"\":");
        serde_json::to_writer(&mut json, value)
            .map_err(|e| StoreError::Backend(format!("encode key: {e}")))?;
    }
    json.push(b'}');
    String::from_utf8(json).map_err(|e| StoreError::Backend(format!("encode key: {e}")))
}

/// The stored JSON of a row: the column after the keys.
fn body<'row>(row: &'row rusqlite::Row<'_>, names: &[&str]) -> Result<&'row str, StoreError> {
    row.get_ref(names.len()).and_then(|value| Ok(value.as_str()?)).map_err(backend)
}

/// The smallest string above every string that begins with `prefix`, if any.
///
/// UTF-8 byte order is code point order, so bumping the last code point that can grow (and
/// dropping the ones after it) gives the exclusive upper bound of the prefix range.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut code = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&code) {
            // Surrogates are not characters; the next one is U+E000.
            code = 0xE000;
        }
        if let Some(next) = char::from_u32(code) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefix_successor_bounds_the_prefix_range() {
        assert_eq!(prefix_successor("MSG#").as_deref(), Some("MSG$"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor(""), None);
    }

    #[test]
    fn numbers_compare_by_value_across_representations() {
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(values_equal(&json!({"a": [1, 2.5]}), &json!({"a": [1.0, 2.5]})));
        assert_eq!(compare(&json!(9), &json!(10)), Some(Ordering::Less));
        assert_eq!(compare(&json!(u64::MAX), &json!(-1)), Some(Ordering::Greater));
        assert_eq!(compare(&json!("9"), &json!(10)), None);
    }

    #[test]
    fn add_keeps_integers_exact_and_refuses_overflow() {
        assert_eq!(add(&Number::from(i64::MAX), 1).unwrap(), Number::from(i64::MAX as u64 + 1));
        assert_eq!(add(&Number::from(-3), 2).unwrap(), Number::from(-1));
        assert!(add(&Number::from(u64::MAX), 1).is_err());
        assert_eq!(add(&Number::from_f64(1.5).unwrap(), 1).unwrap(), Number::from_f64(2.5).unwrap());
    }

    #[test]
    fn the_schema_has_two_columns_and_an_index_per_secondary_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&schema_sql()).unwrap();
        for def in INDEXES {
            let sql = format!("SELECT \"{}\", \"{}\" FROM items", def.pk, def.sk);
            conn.prepare(&sql).unwrap();
            let named: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [format!("items_{}", def.name)],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(named, 1);
        }
    }

    #[test]
    fn queries_search_an_index_in_order_without_a_scan_or_a_sort() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&schema_sql()).unwrap();
        let at = |value: Value, index_name| {
            let Value::Object(item) = value else { unreachable!() };
            Cursor::after_item(&item, index_name).unwrap()
        };
        let table_cursor = at(json!({"pk": "P", "sk": "MSG#1"}), None);
        let index_cursor = at(json!({"pk": "X", "sk": "1", "gsi1pk": "P", "gsi1sk": "a"}), Some("gsi1"));
        for query in [
            Query::table("P").range(KeyRange::BeginsWith("MSG#".into())).cursor(Some(table_cursor)),
            Query::table("P").ascending(false),
            Query::index("gsi1", "P").range(KeyRange::Between("a".into(), "b".into())),
            Query::index("gsi1", "P").cursor(Some(index_cursor.clone())),
            Query::index("gsi1", "P").cursor(Some(index_cursor)).ascending(false),
        ] {
            let plan = QueryPlan::new(&query).unwrap();
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql)).unwrap();
            let steps: Vec<String> = stmt
                .query_map(params_from_iter(plan.params), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(steps.iter().all(|s| s.starts_with("SEARCH")), "{query:?}: {steps:?}");
        }
    }

    #[tokio::test]
    async fn every_write_appends_its_change_in_order_and_a_refused_or_idle_one_none() {
        let store = SqliteItemStore::in_memory().unwrap();
        let item = |value: Value| match value {
            Value::Object(item) => item,
            _ => unreachable!(),
        };
        let a = Key::new("P", "a");
        store.put(item(json!({"pk": "P", "sk": "a", "n": 1})), None).await.unwrap();
        store.put(item(json!({"pk": "P", "sk": "a", "n": 1})), None).await.unwrap();
        store.update(&a, vec![UpdateAction::Add("n".into(), 1)], None).await.unwrap();
        let refused = store.put(item(json!({"pk": "P", "sk": "a"})), Some(Condition::NotExists)).await;
        assert!(matches!(refused, Err(StoreError::ConditionFailed)));
        store
            .transact_write(vec![
                TxOp::Put { item: item(json!({"pk": "P", "sk": "b"})), condition: None }.named("b"),
                TxOp::Delete { key: a.clone(), condition: None }.named("a"),
            ])
            .await
            .unwrap();
        store.delete(&a, None).await.unwrap();

        let changes = store.changes_after(0, 100).await.unwrap();
        // Each change: its kind, its sort key, and `n` in the old and the new image.
        let n = |image: &Option<Item>| image.as_ref().map(|i| i.get("n").cloned().unwrap_or(Value::Null));
        let seen: Vec<_> = changes.iter().map(|c| (c.kind, c.sk.as_str(), n(&c.old), n(&c.new))).collect();
        assert_eq!(
            seen,
            vec![
                (ChangeKind::Insert, "a", None, Some(json!(1))),
                (ChangeKind::Modify, "a", Some(json!(1)), Some(json!(2))),
                (ChangeKind::Insert, "b", None, Some(Value::Null)),
                (ChangeKind::Remove, "a", Some(json!(2)), None),
            ]
        );
        let sequences: Vec<u64> = changes.iter().map(|c| c.sequence.parse().unwrap()).collect();
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
        assert_eq!(store.changes_after(sequences[1], 100).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_checkpoint_never_moves_back() {
        let store = SqliteItemStore::in_memory().unwrap();
        store.set_checkpoint("c", 5, 0).await.unwrap();
        store.set_checkpoint("c", 3, 0).await.unwrap();
        assert_eq!(store.checkpoint("c").await.unwrap(), 5);
        assert_eq!(store.checkpoint("other").await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn counters_stay_exact_across_two_connections_to_one_file() {
        // Two stores on one file stand for two processes: only SQLite's locking serialises them.
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("items.sqlite3");
        let stores = [SqliteItemStore::open(&path).unwrap(), SqliteItemStore::open(&path).unwrap()];
        let key = Key::new("P", "counter");
        let tasks: Vec<_> = (0..40)
            .map(|n| {
                let store = stores[n % 2].clone();
                let key = key.clone();
                tokio::spawn(
                    async move { store.update(&key, vec![UpdateAction::Add("n".into(), 1)], None).await },
                )
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(stores[1].get(&key).await.unwrap().unwrap()["n"], json!(40));
    }
}
