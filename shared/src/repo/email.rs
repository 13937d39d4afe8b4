//! E-mail to customers about replies they have not read (`ops::email`):
//!
//! - **the pending e-mail** of a session (`SESSION#<id>` / `EMAIL`): the first unread reply of a
//!   burst and when the e-mail is due; in gsi1 `EMAILDUE#<shard>` / `<due at>#<session id>` (4
//!   shards by the session id), so the minute's sweep reads what is due as a few Queries;
//! - **one e-mail sent** (`SESSION#<id>` / `EMAIL#<last message id>`): the claim that makes a
//!   burst's e-mail go out once, then what became of it (sent, then the mail service's reports:
//!   delivered, bounced, complained of);
//! - **an undeliverable address** (`EMAILADDR#<address>` / `SUPPRESSED`): an e-mail to it
//!   bounced for good or was marked as spam, so no more goes to it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{MessageId, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, KeyRange, Query, StoreError, UpdateAction, PK};

use super::{from_item, raw_records, to_item, ts};

/// The shards of the due index.
pub const SHARDS: u32 = 4;
/// Sort key of a session's pending e-mail.
const PENDING_SORT_KEY: &str = "EMAIL";
/// Sort keys of a session's sent e-mails begin with it.
const SENT_PREFIX: &str = "EMAIL#";

/// A session's pending e-mail: its customer has replies they have not read, from `first_message_id`
/// on; the e-mail goes out at `due_at` if they still have not and are not connected then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEmail {
    /// The session.
    pub session_id: SessionId,
    /// Its customer, the recipient.
    pub customer_id: UserId,
    /// The first reply of the burst.
    pub first_message_id: MessageId,
    /// When it is due.
    #[serde(with = "crate::domain::timestamp")]
    pub due_at: OffsetDateTime,
    /// When DynamoDB's TTL removes it, if no sweep has (a deployment that sends no e-mail):
    /// [`KEPT_AFTER_DUE`] after `due_at`, in epoch seconds.
    pub expires_at: i64,
}

/// How long a pending e-mail no sweep took is kept after it was due.
pub const KEPT_AFTER_DUE: time::Duration = time::Duration::days(7);

impl PendingEmail {
    /// The pending e-mail of a burst from `first_message_id`, due at `due_at`.
    pub fn new(
        session_id: SessionId,
        customer_id: UserId,
        first_message_id: MessageId,
        due_at: OffsetDateTime,
    ) -> Self {
        let expires_at = (due_at + KEPT_AFTER_DUE).unix_timestamp();
        Self { session_id, customer_id, first_message_id, due_at, expires_at }
    }
}

fn pending_key(session: &SessionId) -> Key {
    Key::new(super::sessions::partition(session), PENDING_SORT_KEY)
}

/// The due index's shard of a session.
fn shard(session: &SessionId) -> u32 {
    session.to_string().bytes().fold(0u32, |hash, byte| hash.wrapping_mul(31).wrapping_add(u32::from(byte)))
        % SHARDS
}

fn due_partition(shard: u32) -> String {
    format!("EMAILDUE#{shard}")
}

/// A time as stored, fixed width, so that sort keys order as times.
fn time_text(at: OffsetDateTime) -> Result<String, ApiError> {
    match ts(at)? {
        serde_json::Value::String(text) => Ok(text),
        other => Err(ApiError::Internal(format!("a time stored as {other}"))),
    }
}

fn due_sort_key(pending: &PendingEmail) -> Result<String, ApiError> {
    Ok(format!("{}#{}", time_text(pending.due_at)?, pending.session_id))
}

fn pending_item(pending: &PendingEmail) -> Result<crate::store::Item, ApiError> {
    let attrs = [("gsi1pk", due_partition(shard(&pending.session_id))), ("gsi1sk", due_sort_key(pending)?)];
    to_item(pending, &pending_key(&pending.session_id), &attrs)
}

