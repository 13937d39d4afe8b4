//! WebSocket connections and their session subscriptions.
//!
//! Keys (docs/DATA_MODEL.md): a connection is `CONN#<id>` / `META`, indexed on gsi1 by
//! `USERCONN#<user>` so a user's connections are one Query; a subscription is `CONN#<id>` /
//! `SUB#<session>`, indexed on gsi1 by `SUBS#<session>` so a session's listeners are one Query
//! (never a Scan). Both carry `expires_at` (TTL): `$disconnect` is best-effort, and reads skip
//! records whose time has passed, since DynamoDB deletes expired items only eventually.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{all_records, from_item, to_item};
use crate::domain::{ConnectionId, Principal, Role, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, Query, TxOp, UpdateAction, MAX_TRANSACTION_OPS};

/// How long a connection record lives: API Gateway's two-hour connection limit plus slack.
pub const CONNECTION_TTL_SECONDS: i64 = 2 * 3600 + 10 * 60;
/// Distinct sessions one connection may subscribe to.
pub const MAX_SUBSCRIPTIONS: i64 = 100;
/// Shortest time between two `typing` frames of one state from one connection.
pub const TYPING_INTERVAL_MS: i64 = 2_000;
/// One `send_message` frame per this many ms per connection, sustained (10 per 10 s).
pub const SEND_INTERVAL_MS: i64 = 1_000;
/// `send_message` frames a connection may send at once after a quiet spell.
pub const SEND_BURST: i64 = 20;

/// How many `send_message` frames one connection may send: bursts of `burst`, then one every
/// `interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimit {
    /// Frames at once after a quiet spell.
    pub burst: i64,
    /// Sustained: one frame per this many ms.
    pub interval_ms: i64,
}

impl Default for SendLimit {
    /// The documented limit: bursts of [`SEND_BURST`], then one per [`SEND_INTERVAL_MS`].
    fn default() -> Self {
        Self { burst: SEND_BURST, interval_ms: SEND_INTERVAL_MS }
    }
}
/// Tries at counting a frame that lost a race with another frame opening the window.
const SEND_ATTEMPTS: usize = 3;

/// A live WebSocket connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// API Gateway's connection id.
    pub connection_id: ConnectionId,
    /// Who connected.
    pub user_id: UserId,
    /// In which role.
    pub role: Role,
    /// Display name from the token.
    #[serde(default)]
    pub name: Option<String>,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    pub connected_at: OffsetDateTime,
    /// TTL, epoch seconds.
    pub expires_at: i64,
    /// Sessions subscribed to so far.
    #[serde(default)]
    pub subscriptions: i64,
}

/// A connection listening to a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The session.
    pub session_id: SessionId,
    /// The connection's user.
    pub user_id: UserId,
    /// The user's role.
    pub role: Role,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

fn partition(id: &ConnectionId) -> String {
    format!("CONN#{id}")
}

/// The key of a connection.
pub fn key(id: &ConnectionId) -> Key {
    Key::new(partition(id), "META")
}

/// Whether a changed item's key is a connection's record (for the change feed).
pub fn is_connection_key(pk: &str, sk: &str) -> bool {
    pk.starts_with("CONN#") && sk == "META"
}

/// The key of a subscription.
pub fn subscription_key(id: &ConnectionId, session: &SessionId) -> Key {
    Key::new(partition(id), format!("SUB#{session}"))
}

fn not_expired(now: OffsetDateTime) -> Condition {
    Condition::GreaterThan("expires_at".into(), Value::from(now.unix_timestamp()))
}

/// A new connection record for a caller connecting now.
pub fn new_connection(id: ConnectionId, principal: &Principal, at: OffsetDateTime) -> Connection {
    Connection {
        connection_id: id,
        user_id: principal.user_id.clone(),
        role: principal.role,
        name: principal.name.clone(),
        connected_at: at,
        expires_at: at.unix_timestamp() + CONNECTION_TTL_SECONDS,
        subscriptions: 0,
    }
}

/// Stores a new connection; a connection id seen before is refused.
pub async fn put(store: &dyn ItemStore, connection: &Connection) -> Result<(), ApiError> {
    let item = to_item(
        connection,
        &key(&connection.connection_id),
        &[
            ("gsi1pk", format!("USERCONN#{}", connection.user_id)),
            ("gsi1sk", connection.connection_id.to_string()),
        ],
    )?;
    match store.put(item, Some(Condition::NotExists)).await {
        Ok(()) => Ok(()),
        Err(crate::store::StoreError::ConditionFailed) => {
            Err(ApiError::conflict("connection_exists", "this connection is registered already"))
        }
        Err(other) => Err(other.into()),
    }
}

