//! Sessions (`SESSION#<id>` / `META`), their participants (`PART#<user>`) and read markers
//! (`READ#<user>`), and the indexes that list them: by customer (gsi1), by agent (gsi2) and by
//! status — the waiting queue in priority order — (gsi3).

use crate::domain::{
    AuditEvent, Participant, Principal, ReadMarker, Role, Session, SessionId, SessionStatus, UserId,
};
use crate::error::ApiError;
use crate::store::{
    Condition, Cursor, ItemStore, Key, KeyRange, Query, TxOp, UpdateAction, MAX_QUERY_LIMIT, SK,
};

use super::{from_item, records, s, to_item, ts};

/// Prefix of the partitions of sessions.
pub const PARTITION_PREFIX: &str = "SESSION";

/// Partition of everything that belongs to a session.
pub fn partition(id: &SessionId) -> String {
    format!("{PARTITION_PREFIX}#{id}")
}

/// Key of the session record.
pub fn key(id: &SessionId) -> Key {
    Key::new(partition(id), RECORD_SORT_KEY)
}

/// Whether a key is a session record's (a change record of the table names its item by key).
pub fn is_record_key(pk: &str, sk: &str) -> bool {
    pk.strip_prefix(PARTITION_PREFIX).is_some_and(|id| id.starts_with('#')) && sk == RECORD_SORT_KEY
}

/// Whether a key is an event of a session's log (`SESSION#<id>` / `EVENT#<id>`).
pub fn is_event_key(pk: &str, sk: &str) -> bool {
    pk.strip_prefix(PARTITION_PREFIX).is_some_and(|id| id.starts_with('#')) && sk.starts_with(HISTORY_START)
}

/// Key of a participant record.
pub fn participant_key(id: &SessionId, user: &UserId) -> Key {
    Key::new(partition(id), format!("PART#{user}"))
}

/// Key of a read marker.
pub fn read_marker_key(id: &SessionId, user: &UserId) -> Key {
    Key::new(partition(id), format!("READ#{user}"))
}

/// gsi3 partition of the sessions in a status: the waiting queue's (one ordered partition), or
/// shard 0 of the active and closed sessions'.
pub fn status_partition(status: SessionStatus) -> String {
    format!("QUEUE#{}", status.as_str())
}

/// Partitions the active and the closed sessions are each spread over in gsi3. Every message
/// updates its session's record, and with it the record's gsi3 entry: at 2,000 messages a
/// second one `QUEUE#active` partition would take twice the write units a partition serves.
/// The waiting queue stays one partition: it is read in order, and few sessions wait.
pub const QUEUE_SHARDS: usize = 8;

/// gsi3 partition of one shard of a status (shard 0: [`status_partition`], where the sessions
/// indexed before the shards existed stay, and are read from).
pub fn shard_partition(status: SessionStatus, shard: usize) -> String {
    match shard {
        0 => status_partition(status),
        n => format!("QUEUE#{}#{n}", status.as_str()),
    }
}

/// gsi3 partition of a session: its status's, and for active and closed sessions the shard its
/// id falls in (fixed for the session, so an update of its record rewrites its entry in place).
pub fn queue_partition(status: SessionStatus, id: &SessionId) -> String {
    match status {
        SessionStatus::Waiting => status_partition(status),
        _ => shard_partition(status, id.shard(QUEUE_SHARDS)),
    }
}

/// gsi3 sort key: the waiting queue sorts by priority, then by when the wait started (FIFO);
/// other statuses by age.
pub fn status_sort_key(session: &Session) -> Result<String, ApiError> {
    Ok(match session.status {
        SessionStatus::Waiting => {
            let since = session.queued_at.unwrap_or(session.created_at);
            format!("{}#{}#{}", session.priority.queue_rank(), ts_text(since)?, session.id)
        }
        _ => session.id.to_string(),
    })
}

/// The gsi3 sort-key prefix of the waiting sessions of one priority.
pub fn waiting_prefix(priority: crate::domain::Priority) -> String {
    format!("{}#", priority.queue_rank())
}

fn ts_text(at: time::OffsetDateTime) -> Result<String, ApiError> {
    crate::domain::timestamp::format(at).map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))
}