/// Stores `pending` unless the session has a pending e-mail already (an earlier reply of the same
/// burst): `true` if stored.
pub async fn start(store: &dyn ItemStore, pending: &PendingEmail) -> Result<bool, ApiError> {
    match store.put(pending_item(pending)?, Some(Condition::NotExists)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A session's pending e-mail, if any.
pub async fn pending(store: &dyn ItemStore, session: &SessionId) -> Result<Option<PendingEmail>, ApiError> {
    store.get(&pending_key(session)).await?.map(from_item).transpose()
}

/// The condition that the stored pending e-mail is still `pending` (the same burst, as read).
fn unchanged(pending: &PendingEmail) -> Condition {
    Condition::Equals(
        "first_message_id".into(),
        serde_json::Value::from(pending.first_message_id.to_string()),
    )
}

/// Moves `pending` to `due_at` (its customer was connected), unless it changed since it was read:
/// `true` if moved.
pub async fn postpone(
    store: &dyn ItemStore,
    pending: &PendingEmail,
    due_at: OffsetDateTime,
) -> Result<bool, ApiError> {
    let moved =
        PendingEmail::new(pending.session_id, pending.customer_id.clone(), pending.first_message_id, due_at);
    let actions = vec![
        UpdateAction::Set("due_at".into(), ts(due_at)?),
        UpdateAction::Set("gsi1sk".into(), serde_json::Value::from(due_sort_key(&moved)?)),
        UpdateAction::Set(crate::store::TTL.into(), serde_json::Value::from(moved.expires_at)),
    ];
    match store.update(&pending_key(&pending.session_id), actions, Some(unchanged(pending))).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Removes `pending` (sent, read, or nothing left to send), unless it changed since it was read:
/// `true` if removed.
pub async fn finish(store: &dyn ItemStore, pending: &PendingEmail) -> Result<bool, ApiError> {
    match store.delete(&pending_key(&pending.session_id), Some(unchanged(pending))).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// A page of the pending e-mails of one shard due at `now` or before, the earliest first.
pub async fn due(
    store: &dyn ItemStore,
    shard: u32,
    now: OffsetDateTime,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<PendingEmail>, Option<Cursor>), ApiError> {
    // Every sort key of a time up to `now` sorts before `<now>#~`.
    let upto = format!("{}#~", time_text(now)?);
    let query =
        Query::index("gsi1", due_partition(shard)).range(KeyRange::Before(upto)).limit(limit).cursor(cursor);
    raw_records(store.query_many_raw(vec![query]).await?.pop().unwrap_or_default())
}

/// What became of one e-mail. The mail service's later reports (delivered, bounced, complained
/// of) only move it on, whatever order they come in: a complaint outranks the delivery before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SentStatus {
    /// Claimed by a sweep, which is sending it.
    Sending,
    /// The mail service took it.
    Sent,
    /// The mail service refused it (or rejected it after taking it).
    Refused,
    /// The recipient's mail server accepted it.
    Delivered,
    /// It came back (`detail` says whether for good).
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

impl SentStatus {
    /// How far along it is: a report of a status no further than the stored one changes nothing.
    fn rank(self) -> u8 {
        match self {
            Self::Sending => 0,
            Self::Sent | Self::Refused => 1,
            Self::Delivered => 2,
            Self::Bounced => 3,
            Self::Complained => 4,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Refused => "refused",
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Complained => "complained",
        }
    }
}

/// One e-mail to a session's customer: the replies it carried and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentEmail {
    /// The session.
    pub session_id: SessionId,
    /// To whom.
    pub customer_id: UserId,
    /// To which address.
    pub address: String,
    /// The replies it carried, oldest first.
    pub message_ids: Vec<MessageId>,
    /// Its `Message-ID`.
    pub email_message_id: String,
    /// Where it stands.
    pub status: SentStatus,
    /// The mail service's id of it, once sent.
    pub provider_id: Option<String>,
    /// When it was claimed (a claim still `sending` long after was cut off: a later sweep takes it
    /// over).
    #[serde(with = "crate::domain::timestamp")]
    pub claimed_at: OffsetDateTime,
    /// When the mail service last reported on it (delivered, bounced, complained of).
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub reported_at: Option<OffsetDateTime>,
    /// What the mail service said with its report (a bounce's type and the remote server's
    /// answer, a complaint's feedback type).
    #[serde(default)]
    pub detail: Option<String>,
}

fn sent_key(session: &SessionId, last: &MessageId) -> Key {
    Key::new(super::sessions::partition(session), format!("{SENT_PREFIX}{last}"))
}

/// Claims the e-mail of a burst ending at the last of `sent.message_ids`: stored if no e-mail of
/// it exists, or one still `sending` that was claimed before `stale_before` (a sweep that stopped
/// half-way). `true` if claimed: the caller sends it.
pub async fn claim(
    store: &dyn ItemStore,
    sent: &SentEmail,
    stale_before: OffsetDateTime,
) -> Result<bool, ApiError> {
    let Some(last) = sent.message_ids.last() else { return Ok(false) };
    let item = to_item(sent, &sent_key(&sent.session_id, last), &[])?;
    let free = Condition::Or(vec![
        Condition::AttributeNotExists(PK.into()),
        Condition::And(vec![
            Condition::Equals("status".into(), serde_json::Value::from("sending")),
            Condition::LessThan("claimed_at".into(), ts(stale_before)?),
        ]),
    ]);
    match store.put(item, Some(free)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Records what became of a claimed e-mail.
pub async fn settle(store: &dyn ItemStore, sent: &SentEmail) -> Result<(), ApiError> {
    let Some(last) = sent.message_ids.last() else { return Ok(()) };
    store.put(to_item(sent, &sent_key(&sent.session_id, last), &[])?, None).await?;
    Ok(())
}

/// The e-mail of the burst of a session that ended at `last`, if one was claimed.
pub async fn get_sent(
    store: &dyn ItemStore,
    session: &SessionId,
    last: &MessageId,
) -> Result<Option<SentEmail>, ApiError> {
    store.get(&sent_key(session, last)).await?.map(from_item).transpose()
}

/// A page of the e-mails sent to a session's customer, oldest first.
pub async fn sent(
    store: &dyn ItemStore,
    session: &SessionId,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<SentEmail>, Option<Cursor>), ApiError> {
    let query = Query::table(super::sessions::partition(session))
        .range(KeyRange::BeginsWith(SENT_PREFIX.into()))
        .limit(limit)
        .cursor(cursor);
    raw_records(store.query_many_raw(vec![query]).await?.pop().unwrap_or_default())
}

/// Records the mail service's report on the e-mail of `session` that ended at `last`: its status
/// moves on to `status` unless it is that far already (reports come in any order, and again).
/// The e-mail as it now stands; `None` if there is no such e-mail.
pub async fn report(
    store: &dyn ItemStore,
    session: &SessionId,
    last: &MessageId,
    status: SentStatus,
    detail: Option<&str>,
    at: OffsetDateTime,
) -> Result<Option<SentEmail>, ApiError> {
    // Two reports at once: the one whose condition fails reads again (a few rounds at most:
    // there are four statuses to move through).
    for _ in 0..4 {
        let Some(stored) = get_sent(store, session, last).await? else { return Ok(None) };
        if stored.status.rank() >= status.rank() {
            return Ok(Some(stored));
        }
        let mut actions = vec![
            UpdateAction::Set("status".into(), serde_json::Value::from(status.as_str())),
            UpdateAction::Set("reported_at".into(), ts(at)?),
        ];
        if let Some(detail) = detail {
            actions.push(UpdateAction::Set("detail".into(), serde_json::Value::from(detail)));
        }
        let same = Condition::Equals("status".into(), serde_json::Value::from(stored.status.as_str()));
        match store.update(&sent_key(session, last), actions, Some(same)).await {
            Ok(_) => {
                let detail = detail.map(str::to_owned).or(stored.detail);
                return Ok(Some(SentEmail { status, reported_at: Some(at), detail, ..stored }));
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::Internal(format!("the e-mail {session}/{last} kept changing under its report")))
}

/// Why no more e-mail goes to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Undeliverable {
    /// An e-mail to it bounced for good (no such mailbox, no such domain).
    Bounced,
    /// Its owner marked an e-mail as spam.
    Complained,
}

/// An address no more e-mail goes to (`EMAILADDR#<address, lowercase>` / `SUPPRESSED`): a
/// customer who gives another address gets e-mail again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuppressedAddress {
    /// The address, as it was sent to.
    pub address: String,
    /// Why.
    pub reason: Undeliverable,
    /// What the mail service said.
    pub detail: Option<String>,
    /// The session whose e-mail it was.
    #[schema(value_type = String)]
    pub session_id: SessionId,
    /// When.
    #[serde(with = "crate::domain::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

fn suppressed_key(address: &str) -> Key {
    Key::new(format!("EMAILADDR#{}", address.to_lowercase()), "SUPPRESSED")
}

/// Marks an address undeliverable (a later report replaces an earlier one's reason).
pub async fn suppress(store: &dyn ItemStore, suppressed: &SuppressedAddress) -> Result<(), ApiError> {
    store.put(to_item(suppressed, &suppressed_key(&suppressed.address), &[])?, None).await?;
    Ok(())
}

/// Whether (and why) an address is undeliverable.
pub async fn suppression(
    store: &dyn ItemStore,
    address: &str,
) -> Result<Option<SuppressedAddress>, ApiError> {
    store.get(&suppressed_key(address)).await?.map(from_item).transpose()
}

/// Key of the secret that signs the unsubscribe links.
fn link_key_key() -> Key {
    Key::new("CONFIG", "EMAIL_LINK_KEY")
}

#[derive(Serialize, Deserialize)]
struct LinkKey {
    /// 32 random bytes, base64.
    key: String,
}

/// Stores the link key (`key`, 32 bytes) if there is none: the fixture world's, whose
/// unsubscribe fixtures are signed with a key known in advance.
pub async fn put_link_key(store: &dyn ItemStore, key: &[u8; 32]) -> Result<(), ApiError> {
    use base64::Engine as _;
    let stored = LinkKey { key: base64::engine::general_purpose::STANDARD.encode(key) };
    store.put(to_item(&stored, &link_key_key(), &[])?, Some(Condition::NotExists)).await?;
    Ok(())
}

/// The secret that signs the e-mails' unsubscribe links: made at random by whoever needs it first
/// and kept in the table (so the function that sends e-mail and the one that takes the links
/// agree without a secret of their own to deploy; whoever can read the table could forge an
/// unsubscribe, and nothing more).
pub async fn link_key(store: &dyn ItemStore) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    let decode = |stored: LinkKey| {
        base64::engine::general_purpose::STANDARD
            .decode(stored.key)
            .map_err(|e| ApiError::Internal(format!("the e-mail link key is unreadable: {e}")))
    };
    if let Some(stored) = store.get(&link_key_key()).await?.map(from_item::<LinkKey>).transpose()? {
        return decode(stored);
    }
    let fresh: [u8; 32] = rand::random();
    let made = LinkKey { key: base64::engine::general_purpose::STANDARD.encode(fresh) };
    match store.put(to_item(&made, &link_key_key(), &[])?, Some(Condition::NotExists)).await {
        Ok(()) => Ok(fresh.to_vec()),
        // Another function made it first: theirs is the key.
        Err(StoreError::ConditionFailed) => match store.get(&link_key_key()).await? {
            Some(item) => decode(from_item(item)?),
            None => Err(ApiError::Internal("the e-mail link key vanished".into())),
        },
        Err(error) => Err(error.into()),
    }
}

/// Key of the mark that an inbound e-mail (by its Message-ID's digest) was taken for a session.
fn inbound_key(session: &SessionId, digest: &str) -> Key {
    Key::new(super::sessions::partition(session), format!("INMAIL#{digest}"))
}

#[derive(Serialize)]
struct InboundMark {
    #[serde(with = "crate::domain::timestamp")]
    received_at: OffsetDateTime,
}

/// Marks an inbound e-mail as taken unless it was: `true` if this call took it.
pub async fn claim_inbound(
    store: &dyn ItemStore,
    session: &SessionId,
    digest: &str,
    at: OffsetDateTime,
) -> Result<bool, ApiError> {
    let item = to_item(&InboundMark { received_at: at }, &inbound_key(session, digest), &[])?;
    match store.put(item, Some(Condition::NotExists)).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Removes the mark of an inbound e-mail that could not be posted.
pub async fn release_inbound(
    store: &dyn ItemStore,
    session: &SessionId,
    digest: &str,
) -> Result<(), ApiError> {
    store.delete(&inbound_key(session, digest), None).await?;
    Ok(())
}
