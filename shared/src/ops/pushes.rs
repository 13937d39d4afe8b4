//! Sending pushes: to one user or to up to 10,000, each recipient's preferences and block
//! respected, one publish per enabled device with the FCM HTTP v1 and APNs payloads, one
//! delivery log per attempt, and a summary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::push::{decide, Category, Decision};
use crate::domain::{
    next_ulid, now, Block, Message, Principal, Role, Session, SessionId, SessionStatus, UserId,
};
use crate::error::ApiError;
use crate::push::PushError;
use crate::repo::deliveries::{self, DeliveryLog, DeliveryStatus, LogListing};
use crate::repo::devices::{self, Device};
use crate::repo::preferences::PreferencesRecord;
use crate::repo::{blocks, coalesce, connections, preferences, sessions};
use crate::store::Cursor;

use super::role_forbidden;

/// Most recipients of one bulk send.
pub const MAX_RECIPIENTS: usize = 10_000;
/// Recipients handled at once.
pub const RECIPIENT_CONCURRENCY: usize = 64;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest body, in characters (pushes carry ids and a line, not long texts).
pub const MAX_BODY_CHARS: usize = 240;
/// Most `data` entries.
pub const MAX_DATA_ENTRIES: usize = 10;
/// Largest platform payload SNS forwards (FCM and APNs both take 4 KB).
pub const MAX_PLATFORM_PAYLOAD_BYTES: usize = 4096;

fn announcement() -> Category {
    Category::Announcement
}

/// What a push says.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// `chat_message`, `session_update` or `announcement` (the default).
    #[serde(default = "announcement")]
    pub category: Category,
    /// 1 to 100 characters.
    pub title: String,
    /// 1 to 240 characters.
    pub body: String,
    /// The session it is about, if any (muted sessions are skipped).
    #[serde(default)]
    pub session_id: Option<SessionId>,
    /// Up to 10 string entries the app receives (ids, not content).
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// Body of `POST /notifications/send`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendNotification {
    /// The recipient.
    pub user_id: UserId,
    /// `chat_message`, `session_update` or `announcement` (the default).
    #[serde(default = "announcement")]
    pub category: Category,
    /// 1 to 100 characters.
    pub title: String,
    /// 1 to 240 characters.
    pub body: String,
    /// The session it is about, if any.
    #[serde(default)]
    pub session_id: Option<SessionId>,
    /// Up to 10 string entries.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// Body of `POST /notifications/bulk-send`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSend {
    /// 1 to 10,000 recipients (repeats count once).
    pub user_ids: Vec<UserId>,
    /// `chat_message`, `session_update` or `announcement` (the default).
    #[serde(default = "announcement")]
    pub category: Category,
    /// 1 to 100 characters.
    pub title: String,
    /// 1 to 240 characters.
    pub body: String,
    /// The session it is about, if any.
    #[serde(default)]
    pub session_id: Option<SessionId>,
    /// Up to 10 string entries.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl SendNotification {
    /// The recipient and the notification.
    pub fn split(self) -> (Vec<UserId>, Notification) {
        let notification = Notification {
            category: self.category,
            title: self.title,
            body: self.body,
            session_id: self.session_id,
            data: self.data,
        };
        (vec![self.user_id], notification)
    }
}

impl BulkSend {
    /// The recipients and the notification.
    pub fn split(self) -> (Vec<UserId>, Notification) {
        let notification = Notification {
            category: self.category,
            title: self.title,
            body: self.body,
            session_id: self.session_id,
            data: self.data,
        };
        (self.user_ids, notification)
    }
}

/// What a send did: attempts by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SendSummary {
    /// Its delivery logs carry this id (`GET /notifications/delivery-logs?job_id=`).
    pub job_id: String,
    /// Distinct recipients.
    pub recipients: usize,
    /// Pushes published.
    pub sent: usize,
    /// Pushes the push service failed.
    pub failed: usize,
    /// Devices whose endpoint is disabled.
    pub endpoint_disabled: usize,
    /// Recipients skipped, by reason (`preference`, `quiet_hours`, `muted`, `blocked`,
    /// `no_device`).
    pub skipped: BTreeMap<&'static str, usize>,
}