/// The index attributes that follow from a session's state.
fn index_attributes(session: &Session) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut attrs = vec![
        ("gsi1pk", format!("CUSTOMER#{}", session.customer_id)),
        ("gsi1sk", session.id.to_string()),
        ("gsi3pk", queue_partition(session.status, &session.id)),
        ("gsi3sk", status_sort_key(session)?),
    ];
    if let Some(agent) = &session.agent_id {
        attrs.push(("gsi2pk", format!("AGENT#{agent}")));
        attrs.push(("gsi2sk", session.id.to_string()));
    }
    Ok(attrs)
}

/// Creates a session that must not exist yet.
pub fn put_new(session: &Session) -> Result<TxOp, ApiError> {
    let item = to_item(session, &key(&session.id), &index_attributes(session)?)?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// Adds (or refreshes) a participant.
pub fn put_participant(participant: &Participant) -> Result<TxOp, ApiError> {
    let item = to_item(participant, &participant_key(&participant.session_id, &participant.user_id), &[])?;
    Ok(TxOp::Put { item, condition: None })
}

/// Reads a session.
pub async fn get(store: &dyn ItemStore, id: &SessionId) -> Result<Option<Session>, ApiError> {
    store.get(&key(id)).await?.map(from_item).transpose()
}

/// A session and its whole event history (in key order, i.e. oldest first), with one Query per
/// 1,000 items: the session's `EVENT#<id>` items sort right before its `META` record (`CMID#` <
/// `EVENT#` < `META` < `MSG#` < `NOTE#` < `PART#` < `READ#`), so the range `EVENT#` to `META`
/// holds those (and, where a version of 2026-12-06 kept them there, its `FACTS`, skipped).
/// `None` if there is no session record.
pub async fn with_history(
    store: &dyn ItemStore,
    id: &SessionId,
) -> Result<Option<(Session, Vec<AuditEvent>)>, ApiError> {
    let query = Query::table(partition(id))
        .range(KeyRange::Between(HISTORY_START.into(), RECORD_SORT_KEY.into()))
        .limit(MAX_QUERY_LIMIT);
    let mut session = None;
    let mut history = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(query.clone().cursor(cursor)).await?;
        for item in page.items {
            match item.get(SK).and_then(|sk| sk.as_str()) {
                Some(RECORD_SORT_KEY) => session = Some(from_item(item)?),
                Some(sk) if sk.starts_with(HISTORY_START) => history.push(from_item(item)?),
                _ => {}
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(session.map(|session| (session, history))),
        }
    }
}

/// Sort key of the session record in its partition.
const RECORD_SORT_KEY: &str = "META";
/// Sort-key prefix of a session's events.
const HISTORY_START: &str = "EVENT#";

/// Key of a customer's count of open (waiting or active) sessions (`USER#<customer>` /
/// `OPEN_SESSIONS`, attribute `open`): every write that opens, closes or reopens a session moves
/// it in the same transaction, so the cap on it holds under concurrent opens.
pub fn open_count_key(customer: &UserId) -> Key {
    Key::new(format!("USER#{customer}"), "OPEN_SESSIONS")
}

/// Takes one of the customer's open-session places; fails when `cap` are taken.
pub fn claim_open_place(customer: &UserId, cap: u32) -> TxOp {
    TxOp::Update {
        key: open_count_key(customer),
        actions: vec![UpdateAction::Add(OPEN_COUNT.into(), 1)],
        condition: Some(Condition::Or(vec![
            Condition::AttributeNotExists(OPEN_COUNT.into()),
            Condition::LessThan(OPEN_COUNT.into(), serde_json::Value::from(cap)),
        ])),
    }
}

/// Gives back one of the customer's open-session places (a session of theirs closed).
pub fn release_open_place(customer: &UserId) -> TxOp {
    TxOp::Update {
        key: open_count_key(customer),
        actions: vec![UpdateAction::Add(OPEN_COUNT.into(), -1)],
        condition: None,
    }
}

/// The counter attribute of [`open_count_key`].
const OPEN_COUNT: &str = "open";

/// Condition: the session exists and is not closed.
pub fn open_condition() -> Condition {
    Condition::And(vec![Condition::Exists, Condition::NotEquals("status".into(), s("closed"))])
}

/// Assigns a waiting session to an agent; fails unless it is still waiting.
pub fn assign(
    session: &Session,
    agent: &UserId,
    at: time::OffsetDateTime,
) -> Result<(TxOp, Session), ApiError> {
    let mut assigned = session.clone();
    assigned.agent_id = Some(agent.clone());
    assigned.status = SessionStatus::Active;
    assigned.assigned_at = Some(at);
    let mut actions = vec![
        UpdateAction::Set("status".into(), s("active")),
        UpdateAction::Set("agent_id".into(), s(agent)),
        UpdateAction::Set("assigned_at".into(), ts(at)?),
    ];
    actions.extend(index_attributes(&assigned)?.into_iter().map(|(n, v)| UpdateAction::Set(n.into(), s(v))));
    let op = TxOp::Update {
        key: key(&session.id),
        actions,
        condition: Some(Condition::Equals("status".into(), s("waiting"))),
    };
    Ok((op, assigned))
}

/// Closes a session; fails if it is closed already.
pub fn close(session: &Session, by: &UserId, at: time::OffsetDateTime) -> Result<(TxOp, Session), ApiError> {
    let mut closed = session.clone();
    closed.status = SessionStatus::Closed;
    closed.closed_at = Some(at);
    closed.closed_by = Some(by.clone());
    let actions = vec![
        UpdateAction::Set("status".into(), s("closed")),
        UpdateAction::Set("closed_at".into(), ts(at)?),
        UpdateAction::Set("closed_by".into(), s(by)),
        UpdateAction::Set("gsi3pk".into(), s(queue_partition(SessionStatus::Closed, &session.id))),
        UpdateAction::Set("gsi3sk".into(), s(status_sort_key(&closed)?)),
    ];
    let condition = Condition::And(vec![
        Condition::Equals("status".into(), s(session.status.as_str())),
        agent_is(session.agent_id.as_ref()),
    ]);
    Ok((TxOp::Update { key: key(&session.id), actions, condition: Some(condition) }, closed))
}

/// Condition: the session's agent is `agent` (or it has none).
fn agent_is(agent: Option<&UserId>) -> Condition {
    match agent {
        Some(agent) => Condition::Equals("agent_id".into(), s(agent)),
        None => Condition::Or(vec![
            Condition::AttributeNotExists("agent_id".into()),
            Condition::Equals("agent_id".into(), serde_json::Value::Null),
        ]),
    }
}

/// Moves an active session from its agent to `to`; fails unless it is still active with the
/// agent it was read with.
pub fn transfer(session: &Session, to: &UserId) -> Result<(TxOp, Session), ApiError> {
    let mut moved = session.clone();
    moved.agent_id = Some(to.clone());
    moved.transfer_count += 1;
    let mut actions =
        vec![UpdateAction::Set("agent_id".into(), s(to)), UpdateAction::Add("transfer_count".into(), 1)];
    actions.extend(index_attributes(&moved)?.into_iter().map(|(n, v)| UpdateAction::Set(n.into(), s(v))));
    let condition = Condition::And(vec![
        Condition::Equals("status".into(), s("active")),
        agent_is(session.agent_id.as_ref()),
    ]);
    Ok((TxOp::Update { key: key(&session.id), actions, condition: Some(condition) }, moved))
}

/// Changes an open session's priority (and so its place in the queue while it waits); fails
/// unless its status and agent are still those it was read with.
pub fn set_priority(
    session: &Session,
    priority: crate::domain::Priority,
) -> Result<(TxOp, Session), ApiError> {
    let mut changed = session.clone();
    changed.priority = priority;
    let actions = vec![
        UpdateAction::Set("priority".into(), s(priority.as_str())),
        UpdateAction::Set("gsi3sk".into(), s(status_sort_key(&changed)?)),
    ];
    let condition = Condition::And(vec![
        Condition::Equals("status".into(), s(session.status.as_str())),
        agent_is(session.agent_id.as_ref()),
    ]);
    Ok((TxOp::Update { key: key(&session.id), actions, condition: Some(condition) }, changed))
}

/// Puts a closed session back in the queue: a new wait starts, without an agent.
pub fn reopen(session: &Session, at: time::OffsetDateTime) -> Result<(TxOp, Session), ApiError> {
    let mut reopened = session.clone();
    reopened.status = SessionStatus::Waiting;
    reopened.agent_id = None;
    reopened.assigned_at = None;
    reopened.closed_at = None;
    reopened.closed_by = None;
    reopened.queued_at = Some(at);
    reopened.first_response_at = None;
    reopened.reopen_count += 1;
    let mut actions = vec![
        UpdateAction::Set("status".into(), s("waiting")),
        UpdateAction::Set("agent_id".into(), serde_json::Value::Null),
        UpdateAction::Set("assigned_at".into(), serde_json::Value::Null),
        UpdateAction::Set("closed_at".into(), serde_json::Value::Null),
        UpdateAction::Set("closed_by".into(), serde_json::Value::Null),
        UpdateAction::Set("first_response_at".into(), serde_json::Value::Null),
        UpdateAction::Set("queued_at".into(), ts(at)?),
        UpdateAction::Add("reopen_count".into(), 1),
        UpdateAction::Remove("gsi2pk".into()),
        UpdateAction::Remove("gsi2sk".into()),
    ];
    actions.extend(index_attributes(&reopened)?.into_iter().map(|(n, v)| UpdateAction::Set(n.into(), s(v))));
    let condition = Condition::Equals("status".into(), s("closed"));
    Ok((TxOp::Update { key: key(&session.id), actions, condition: Some(condition) }, reopened))
}

/// Condition: no agent has answered since the current wait started.
pub fn awaiting_first_response() -> Condition {
    Condition::Or(vec![
        Condition::AttributeNotExists("first_response_at".into()),
        Condition::Equals("first_response_at".into(), serde_json::Value::Null),
    ])
}

/// Stores the customer's rating of their closed session: the first one, or a change of the
/// rating it was read with (`rated_at` is mirrored in `rating_rated_at` to condition on).
pub fn rate(session: &Session, rating: &crate::domain::Rating, customer: &UserId) -> Result<TxOp, ApiError> {
    let rating_value =
        serde_json::to_value(rating).map_err(|e| ApiError::Internal(format!("serialising a rating: {e}")))?;
    let unchanged = match &session.rating {
        None => Condition::AttributeNotExists("rating_rated_at".into()),
        Some(previous) => Condition::Equals("rating_rated_at".into(), ts(previous.rated_at)?),
    };
    Ok(TxOp::Update {
        key: key(&session.id),
        actions: vec![
            UpdateAction::Set("rating".into(), rating_value),
            UpdateAction::Set("rating_rated_at".into(), ts(rating.rated_at)?),
        ],
        condition: Some(Condition::And(vec![
            Condition::Equals("status".into(), s("closed")),
            Condition::Equals("customer_id".into(), s(customer)),
            unchanged,
        ])),
    })
}

/// Condition check: the caller may read the session (the rule of `ops::can_read`, as a
/// condition so a write can enforce it without a read first).
pub fn readable_by(id: &SessionId, reader: &Principal) -> TxOp {
    let rule = match reader.role {
        Role::Admin => Condition::Exists,
        Role::Customer => Condition::Equals("customer_id".into(), s(&reader.user_id)),
        Role::Agent => Condition::Or(vec![
            Condition::Equals("agent_id".into(), s(&reader.user_id)),
            Condition::Equals("status".into(), s("waiting")),
        ]),
    };
    TxOp::Check { key: key(id), condition: rule }
}

/// Records a new message by `sender` on the session (last message time, count, count by the
/// sender's role: `messages_customer`, `messages_agent`, `messages_admin`); fails unless
/// the session is open and the sender takes part in it (its customer, or its agent).
/// With `first_response`, it also records the agent's first answer of the current wait, and
/// fails unless none is recorded yet.
pub fn touch_for_message(
    id: &SessionId,
    sender: &Principal,
    at: time::OffsetDateTime,
    first_response: bool,
) -> Result<TxOp, ApiError> {
    let takes_part = match sender.role {
        Role::Customer => Condition::Equals("customer_id".into(), s(&sender.user_id)),
        Role::Agent | Role::Admin => Condition::Equals("agent_id".into(), s(&sender.user_id)),
    };
    let mut actions = vec![
        UpdateAction::Set("last_message_at".into(), ts(at)?),
        UpdateAction::Set("last_sender_role".into(), s(sender.role.as_str())),
        UpdateAction::Add("message_count".into(), 1),
        UpdateAction::Add(format!("messages_{}", sender.role.as_str()), 1),
    ];
    let mut condition = vec![open_condition(), takes_part];
    if first_response {
        actions.push(UpdateAction::Set("first_response_at".into(), ts(at)?));
        condition.push(awaiting_first_response());
    }
    Ok(TxOp::Update { key: key(id), actions, condition: Some(Condition::And(condition)) })
}

/// Which sessions a list reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionListing {
    /// A customer's sessions, newest first.
    Customer(UserId),
    /// The sessions assigned to an agent, newest first.
    Agent(UserId),
    /// Sessions in a status: waiting in queue order, others newest first.
    Status(SessionStatus),
}