/// Reads a connection.
pub async fn get(store: &dyn ItemStore, id: &ConnectionId) -> Result<Option<Connection>, ApiError> {
    store.get(&key(id)).await?.map(from_item).transpose()
}

/// The live connections of a user (at most `limit`).
pub async fn of_user(
    store: &dyn ItemStore,
    user: &UserId,
    limit: usize,
    now: OffsetDateTime,
) -> Result<Vec<Connection>, ApiError> {
    let query = Query::index("gsi1", format!("USERCONN#{user}")).limit(limit).filter(not_expired(now));
    store.query(query).await?.items.into_iter().map(from_item).collect()
}

/// The operations of a subscription: count it on the connection (which must exist and have room
/// for one more) and store it unless it exists: the connection's, then the subscription's.
pub fn subscribe(
    connection: &ConnectionId,
    session: &SessionId,
    principal: &Principal,
    at: OffsetDateTime,
) -> Result<[TxOp; 2], ApiError> {
    let subscription = Subscription {
        connection_id: connection.clone(),
        session_id: *session,
        user_id: principal.user_id.clone(),
        role: principal.role,
        expires_at: at.unix_timestamp() + CONNECTION_TTL_SECONDS,
    };
    let item = to_item(
        &subscription,
        &subscription_key(connection, session),
        &[("gsi1pk", format!("SUBS#{session}")), ("gsi1sk", connection.to_string())],
    )?;
    Ok([
        TxOp::Update {
            key: key(connection),
            actions: vec![UpdateAction::Add("subscriptions".into(), 1)],
            condition: Some(Condition::And(vec![
                Condition::Exists,
                Condition::LessThan("subscriptions".into(), Value::from(MAX_SUBSCRIPTIONS)),
            ])),
        },
        TxOp::Put { item, condition: Some(Condition::NotExists) },
    ])
}

/// Whether a connection is subscribed to a session.
pub async fn is_subscribed(
    store: &dyn ItemStore,
    connection: &ConnectionId,
    session: &SessionId,
) -> Result<bool, ApiError> {
    Ok(store.get(&subscription_key(connection, session)).await?.is_some())
}

/// Every live subscription of a session (all pages).
pub async fn subscribers(
    store: &dyn ItemStore,
    session: &SessionId,
    now: OffsetDateTime,
) -> Result<Vec<Subscription>, ApiError> {
    let query = Query::index("gsi1", format!("SUBS#{session}"))
        .limit(crate::store::MAX_QUERY_LIMIT)
        .filter(not_expired(now));
    all_records(store, query).await
}

/// Deletes one subscription (the connection lost the right to read the session) and gives its
/// place back to the connection's count.
pub async fn unsubscribe(
    store: &dyn ItemStore,
    connection: &ConnectionId,
    session: &SessionId,
) -> Result<(), ApiError> {
    let ops = vec![
        TxOp::Delete { key: subscription_key(connection, session), condition: Some(Condition::Exists) }
            .named("subscription_exists"),
        TxOp::Update {
            key: key(connection),
            actions: vec![UpdateAction::Add("subscriptions".into(), -1)],
            condition: Some(Condition::Exists),
        }
        .named("connection_exists"),
    ];
    match store.transact_write(ops).await {
        Ok(()) => Ok(()),
        // The connection is gone (or the subscription was): delete whatever is left.
        Err(crate::store::StoreError::TransactionCanceled { .. }) => {
            store.delete(&subscription_key(connection, session), None).await?;
            Ok(())
        }
        Err(other) => Err(other.into()),
    }
}

/// Deletes a connection and its subscriptions; returns the connection if it was still there
/// (so the caller can tell whether this removal is the one that ends it).
pub async fn remove(store: &dyn ItemStore, id: &ConnectionId) -> Result<Option<Connection>, ApiError> {
    // The record, its send limit, the dashboard's subscription and the sessions'.
    let page = store.query(Query::table(partition(id)).limit(MAX_SUBSCRIPTIONS as usize + 3)).await?;
    let mut connection = None;
    let mut keys = Vec::with_capacity(page.items.len());
    for item in page.items {
        let sk = item.get(crate::store::SK).and_then(Value::as_str).unwrap_or_default().to_owned();
        if sk == "META" {
            connection = Some(from_item::<Connection>(item)?);
        }
        keys.push(Key::new(partition(id), sk));
    }
    for chunk in keys.chunks(MAX_TRANSACTION_OPS) {
        let ops = chunk
            .iter()
            .map(|key| TxOp::Delete { key: key.clone(), condition: None }.named("item"))
            .collect();
        store.transact_write(ops).await?;
    }
    Ok(connection)
}