fn text(field: &'static str, value: &str, max: usize) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if value.trim().is_empty() || chars > max {
        return Err(ApiError::unprocessable("validation_failed", format!("{field}: 1 to {max} characters")));
    }
    Ok(())
}

/// The `MessageStructure=json` message: FCM HTTP v1 (`GCM` carrying `fcmV1Message`) and APNs
/// (production and sandbox), each under 4 KB.
pub fn platform_message(job_id: &str, n: &Notification) -> Result<String, ApiError> {
    let mut data: BTreeMap<String, String> = n.data.clone();
    data.insert("category".into(), n.category.as_str().to_owned());
    data.insert("job_id".into(), job_id.to_owned());
    if let Some(session) = n.session_id {
        data.insert("session_id".into(), session.to_string());
    }
    let fcm = json!({"fcmV1Message": {"message": {
        "notification": {"title": n.title, "body": n.body},
        "data": data,
        "android": {"priority": "high"},
    }}})
    .to_string();
    let mut aps = json!({"aps": {"alert": {"title": n.title, "body": n.body}, "sound": "default"}});
    if let Some(session) = n.session_id {
        aps["aps"]["thread-id"] = Value::String(session.to_string());
    }
    for (key, value) in &data {
        aps[key] = Value::String(value.clone());
    }
    let apns = aps.to_string();
    if fcm.len() > MAX_PLATFORM_PAYLOAD_BYTES || apns.len() > MAX_PLATFORM_PAYLOAD_BYTES {
        return Err(ApiError::unprocessable(
            "notification_too_large",
            format!("the notification is over {MAX_PLATFORM_PAYLOAD_BYTES} bytes for a platform; send ids, not content"),
        ));
    }
    Ok(json!({"default": format!("{}: {}", n.title, n.body), "GCM": fcm, "APNS": apns, "APNS_SANDBOX": apns})
        .to_string())
}

pub(super) fn validate(recipients: &[UserId], n: &Notification) -> Result<Vec<UserId>, ApiError> {
    text("title", &n.title, MAX_TITLE_CHARS)?;
    text("body", &n.body, MAX_BODY_CHARS)?;
    if n.data.len() > MAX_DATA_ENTRIES
        || n.data.iter().any(|(k, v)| k.is_empty() || k.len() > 32 || v.chars().count() > 256)
    {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!(
                "data: at most {MAX_DATA_ENTRIES} entries, keys 1 to 32 bytes, values up to 256 characters"
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    let distinct: Vec<UserId> = recipients.iter().filter(|u| seen.insert((*u).clone())).cloned().collect();
    if distinct.is_empty() || distinct.len() > MAX_RECIPIENTS {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("user_ids: 1 to {MAX_RECIPIENTS} distinct recipients"),
        ));
    }
    Ok(distinct)
}

/// An admin sends a notification to recipients: nothing is sent (and nothing written) unless the
/// whole request is valid; then each recipient is handled on its own, and the summary counts the
/// outcomes (each one also a delivery log).
pub async fn send_notification(
    app: &App,
    principal: &Principal,
    recipients: Vec<UserId>,
    notification: Notification,
) -> Result<SendSummary, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("send notifications; only admins do"));
    }
    let recipients = validate(&recipients, &notification)?;
    let job_id = next_ulid().to_string();
    let message: Arc<str> = platform_message(&job_id, &notification)?.into();
    let notification = Arc::new(notification);
    let at = now();
    let mut summary =
        SendSummary { job_id: job_id.clone(), recipients: recipients.len(), ..SendSummary::default() };
    let mut pending = recipients.into_iter();
    let mut running = JoinSet::new();
    let mut unlogged = None;
    loop {
        // After a recipient whose log could not be written, no one else is started: the send
        // fails, and the logs of the job show who was handled.
        while running.len() < RECIPIENT_CONCURRENCY && unlogged.is_none() {
            let Some(user) = pending.next() else { break };
            let (app, job, n, message) = (app.clone(), job_id.clone(), notification.clone(), message.clone());
            running
                .spawn(async move { deliver_to(&app, &job, &user, &n, &message, at, Known::Nothing).await });
        }
        match running.join_next().await {
            None => break,
            Some(Ok(Ok(statuses))) => statuses.into_iter().for_each(|status| count(&mut summary, status)),
            Some(Ok(Err(error))) => {
                unlogged.get_or_insert(error);
            }
            Some(Err(error)) => {
                tracing::error!(%error, "a recipient's task failed");
                summary.failed += 1;
            }
        }
    }
    if let Some(error) = unlogged {
        tracing::warn!(job_id, sent = summary.sent, %error, "a send stopped: a delivery log could not be written");
        return Err(error);
    }
    tracing::info!(job_id, sent = summary.sent, failed = summary.failed, "notification sent");
    Ok(summary)
}