/// One page of sessions; `status` filters customer and agent listings.
pub async fn list(
    store: &dyn ItemStore,
    listing: &SessionListing,
    status: Option<SessionStatus>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Session>, Option<Cursor>), ApiError> {
    let query = match listing {
        SessionListing::Customer(user) => Query::index("gsi1", format!("CUSTOMER#{user}")).ascending(false),
        SessionListing::Agent(user) => Query::index("gsi2", format!("AGENT#{user}")).ascending(false),
        SessionListing::Status(SessionStatus::Waiting) => {
            Query::index("gsi3", status_partition(SessionStatus::Waiting))
        }
        SessionListing::Status(status) => return newest_of_shards(store, *status, limit, cursor).await,
    };
    let mut query = query.limit(limit).cursor(cursor);
    if let (Some(status), false) = (status, matches!(listing, SessionListing::Status(_))) {
        query = query.filter(Condition::Equals("status".into(), s(status.as_str())));
    }
    records(store.query(query).await?)
}

/// One page of the active or closed sessions, newest first, merged from their shards: a Query
/// per shard (run together) of the page's size from where the page before stopped — the
/// cursor is the last session's entry, whose sort key (the session id) orders every shard.
async fn newest_of_shards(
    store: &dyn ItemStore,
    status: SessionStatus,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Session>, Option<Cursor>), ApiError> {
    let after = match &cursor {
        None => None,
        Some(cursor) => {
            // The cursor of another list (another status, another index) continues none of these.
            let fits = (0..QUEUE_SHARDS).any(|shard| {
                cursor.check_fits(&Query::index("gsi3", shard_partition(status, shard))).is_ok()
            });
            let after = cursor.sort_key(Some("gsi3")).filter(|_| fits);
            Some(after.ok_or(crate::store::StoreError::InvalidCursor)?)
        }
    };
    let queries = (0..QUEUE_SHARDS)
        .map(|shard| {
            let query = Query::index("gsi3", shard_partition(status, shard)).ascending(false).limit(limit);
            match after {
                Some(after) => query.range(KeyRange::Before(after.to_owned())),
                None => query,
            }
        })
        .collect();
    let pages = store.query_many(queries).await?;
    let more_in_a_shard = pages.iter().any(|page| page.next.is_some());
    let mut items: Vec<crate::store::Item> = pages.into_iter().flat_map(|page| page.items).collect();
    items.sort_by(|a, b| gsi3_sort_key(b).cmp(gsi3_sort_key(a)));
    let more = more_in_a_shard || items.len() > limit;
    items.truncate(limit);
    let next = match items.last() {
        Some(last) if more => Some(crate::store::Cursor::after_item(last, Some("gsi3"))?),
        _ => None,
    };
    let sessions = items.into_iter().map(from_item).collect::<Result<Vec<Session>, _>>()?;
    Ok((sessions, next))
}

