//! Sessions (`SESSION#<id>` / `META`), their participants (`PART#<user>`) and read markers
//! (`READ#<user>`), and the indexes that list them: by customer (gsi1), by agent (gsi2) and by
//! status — the waiting queue in priority order — (gsi3).

use crate::domain::{Participant, Principal, ReadMarker, Role, Session, SessionId, SessionStatus, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, KeyRange, Query, TxOp, UpdateAction};

use super::{from_item, records, s, to_item, ts};

/// Partition of everything that belongs to a session.
pub fn partition(id: &SessionId) -> String {
    format!("SESSION#{id}")
}

/// Key of the session record.
pub fn key(id: &SessionId) -> Key {
    Key::new(partition(id), "META")
}

/// Key of a participant record.
pub fn participant_key(id: &SessionId, user: &UserId) -> Key {
    Key::new(partition(id), format!("PART#{user}"))
}

/// Key of a read marker.
pub fn read_marker_key(id: &SessionId, user: &UserId) -> Key {
    Key::new(partition(id), format!("READ#{user}"))
}

/// gsi3 partition of the sessions in a status.
pub fn status_partition(status: SessionStatus) -> String {
    format!("QUEUE#{}", status.as_str())
}

/// gsi3 sort key: the waiting queue sorts by priority, then age; other statuses by age.
fn status_sort_key(session: &Session) -> String {
    match session.status {
        SessionStatus::Waiting => format!("{}#{}", session.priority.queue_rank(), session.id),
        _ => session.id.to_string(),
    }
}

/// The index attributes that follow from a session's state.
fn index_attributes(session: &Session) -> Vec<(&'static str, String)> {
    let mut attrs = vec![
        ("gsi1pk", format!("CUSTOMER#{}", session.customer_id)),
        ("gsi1sk", session.id.to_string()),
        ("gsi3pk", status_partition(session.status)),
        ("gsi3sk", status_sort_key(session)),
    ];
    if let Some(agent) = &session.agent_id {
        attrs.push(("gsi2pk", format!("AGENT#{agent}")));
        attrs.push(("gsi2sk", session.id.to_string()));
    }
    attrs
}

/// Creates a session that must not exist yet.
pub fn put_new(session: &Session) -> Result<TxOp, ApiError> {
    let item = to_item(session, &key(&session.id), &index_attributes(session))?;
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
    actions.extend(index_attributes(&assigned).into_iter().map(|(n, v)| UpdateAction::Set(n.into(), s(v))));
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
        UpdateAction::Set("gsi3pk".into(), s(status_partition(SessionStatus::Closed))),
        UpdateAction::Set("gsi3sk".into(), s(status_sort_key(&closed))),
    ];
    Ok((TxOp::Update { key: key(&session.id), actions, condition: Some(open_condition()) }, closed))
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

/// Records a new message by `sender` on the session (last message time, count); fails unless
/// the session is open and the sender takes part in it (its customer, or its agent).
pub fn touch_for_message(
    id: &SessionId,
    sender: &Principal,
    at: time::OffsetDateTime,
) -> Result<TxOp, ApiError> {
    let takes_part = match sender.role {
        Role::Customer => Condition::Equals("customer_id".into(), s(&sender.user_id)),
        Role::Agent | Role::Admin => Condition::Equals("agent_id".into(), s(&sender.user_id)),
    };
    Ok(TxOp::Update {
        key: key(id),
        actions: vec![
            UpdateAction::Set("last_message_at".into(), ts(at)?),
            UpdateAction::Add("message_count".into(), 1),
        ],
        condition: Some(Condition::And(vec![open_condition(), takes_part])),
    })
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
        SessionListing::Status(status) => {
            Query::index("gsi3", status_partition(*status)).ascending(*status == SessionStatus::Waiting)
        }
    };
    let mut query = query.limit(limit).cursor(cursor);
    if let (Some(status), false) = (status, matches!(listing, SessionListing::Status(_))) {
        query = query.filter(Condition::Equals("status".into(), s(status.as_str())));
    }
    records(store.query(query).await?)
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

/// Moves a user's read marker forward to `message`; never backwards.
pub fn advance_read_marker(marker: &ReadMarker) -> Result<TxOp, ApiError> {
    Ok(TxOp::Update {
        key: read_marker_key(&marker.session_id, &marker.user_id),
        actions: vec![
            UpdateAction::Set("session_id".into(), s(marker.session_id)),
            UpdateAction::Set("user_id".into(), s(&marker.user_id)),
            UpdateAction::Set("last_read_message_id".into(), s(marker.last_read_message_id)),
            UpdateAction::Set("read_at".into(), ts(marker.read_at)?),
        ],
        condition: Some(Condition::Or(vec![
            Condition::AttributeNotExists("last_read_message_id".into()),
            Condition::LessThan("last_read_message_id".into(), s(marker.last_read_message_id)),
        ])),
    })
}

/// Reads a user's read marker.
pub async fn read_marker(
    store: &dyn ItemStore,
    id: &SessionId,
    user: &UserId,
) -> Result<Option<ReadMarker>, ApiError> {
    store.get(&read_marker_key(id, user)).await?.map(from_item).transpose()
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