fn count(summary: &mut SendSummary, status: DeliveryStatus) {
    let reason = match status {
        DeliveryStatus::Sent => {
            summary.sent += 1;
            None
        }
        DeliveryStatus::Failed => {
            summary.failed += 1;
            None
        }
        DeliveryStatus::EndpointDisabled => {
            summary.endpoint_disabled += 1;
            None
        }
        DeliveryStatus::SkippedPreference => Some("preference"),
        DeliveryStatus::SkippedQuietHours => Some("quiet_hours"),
        DeliveryStatus::SkippedMuted => Some("muted"),
        DeliveryStatus::SkippedBlocked => Some("blocked"),
        DeliveryStatus::SkippedNoDevice => Some("no_device"),
        // `deliver_to` reports only settled attempts.
        DeliveryStatus::Pending => None,
    };
    if let Some(reason) = reason {
        *summary.skipped.entry(reason).or_default() += 1;
    }
}

/// What is known of a recipient before a push is decided.
pub(super) enum Known {
    /// Nothing: their preferences, block and devices are read.
    Nothing,
    /// Their devices (chat pushes read them to find who to push).
    Devices(Vec<Device>),
}

/// A delivery log of `user` for a send, with a fresh id.
pub(super) fn delivery_log(
    job_id: &str,
    user: &UserId,
    n: &Notification,
    at: OffsetDateTime,
    status: DeliveryStatus,
    device: Option<&Device>,
) -> DeliveryLog {
    DeliveryLog {
        id: next_ulid().to_string(),
        job_id: job_id.to_owned(),
        user_id: user.clone(),
        device_id: device.map(|d| d.device_id.clone()),
        platform: device.map(|d| d.platform),
        category: n.category,
        status,
        error: None,
        payload: None,
        message_id: None,
        at,
    }
}

/// Whom to push, once a recipient's preferences, block and devices are known: their devices,
/// or the status that skips them.
pub(super) fn devices_to_push(
    preferences: Option<PreferencesRecord>,
    block: Option<Block>,
    user_devices: Vec<Device>,
    n: &Notification,
    at: OffsetDateTime,
) -> Result<Vec<Device>, DeliveryStatus> {
    if block.is_some() {
        return Err(DeliveryStatus::SkippedBlocked);
    }
    let prefs = preferences.map(|r| r.preferences).unwrap_or_default();
    match decide(&prefs, n.category, n.session_id.as_ref(), at) {
        Decision::SkippedPreference => Err(DeliveryStatus::SkippedPreference),
        Decision::SkippedMuted => Err(DeliveryStatus::SkippedMuted),
        Decision::SkippedQuietHours => Err(DeliveryStatus::SkippedQuietHours),
        Decision::Send if user_devices.is_empty() => Err(DeliveryStatus::SkippedNoDevice),
        Decision::Send => Ok(user_devices),
    }
}