/// An index item's gsi3 sort key (empty when it has none).
fn gsi3_sort_key(item: &crate::store::Item) -> &str {
    item.get("gsi3sk").and_then(serde_json::Value::as_str).unwrap_or_default()
}

/// A user's participant record in a session (present once they took part in it).
pub async fn participant_record(
    store: &dyn ItemStore,
    id: &SessionId,
    user: &UserId,
) -> Result<Option<Participant>, ApiError> {
    store.get(&participant_key(id, user)).await?.map(from_item).transpose()
}

/// One page of a session's participants.
pub async fn participants(
    store: &dyn ItemStore,
    id: &SessionId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Participant>, Option<Cursor>), ApiError> {
    let query =
        Query::table(partition(id)).range(KeyRange::BeginsWith("PART#".into())).limit(limit).cursor(cursor);
    records(store.query(query).await?)
}

/// Moves a user's read marker to `marker` if it is newer than the one stored (one conditional
/// write); `false` when it is not (the marker stays).
pub async fn advance_read_marker(store: &dyn ItemStore, marker: &ReadMarker) -> Result<bool, ApiError> {
    let actions = vec![
        UpdateAction::Set("session_id".into(), s(marker.session_id)),
        UpdateAction::Set("user_id".into(), s(&marker.user_id)),
        UpdateAction::Set("last_read_message_id".into(), s(marker.last_read_message_id)),
        UpdateAction::Set("read_at".into(), ts(marker.read_at)?),
    ];
    let newer = Condition::Or(vec![
        Condition::AttributeNotExists("last_read_message_id".into()),
        Condition::LessThan("last_read_message_id".into(), s(marker.last_read_message_id)),
    ]);
    match store.update(&read_marker_key(&marker.session_id, &marker.user_id), actions, Some(newer)).await {
        Ok(_) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// A session and whether one of its messages exists: one strongly consistent batch read.
pub async fn get_with_message(
    store: &dyn ItemStore,
    id: &SessionId,
    message: &crate::domain::MessageId,
) -> Result<(Option<Session>, bool), ApiError> {
    let mut found = store.get_many(vec![key(id), super::messages::key(id, message)]).await?.into_iter();
    let session = found.next().flatten().map(from_item).transpose()?;
    Ok((session, found.next().flatten().is_some()))
}

/// Reads a user's read marker.
pub async fn read_marker(
    store: &dyn ItemStore,
    id: &SessionId,
    user: &UserId,
) -> Result<Option<ReadMarker>, ApiError> {
    store.get(&read_marker_key(id, user)).await?.map(from_item).transpose()
}

/// The read markers of several (session, reader) pairs in one batch read, in their order.
pub async fn read_markers(
    store: &dyn ItemStore,
    readers: &[(SessionId, UserId)],
) -> Result<Vec<Option<ReadMarker>>, ApiError> {
    let keys = readers.iter().map(|(id, user)| read_marker_key(id, user)).collect();
    store.get_many(keys).await?.into_iter().map(|item| item.map(from_item).transpose()).collect()
}

/// A participant record for a user joining now.
pub fn participant(
    id: SessionId,
    user: &UserId,
    role: Role,
    name: Option<String>,
    at: time::OffsetDateTime,
) -> Participant {
    Participant { session_id: id, user_id: user.clone(), role, name, joined_at: at }
}

/// How many sessions wait ahead of a waiting `session` in queue order (read in pages of keys).
pub async fn waiting_ahead(store: &dyn ItemStore, session: &Session) -> Result<usize, ApiError> {
    let sort_key = status_sort_key(session)?;
    let mut ahead = 0;
    let mut cursor = None;
    loop {
        let query = Query::index("gsi3", status_partition(SessionStatus::Waiting))
            .range(KeyRange::Before(sort_key.clone()))
            .limit(crate::store::MAX_QUERY_LIMIT)
            .cursor(cursor);
        let page = store.query(query).await?;
        ahead += page.items.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ahead),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HISTORY_START, RECORD_SORT_KEY};

    #[test]
    fn only_events_sort_between_the_history_start_and_the_session_record() {
        // Every sort-key prefix of a session's partition, in key order.
        let prefixes = ["CMID#", HISTORY_START, RECORD_SORT_KEY, "MSG#", "NOTE#", "PART#", "READ#"];
        assert!(prefixes.windows(2).all(|pair| pair[0] < pair[1]), "{prefixes:?}");
    }
}