/// Counts a `send_message` frame on the connection, as a token bucket of `limit.burst` frames
/// refilled with one every `limit.interval_ms` (kept as GCRA's one number, `send_tat_ms`: when
/// the bucket will be full again). Returns false for a frame the bucket has no room for. The
/// number lives in the connection's limit item ([`limit_key`]) and changes only by conditional
/// updates, so the limit holds whichever function instance each frame reaches: one update for a
/// frame after a pause, two in a run.
pub async fn allow_send(
    store: &dyn ItemStore,
    id: &ConnectionId,
    limit: SendLimit,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let tolerance = (limit.burst - 1) * limit.interval_ms;
    for _ in 0..SEND_ATTEMPTS {
        // After a quiet spell (as people chat, and for the first frame): the bucket is full.
        let rested = Condition::Or(vec![
            Condition::AttributeNotExists(SEND_TAT.into()),
            Condition::LessThan(SEND_TAT.into(), Value::from(now_ms)),
        ]);
        let start = vec![UpdateAction::Set(SEND_TAT.into(), Value::from(now_ms + limit.interval_ms))];
        if counted(store, id, start, rested).await? {
            return Ok(true);
        }
        // In a run of frames: the bucket is not full and still has room for one.
        let in_a_run = Condition::And(vec![
            Condition::AttributeExists(SEND_TAT.into()),
            Condition::Not(Box::new(Condition::LessThan(SEND_TAT.into(), Value::from(now_ms)))),
            Condition::Not(Box::new(Condition::GreaterThan(
                SEND_TAT.into(),
                Value::from(now_ms + tolerance),
            ))),
        ]);
        if counted(store, id, vec![UpdateAction::Add(SEND_TAT.into(), limit.interval_ms)], in_a_run).await? {
            return Ok(true);
        }
        // Neither held: the bucket is empty, or a concurrent frame moved the number between the
        // two updates (then count again).
        let item = store.get(&limit_key(id)).await?.unwrap_or_default();
        if item.get(SEND_TAT).and_then(Value::as_i64).is_some_and(|tat| tat > now_ms + tolerance) {
            return Ok(false);
        }
    }
    Ok(false)
}

/// The attribute of a connection's send limit: when its bucket is full again (epoch ms).
const SEND_TAT: &str = "send_tat_ms";

/// Key of a connection's send limit: an item of its own beside the record (`CONN#<id>` /
/// `LIMIT`), which carries no index key, so counting a frame writes 1 unit; counted on the
/// record, each frame also rewrote the record's `USERCONN` index entry (every attribute is
/// projected). It goes with the connection's other items at `$disconnect`, or by its TTL.
pub fn limit_key(id: &ConnectionId) -> Key {
    Key::new(partition(id), "LIMIT")
}

/// Applies a counting update; false when its condition does not hold.
async fn counted(
    store: &dyn ItemStore,
    id: &ConnectionId,
    actions: Vec<UpdateAction>,
    condition: Condition,
) -> Result<bool, ApiError> {
    let expires = crate::domain::now().unix_timestamp() + CONNECTION_TTL_SECONDS;
    let mut actions = actions;
    actions.push(UpdateAction::Set(crate::store::TTL.into(), Value::from(expires)));
    match store.update(&limit_key(id), actions, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// 409 for a frame from a connection that is not registered (its records were deleted).
pub fn unknown_connection() -> ApiError {
    ApiError::conflict("connection_unknown", "this connection is not registered; reconnect")
}

/// The role a subscription was made in, as a principal (for the read rule).
pub fn as_principal(subscription: &Subscription) -> Principal {
    Principal { user_id: subscription.user_id.clone(), role: subscription.role, name: None }
}

/// A connection that receives the live dashboard (`CONN#<id>` / `DASHBOARD`, indexed on gsi1
/// by `DASHBOARD` so every listener is one Query).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardSubscription {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The connection's user.
    pub user_id: UserId,
    /// The user's role (agent or admin).
    pub role: Role,
    /// TTL, epoch seconds.
    pub expires_at: i64,
}

/// Stores a dashboard subscription of an existing connection (subscribing twice is harmless):
/// the check that the connection is registered, then the subscription.
pub fn subscribe_dashboard(
    connection: &ConnectionId,
    principal: &Principal,
    at: OffsetDateTime,
) -> Result<[TxOp; 2], ApiError> {
    let subscription = DashboardSubscription {
        connection_id: connection.clone(),
        user_id: principal.user_id.clone(),
        role: principal.role,
        expires_at: at.unix_timestamp() + CONNECTION_TTL_SECONDS,
    };
    let item = to_item(
        &subscription,
        &Key::new(partition(connection), "DASHBOARD"),
        &[("gsi1pk", "DASHBOARD".to_owned()), ("gsi1sk", connection.to_string())],
    )?;
    Ok([
        TxOp::Check { key: key(connection), condition: Condition::Exists },
        TxOp::Put { item, condition: None },
    ])
}

/// Every live dashboard subscription (all pages).
pub async fn dashboard_subscribers(
    store: &dyn ItemStore,
    now: OffsetDateTime,
) -> Result<Vec<DashboardSubscription>, ApiError> {
    let query =
        Query::index("gsi1", "DASHBOARD").limit(crate::store::MAX_QUERY_LIMIT).filter(not_expired(now));
    all_records(store, query).await
}

/// Key of the dashboard's send window (`DASHBOARD` / `THROTTLE`).
fn throttle_key() -> Key {
    Key::new("DASHBOARD", "THROTTLE")
}

/// Whoever may send the dashboard's figures now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// This caller: no figures went out in the last `interval_ms`.
    SendNow,
    /// This caller, at `at_ms` (epoch ms), when the current window ends: figures went out less
    /// than `interval_ms` ago and nobody had claimed the next send.
    SendAt(i64),
    /// Someone else: the next send is claimed already and will carry this change too.
    Claimed,
}