/// Publishes `message` to `device` and settles `entry` (logged `pending` before) to the
/// outcome; a device SNS reports disabled or gone is marked disabled.
pub(super) async fn publish_attempt(app: &App, device: &Device, message: &str, entry: &mut DeliveryLog) {
    match app.push.publish(&device.endpoint_arn, message).await {
        Ok(id) => {
            entry.status = DeliveryStatus::Sent;
            entry.message_id = Some(id);
            entry.payload =
                app.push.keeps_payloads().then(|| serde_json::from_str(message).unwrap_or(Value::Null));
        }
        Err(PushError::EndpointDisabled) | Err(PushError::NotFound) => {
            if let Err(error) = devices::disable(app.store.as_ref(), device).await {
                tracing::warn!(%error, "marking a device disabled failed");
            }
            entry.status = DeliveryStatus::EndpointDisabled;
        }
        Err(error) => {
            entry.status = DeliveryStatus::Failed;
            entry.error = Some(error.to_string());
        }
    }
}

/// Handles one recipient; returns the statuses it logged. No attempt is reported unless its log
/// is stored: a decision not to send is logged as it is; a publish is logged `pending` first,
/// published only once that log is stored, then settled to its outcome. A log that cannot be
/// written fails the recipient with the store's error (a settle that fails leaves the log
/// `pending`: the push may have gone out).
pub(super) async fn deliver_to(
    app: &App,
    job_id: &str,
    user: &UserId,
    n: &Notification,
    message: &str,
    at: OffsetDateTime,
    known: Known,
) -> Result<Vec<DeliveryStatus>, ApiError> {
    let store = app.store.as_ref();
    let log = |status, device: Option<&Device>| delivery_log(job_id, user, n, at, status, device);
    let read = match known {
        Known::Devices(known) => {
            tokio::try_join!(preferences::get(store, user), blocks::get(store, user), async { Ok(known) })
        }
        Known::Nothing => {
            tokio::try_join!(
                preferences::get(store, user),
                blocks::get(store, user),
                devices::of_user(store, user)
            )
        }
    };
    let decided = match read {
        // Nothing was decided, and no log could be written either: the send fails.
        Err(error @ ApiError::StoreUnavailable(_)) => return Err(error),
        Err(error) => {
            let mut entry = log(DeliveryStatus::Failed, None);
            entry.error = Some(error.to_string());
            Err(entry)
        }
        Ok((prefs, block, user_devices)) => {
            devices_to_push(prefs, block, user_devices, n, at).map_err(|status| log(status, None))
        }
    };
    let user_devices = match decided {
        Ok(user_devices) => user_devices,
        Err(entry) => {
            deliveries::put(store, &entry).await?;
            return Ok(vec![entry.status]);
        }
    };
    let mut statuses = Vec::with_capacity(user_devices.len());
    for device in &user_devices {
        if !device.enabled {
            deliveries::put(store, &log(DeliveryStatus::EndpointDisabled, Some(device))).await?;
            statuses.push(DeliveryStatus::EndpointDisabled);
            continue;
        }
        let mut entry = log(DeliveryStatus::Pending, Some(device));
        deliveries::put(store, &entry).await?;
        publish_attempt(app, device, message, &mut entry).await;
        deliveries::put(store, &entry).await?;
        statuses.push(entry.status);
    }
    Ok(statuses)
}

/// One page of delivery logs: a user's own; an admin's own, or any user's (`user_id`), or a
/// send's (`job_id`).
pub async fn list_delivery_logs(
    app: &App,
    principal: &Principal,
    user: Option<UserId>,
    job: Option<String>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<DeliveryLog>, Option<Cursor>), ApiError> {
    let listing = match (user, job) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("invalid_filter", "filter by user_id or by job_id, not both"))
        }
        (None, Some(job)) if principal.role == Role::Admin => LogListing::Job(job),
        (Some(user), None) if principal.role == Role::Admin || user == principal.user_id => {
            LogListing::User(user)
        }
        (None, None) => LogListing::User(principal.user_id.clone()),
        _ => return Err(role_forbidden("read other users' delivery logs; only admins do")),
    };
    deliveries::list(app.store.as_ref(), &listing, limit, cursor).await
}

/// The session's participants to tell about a change by `actor`, who are not connected (no live
/// connection) and have a device, with their devices.
async fn offline_recipients(
    app: &App,
    session: &Session,
    actor: &UserId,
) -> Result<Vec<(UserId, Vec<Device>)>, ApiError> {
    let store = app.store.as_ref();
    let mut recipients = Vec::new();
    for user in std::iter::once(&session.customer_id).chain(session.agent_id.as_ref()) {
        if user == actor {
            continue;
        }
        if !connections::of_user(store, user, 1, now()).await?.is_empty() {
            continue;
        }
        let user_devices = devices::of_user(store, user).await?;
        if !user_devices.is_empty() {
            recipients.push((user.clone(), user_devices));
        }
    }
    Ok(recipients)
}

/// Sends one notification to one recipient, whose devices were read already, outside an admin's
/// send (chat and session pushes).
async fn push_one(
    app: &App,
    job_id: &str,
    (user, user_devices): (UserId, Vec<Device>),
    n: &Notification,
) -> Result<(), ApiError> {
    let message = platform_message(job_id, n)?;
    deliver_to(app, job_id, &user, n, &message, now(), Known::Devices(user_devices)).await?;
    Ok(())
}

/// After a new message (a reaction of the change feed, off the send's path): each other
/// participant with no live connection and a device gets a `chat_message` push (their
/// preferences, mute, block and quiet hours decide), at most one per session per minute,
/// announcing how many messages came since the last one. A message handled twice counts and
/// pushes once (the coalescing counter remembers the newest message it counted).
pub async fn chat_message(app: &App, message: &Message) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    let session = sessions::get(store, &message.session_id).await?.ok_or_else(ApiError::session_not_found)?;
    let now_ms = (crate::domain::now().unix_timestamp_nanos() / 1_000_000) as i64;
    for recipient in offline_recipients(app, &session, &message.sender_id).await? {
        let user = &recipient.0;
        let Some(count) = coalesce::message_for(store, user, &session.id, &message.id, now_ms).await? else {
            continue;
        };
        let body = if count == 1 {
            "You have a new message".to_owned()
        } else {
            format!("You have {count} new messages")
        };
        let n = Notification {
            category: Category::ChatMessage,
            title: session.subject.chars().take(MAX_TITLE_CHARS).collect(),
            body,
            session_id: Some(session.id),
            data: BTreeMap::from([
                ("message_id".to_owned(), message.id.to_string()),
                ("count".to_owned(), count.to_string()),
            ]),
        };
        push_one(app, &message.id.to_string(), recipient, &n).await?;
    }
    Ok(())
}

/// After a session was assigned, transferred or closed by `actor` (a reaction of the change
/// feed, off the request's path; `session` as the change left it): its other participants with
/// no live connection and a device get a `session_update` push, logged under `job_id` (the
/// change's event id). A change handled twice pushes each participant once (claimed first).
pub async fn session_update(
    app: &App,
    job_id: &str,
    session: &Session,
    actor: &UserId,
) -> Result<(), ApiError> {
    for recipient in offline_recipients(app, session, actor).await? {
        if !deliveries::claim(app.store.as_ref(), job_id, &recipient.0).await? {
            continue;
        }
        let customer = recipient.0 == session.customer_id;
        let body = match (session.status, customer) {
            (SessionStatus::Closed, true) => "Your conversation was closed",
            (SessionStatus::Closed, false) => "A conversation of yours was closed",
            (SessionStatus::Active, true) => "An agent is now with you",
            (SessionStatus::Active, false) => "A conversation was assigned to you",
            (SessionStatus::Waiting, _) => "The conversation is waiting for an agent",
        };
        let n = Notification {
            category: Category::SessionUpdate,
            title: session.subject.chars().take(MAX_TITLE_CHARS).collect(),
            body: body.to_owned(),
            session_id: Some(session.id),
            data: BTreeMap::from([("status".to_owned(), session.status.as_str().to_owned())]),
        };
        push_one(app, job_id, recipient, &n).await?;
    }
    Ok(())
}