/// Claims the dashboard's next send (one per `interval_ms` for everyone): at most one send in
/// each window, and a change inside a window is carried by one send at its end.
pub async fn claim_dashboard_send(
    store: &dyn ItemStore,
    now_ms: i64,
    interval_ms: i64,
) -> Result<Window, ApiError> {
    let open = Condition::Or(vec![
        Condition::AttributeNotExists("sent_ms".into()),
        Condition::LessThan("sent_ms".into(), Value::from(now_ms - interval_ms + 1)),
    ]);
    let now_actions = vec![
        UpdateAction::Set("sent_ms".into(), Value::from(now_ms)),
        UpdateAction::Remove("pending_ms".into()),
    ];
    match store.update(&throttle_key(), now_actions, Some(open)).await {
        Ok(_) => return Ok(Window::SendNow),
        Err(crate::store::StoreError::ConditionFailed) => {}
        Err(other) => return Err(other.into()),
    }
    let Some(item) = store.get(&throttle_key()).await? else { return Ok(Window::Claimed) };
    let sent = item.get("sent_ms").and_then(Value::as_i64).unwrap_or(now_ms);
    let at = sent + interval_ms;
    let unclaimed = Condition::And(vec![
        Condition::Equals("sent_ms".into(), Value::from(sent)),
        Condition::AttributeNotExists("pending_ms".into()),
    ]);
    let claim = vec![UpdateAction::Set("pending_ms".into(), Value::from(at))];
    match store.update(&throttle_key(), claim, Some(unclaimed)).await {
        Ok(_) => Ok(Window::SendAt(at)),
        Err(crate::store::StoreError::ConditionFailed) => Ok(Window::Claimed),
        Err(other) => Err(other.into()),
    }
}

/// Starts the claimed send at `at_ms` (the window starts again from it); false when a send
/// that started meanwhile took it over (and carries the change).
pub async fn start_claimed_send(store: &dyn ItemStore, at_ms: i64) -> Result<bool, ApiError> {
    let actions = vec![
        UpdateAction::Set("sent_ms".into(), Value::from(at_ms)),
        UpdateAction::Remove("pending_ms".into()),
    ];
    let still_ours = Condition::Equals("pending_ms".into(), Value::from(at_ms));
    match store.update(&throttle_key(), actions, Some(still_ours)).await {
        Ok(_) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::domain::{Role, UserId};
    use crate::store::sqlite::SqliteItemStore;

    #[tokio::test]
    async fn the_send_limit_is_an_item_of_its_own_that_goes_with_the_connection() {
        let store = SqliteItemStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
        let id = ConnectionId::parse("limit-test=").unwrap_or_else(|e| panic!("{e}"));
        let user = UserId::parse("cust-ada").unwrap_or_else(|e| panic!("{e}"));
        let principal = Principal { user_id: user, role: Role::Customer, name: None };
        put(&store, &new_connection(id.clone(), &principal, crate::domain::now()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let limit = SendLimit { burst: 2, interval_ms: 1_000 };

        let allowed = [
            allow_send(&store, &id, limit, 10_000).await,
            allow_send(&store, &id, limit, 10_000).await,
            allow_send(&store, &id, limit, 10_000).await,
        ];

        assert_eq!(allowed.map(|a| a.ok()), [Some(true), Some(true), Some(false)]);
        let record = store.get(&key(&id)).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_default();
        assert!(!record.contains_key(SEND_TAT), "the record was written: {record:?}");
        remove(&store, &id).await.unwrap_or_else(|e| panic!("{e}"));
        let left = store.query(Query::table(partition(&id))).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(left.items.is_empty(), "left behind: {:?}", left.items);
    }
}
