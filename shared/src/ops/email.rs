//! Replies by e-mail: a reply from the support side that the customer has not read, while they are
//! not connected, reaches them by e-mail after their site's delay (default 5 minutes), one e-mail
//! per burst of replies (`repo::email`):
//!
//! 1. a reply to a widget visitor who gave an address starts the session's pending e-mail (the
//!    change feed's `email` reaction, [`reply_sent`]), unless one is pending already;
//! 2. every minute the sweep ([`sweep`]) takes what is due: replies read since → nothing; the
//!    customer connected → put off by the delay again (never an e-mail while they are
//!    connected); their preferences say no → nothing; else one e-mail with every reply they have
//!    not read, claimed first so that it goes out once however many sweeps run;
//! 3. the e-mail's unsubscribe link and its RFC 8058 one-click header switch the `email`
//!    preference off without signing in ([`unsubscribe`]).

use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::widget::WidgetUser;
use crate::domain::{Message, MessageId, Role, Session, UserId};
use crate::error::ApiError;
use crate::mail::reports::{self, MailReport, ReportKind};
use crate::mail::{Email, MailError, Mailbox, Mailer};
use crate::repo::email::{
    self as pending_email, PendingEmail, SentEmail, SentStatus, SuppressedAddress, Undeliverable,
};
use crate::repo::preferences::PreferencesRecord;
use crate::repo::{agents, connections, preferences, sessions, sites};
use crate::store::ItemStore;

/// The delay when the site sets none.
pub const DEFAULT_DELAY_MINUTES: u16 = 5;
/// Most replies one e-mail carries (the newest; older ones are in the conversation).
pub const MAX_REPLIES: usize = 20;
/// Most pending e-mails one sweep handles (the rest wait for the next minute).
pub const MAX_PER_SWEEP: usize = 500;
/// A claim still `sending` after this long was cut off (a sweep stopped between the claim and the
/// send's end): the next sweep sends it again.
pub const CLAIM_TIMEOUT: Duration = Duration::minutes(5);
/// The purpose the link key is used for (the key signs nothing else).
const LINK_PURPOSE: &[u8] = b"switchboard e-mail unsubscribe";

/// What the functions that send e-mail need: the mail service, the sender's address (verified in
/// SES) and the API's public address (the unsubscribe links point there).
pub struct Mailing {
    /// Sends.
    pub mailer: Arc<dyn Mailer>,
    /// `From`.
    pub from_address: String,
    /// `https://…/api/v1`, without a trailing slash.
    pub api_base_url: String,
    /// The domain the customers' replies come back to (SES receiving), if it is set up: the
    /// e-mails' `Reply-To` is then the session's signed reply address there.
    pub inbound_domain: Option<String>,
}

/// The sender's address (verified in SES).
pub const EMAIL_FROM: &str = "EMAIL_FROM";
/// The API's public address, `https://…/api/v1` (the unsubscribe links point there).
pub const PUBLIC_API_URL: &str = "PUBLIC_API_URL";
/// The domain replies to the e-mails come back to (optional).
pub const EMAIL_INBOUND_DOMAIN: &str = "EMAIL_INBOUND_DOMAIN";

impl Mailing {
    /// Sending through `mailer` as [`EMAIL_FROM`], with links to [`PUBLIC_API_URL`].
    pub fn from_env(mailer: Arc<dyn Mailer>) -> Result<Self, crate::config::ConfigError> {
        use crate::config::{var, ConfigError};
        let from_address = var(EMAIL_FROM).ok_or(ConfigError::Missing(EMAIL_FROM))?;
        if from_address.contains(['\r', '\n']) || !from_address.contains('@') {
            return Err(ConfigError::Invalid { name: EMAIL_FROM, reason: "not an e-mail address".into() });
        }
        let api_base_url = var(PUBLIC_API_URL).ok_or(ConfigError::Missing(PUBLIC_API_URL))?;
        let inbound_domain = var(EMAIL_INBOUND_DOMAIN);
        Ok(Self {
            mailer,
            from_address,
            api_base_url: api_base_url.trim_end_matches('/').to_owned(),
            inbound_domain,
        })
    }
}

/// The change feed's reaction to a new message: a reply from the support side to a widget visitor
/// who gave an address (or a signed-in user whose identity carried one) starts the session's
/// pending e-mail, due after the site's delay.
pub async fn reply_sent(app: &App, message: &Message) -> Result<(), ApiError> {
    if message.sender_role == Role::Customer || message.deleted {
        return Ok(());
    }
    let store = app.store.as_ref();
    // A burst already pending: the sweep takes every unread reply of it.
    if pending_email::pending(store, &message.session_id).await?.is_some() {
        return Ok(());
    }
    let Some(session) = sessions::get(store, &message.session_id).await? else { return Ok(()) };
    let Some(site) = widget_site(&session.customer_id) else { return Ok(()) };
    let has_address =
        sites::get_visitor(store, &session.customer_id).await?.is_some_and(|visitor| visitor.email.is_some());
    if !has_address {
        return Ok(());
    }
    let delay = site_delay(store, &site).await?;
    let pending =
        PendingEmail::new(message.session_id, session.customer_id, message.id, message.created_at + delay);
    pending_email::start(store, &pending).await?;
    Ok(())
}

/// The site of a customer who may be e-mailed: a widget visitor (an address from the pre-chat
/// form) or a signed-in user of the site (an address from their identity token).
fn widget_site(customer: &UserId) -> Option<crate::domain::SiteId> {
    match WidgetUser::of(customer)? {
        WidgetUser::Visitor { site } | WidgetUser::Identified { site, .. } => Some(site),
    }
}

async fn site_delay(store: &dyn ItemStore, site: &crate::domain::SiteId) -> Result<Duration, ApiError> {
    let minutes = sites::get(store, site)
        .await?
        .map_or(DEFAULT_DELAY_MINUTES, |record| record.site.settings.email_delay_minutes);
    Ok(Duration::minutes(i64::from(minutes)))
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SweepReport {
    /// Pending e-mails due.
    pub due: u64,
    /// E-mails sent.
    pub sent: u64,
    /// Put off: the customer was connected.
    pub postponed: u64,
    /// Dropped: the replies were read, or there was nothing left to send.
    pub read: u64,
    /// Dropped: the customer's preferences, no address, or the session is gone.
    pub skipped: u64,
    /// Dropped: the customer's address bounced for good or they complained of an e-mail.
    pub undeliverable: u64,
    /// Refused by the mail service (not sent again).
    pub refused: u64,
    /// Left for a later sweep: another sweep is sending it, or the mail service was unavailable.
    pub retried: u64,
}

/// How one pending e-mail ended.
enum Outcome {
    Sent,
    Postponed,
    Read,
    Skipped,
    Undeliverable,
    Refused,
    Retry,
}

/// Sends the e-mails due at `now` (at most [`MAX_PER_SWEEP`]): the scheduled `email-sweep`, every
/// minute.
pub async fn sweep(app: &App, now: OffsetDateTime) -> Result<SweepReport, ApiError> {
    let mailing =
        app.mailing.as_ref().ok_or_else(|| ApiError::Internal("this function sends no e-mail".into()))?;
    let mut report = SweepReport::default();
    for shard in 0..pending_email::SHARDS {
        let mut cursor = None;
        loop {
            let (due, next) = pending_email::due(app.store.as_ref(), shard, now, 100, cursor).await?;
            for pending in due {
                if report.due as usize >= MAX_PER_SWEEP {
                    return Ok(report);
                }
                report.due += 1;
                match deliver(app, mailing, &pending, now).await? {
                    Outcome::Sent => report.sent += 1,
                    Outcome::Postponed => report.postponed += 1,
                    Outcome::Read => report.read += 1,
                    Outcome::Skipped => report.skipped += 1,
                    Outcome::Undeliverable => report.undeliverable += 1,
                    Outcome::Refused => report.refused += 1,
                    Outcome::Retry => report.retried += 1,
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    Ok(report)
}

/// The replies of the burst from `pending.first_message_id` that the customer has not read,
/// oldest first (at most [`MAX_REPLIES`], the newest).
async fn unread_replies(
    store: &dyn ItemStore,
    session: &Session,
    from: &MessageId,
) -> Result<Vec<Message>, ApiError> {
    let marker = sessions::read_marker(store, &session.id, &session.customer_id).await?;
    let read = marker.map(|marker| marker.last_read_message_id);
    let page = store.query(crate::repo::messages::newest_since(&session.id, Some(from), MAX_REPLIES)).await?;
    let mut replies = page
        .items
        .into_iter()
        .map(crate::repo::from_item::<Message>)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|message| message.sender_role != Role::Customer && !message.deleted)
        .filter(|message| read.as_ref().is_none_or(|read| &message.id > read))
        .collect::<Vec<_>>();
    replies.reverse();
    Ok(replies)
}

async fn deliver(
    app: &App,
    mailing: &Mailing,
    pending: &PendingEmail,
    now: OffsetDateTime,
) -> Result<Outcome, ApiError> {
    let store = app.store.as_ref();
    let Some(session) = sessions::get(store, &pending.session_id).await? else {
        pending_email::finish(store, pending).await?;
        return Ok(Outcome::Skipped);
    };
    let replies = unread_replies(store, &session, &pending.first_message_id).await?;
    let Some(last) = replies.last().map(|reply| reply.id) else {
        pending_email::finish(store, pending).await?;
        return Ok(Outcome::Read);
    };
    let Some(site) = widget_site(&session.customer_id) else {
        pending_email::finish(store, pending).await?;
        return Ok(Outcome::Skipped);
    };
    if !connections::of_user(store, &session.customer_id, 1, now).await?.is_empty() {
        let delay = site_delay(store, &site).await?;
        pending_email::postpone(store, pending, now + delay).await?;
        return Ok(Outcome::Postponed);
    }
    let wanted = preferences::get(store, &session.customer_id).await?.is_none_or(|record| {
        record.preferences.email && !record.preferences.muted_sessions.contains(&session.id)
    });
    let visitor = sites::get_visitor(store, &session.customer_id).await?;
    let (Some(address), true) = (visitor.as_ref().and_then(|visitor| visitor.email.clone()), wanted) else {
        pending_email::finish(store, pending).await?;
        return Ok(Outcome::Skipped);
    };
    if pending_email::suppression(store, &address).await?.is_some() {
        // It bounced for good or its owner complained: nothing more goes to it until the
        // customer gives another address.
        pending_email::finish(store, pending).await?;
        return Ok(Outcome::Undeliverable);
    }
    let site = sites::get(store, &site).await?.map(|record| record.site.settings);
    let site_name = site.as_ref().map(|settings| settings.name.clone());
    // The site's first origin: the widget there carries on the conversation.
    let site_url =
        site.as_ref().and_then(|settings| settings.allowed_origins.first()).map(ToString::to_string);
    let claim = SentEmail {
        session_id: session.id,
        customer_id: session.customer_id.clone(),
        address: address.clone(),
        message_ids: replies.iter().map(|reply| reply.id).collect(),
        email_message_id: format!("{}.{}@{}", session.id, last, domain_of(&mailing.from_address)),
        status: SentStatus::Sending,
        provider_id: None,
        claimed_at: now,
        reported_at: None,
        detail: None,
    };
    if !pending_email::claim(store, &claim, now - CLAIM_TIMEOUT).await? {
        // Another sweep sent this burst, or is sending it: once it is done, nothing is left.
        let settled = pending_email::get_sent(store, &session.id, &last)
            .await?
            .is_some_and(|sent| sent.status != SentStatus::Sending);
        if settled {
            finish_burst(app, pending, &session, &last, now).await?;
            return Ok(Outcome::Read);
        }
        return Ok(Outcome::Retry);
    }
    let names = agent_names(store, &replies).await?;
    let reply_to = match &mailing.inbound_domain {
        Some(domain) => Some(reply_address(store, &session.id, domain).await?),
        None => None,
    };
    let link = unsubscribe_link(store, &mailing.api_base_url, &session.customer_id).await?;
    let recipient = Mailbox { name: visitor.and_then(|visitor| visitor.name), address };
    let team = Team { name: site_name.as_deref().unwrap_or("Support"), url: site_url.as_deref() };
    let mut email = compose(mailing, &claim, &session, &team, &replies, &names, &link, recipient);
    email.reply_to = reply_to;
    let outcome = match mailing.mailer.send(&email).await {
        Ok(provider_id) => {
            let sent = SentEmail { status: SentStatus::Sent, provider_id: Some(provider_id), ..claim };
            pending_email::settle(store, &sent).await?;
            Outcome::Sent
        }
        Err(MailError::Refused(reason)) => {
            tracing::warn!(session_id = %session.id, %reason, "the mail service refused the e-mail");
            pending_email::settle(store, &SentEmail { status: SentStatus::Refused, ..claim }).await?;
            Outcome::Refused
        }
        Err(MailError::Unavailable(reason)) => {
            // The claim times out and a later sweep sends it again.
            tracing::warn!(session_id = %session.id, %reason, "the mail service is unavailable");
            return Ok(Outcome::Retry);
        }
    };
    finish_burst(app, pending, &session, &last, now).await?;
    Ok(outcome)
}

/// Ends a burst whose e-mail went out with the replies up to `last`: the pending e-mail goes, and
/// a reply that came in since (whose reaction found this one still pending) starts the next one.
async fn finish_burst(
    app: &App,
    pending: &PendingEmail,
    session: &Session,
    last: &MessageId,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    pending_email::finish(store, pending).await?;
    let later = unread_replies(store, session, last).await?;
    if let Some(next) = later.into_iter().find(|reply| &reply.id > last) {
        let delay = match widget_site(&session.customer_id) {
            Some(site) => site_delay(store, &site).await?,
            None => Duration::minutes(i64::from(DEFAULT_DELAY_MINUTES)),
        };
        let due_at = (next.created_at + delay).max(now);
        let next = PendingEmail::new(session.id, session.customer_id.clone(), next.id, due_at);
        pending_email::start(store, &next).await?;
    }
    Ok(())
}

/// The display names of the replies' senders (their id when they have none).
async fn agent_names(store: &dyn ItemStore, replies: &[Message]) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::with_capacity(replies.len());
    let mut known: Vec<(UserId, String)> = Vec::new();
    for reply in replies {
        let name = match known.iter().find(|(id, _)| id == &reply.sender_id) {
            Some((_, name)) => name.clone(),
            None => {
                let name = agents::get(store, &reply.sender_id)
                    .await?
                    .and_then(|state| state.name)
                    .unwrap_or_else(|| reply.sender_id.to_string());
                known.push((reply.sender_id.clone(), name.clone()));
                name
            }
        };
        names.push(name);
    }
    Ok(names)
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, domain)| domain)
}

/// The e-mail of a burst: text and HTML parts, the unsubscribe headers.
#[allow(clippy::too_many_arguments)]
fn compose(
    mailing: &Mailing,
    claim: &SentEmail,
    session: &Session,
    team: &Team<'_>,
    replies: &[Message],
    names: &[String],
    unsubscribe: &str,
    to: Mailbox,
) -> Email {
    let (answer_text, answer_html) = match team.url {
        Some(url) => (
            format!("Answer in the chat on {url}"),
            format!("<a href=\"{}\">Answer in the chat on {}</a>", escape(url), escape(url)),
        ),
        None => (
            format!("Answer in the chat on {}'s site", team.name),
            format!("Answer in the chat on {}'s site", escape(team.name)),
        ),
    };
    let team = team.name;
    let first_name = names.first().cloned().unwrap_or_else(|| team.to_owned());
    let subject = format!("{first_name} replied: {}", session.subject);
    let mut text = format!("You have {} new {} from {team}:\n\n", replies.len(), plural(replies.len()));
    let mut html = format!(
        "<!doctype html><html><body><p>You have {} new {} from {}:</p>",
        replies.len(),
        plural(replies.len()),
        escape(team)
    );
    for (reply, name) in replies.iter().zip(names) {
        let body = reply.body.as_deref().unwrap_or_default();
        let at = crate::domain::timestamp::format(reply.created_at).unwrap_or_default();
        text.push_str(&format!("{name} ({at}):\n{body}\n\n"));
        html.push_str(&format!(
            "<p><strong>{}</strong> <small>{}</small><br>{}</p>",
            escape(name),
            escape(&at),
            escape(body).replace('\n', "<br>")
        ));
    }
    text.push_str(&format!("{answer_text}.\n\nNo more e-mails about your conversations: {unsubscribe}\n"));
    html.push_str(&format!(
        "<p>{answer_html}.</p><p><small><a href=\"{}\">No more e-mails about your conversations</a></small></p></body></html>",
        escape(unsubscribe)
    ));
    Email {
        from: Mailbox { name: Some(team.to_owned()), address: mailing.from_address.clone() },
        to,
        reply_to: None,
        subject,
        text,
        html,
        message_id: claim.email_message_id.clone(),
        headers: vec![
            ("List-Unsubscribe".into(), format!("<{unsubscribe}>")),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
        ],
        tags: claim.message_ids.last().map(|last| reports::tags(&session.id, last)).unwrap_or_default(),
    }
}

/// Who answers: the site's name, and where its chat is.
struct Team<'a> {
    name: &'a str,
    url: Option<&'a str>,
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        "reply"
    } else {
        "replies"
    }
}

/// Text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

type HmacSha256 = Hmac<Sha256>;

/// The HMAC of `subject` for `purpose` (an unsubscribe link's user, a reply address's session)
/// with the table's link key: one key, each use told apart by its purpose.
async fn keyed_mac(store: &dyn ItemStore, purpose: &[u8], subject: &str) -> Result<HmacSha256, ApiError> {
    let key = pending_email::link_key(store).await?;
    let mut mac = HmacSha256::new_from_slice(&key)
        .map_err(|e| ApiError::Internal(format!("the e-mail link key: {e}")))?;
    mac.update(purpose);
    mac.update(b"\n");
    mac.update(subject.as_bytes());
    Ok(mac)
}

async fn link_mac(store: &dyn ItemStore, user: &UserId) -> Result<HmacSha256, ApiError> {
    keyed_mac(store, LINK_PURPOSE, user.as_str()).await
}

/// The link that switches `user`'s e-mail off: it never expires (an old e-mail's link must work).
pub async fn unsubscribe_link(
    store: &dyn ItemStore,
    api_base_url: &str,
    user: &UserId,
) -> Result<String, ApiError> {
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(link_mac(store, user).await?.finalize().into_bytes());
    Ok(format!("{api_base_url}/email/unsubscribe?user={}&sig={signature}", percent_encoded(user.as_str())))
}

/// `text` for a query string: every byte but RFC 3986's unreserved ones as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Checks an unsubscribe link's user and signature: 403 `invalid_link` when they do not match.
pub async fn check_link(store: &dyn ItemStore, user: &str, signature: &str) -> Result<UserId, ApiError> {
    let invalid = || ApiError::Forbidden {
        code: "invalid_link",
        message: "this unsubscribe link is not one we sent; use the link of the e-mail as it came".into(),
    };
    let user = UserId::parse(user).map_err(|_| invalid())?;
    let signature =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
    link_mac(store, &user).await?.verify_slice(&signature).map_err(|_| invalid())?;
    Ok(user)
}

/// Switches `user`'s e-mail off (the link checked first): no more e-mails about their
/// conversations, whatever else their preferences say.
pub async fn unsubscribe(
    app: &App,
    user: &str,
    signature: &str,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let store = app.store.as_ref();
    let user = check_link(store, user, signature).await?;
    let mut record = preferences::get(store, &user).await?.unwrap_or_else(|| PreferencesRecord {
        user_id: user.clone(),
        preferences: Default::default(),
        updated_at: now,
    });
    if !record.preferences.email {
        return Ok(());
    }
    record.preferences.email = false;
    record.updated_at = now;
    preferences::put(store, &record).await
}

/// What a report on an e-mail changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reported {
    /// The e-mail's status as it now stands, and the addresses now undeliverable.
    Recorded {
        /// The e-mail's status.
        status: SentStatus,
        /// The addresses marked undeliverable by this report.
        undeliverable: Vec<String>,
    },
    /// No e-mail of ours is the one reported on (its session or burst is gone).
    UnknownEmail,
}

/// Records the mail service's report on one of the e-mails: the e-mail's status moves on
/// (delivered, bounced, complained of; reports come in any order and more than once), and an
/// address that bounced for good or whose owner complained is marked undeliverable, so no more
/// e-mail goes to it.
pub async fn record_report(app: &App, report: &MailReport) -> Result<Reported, ApiError> {
    let store = app.store.as_ref();
    let status = match report.kind {
        ReportKind::Delivered => SentStatus::Delivered,
        ReportKind::Bounced { .. } => SentStatus::Bounced,
        ReportKind::Complained => SentStatus::Complained,
        ReportKind::Rejected => SentStatus::Refused,
    };
    let recorded = pending_email::report(
        store,
        &report.session_id,
        &report.last_message_id,
        status,
        report.detail.as_deref(),
        report.at,
    )
    .await?;
    let Some(sent) = recorded else {
        tracing::warn!(session_id = %report.session_id, "a report on an e-mail we have no record of");
        return Ok(Reported::UnknownEmail);
    };
    let reason = match report.kind {
        ReportKind::Bounced { permanent: true } => Some(Undeliverable::Bounced),
        ReportKind::Complained => Some(Undeliverable::Complained),
        _ => None,
    };
    let mut undeliverable = Vec::new();
    if let Some(reason) = reason {
        // Only the address it was sent to: a report naming another is not ours to act on.
        let named = report.recipients.is_empty()
            || report.recipients.iter().any(|recipient| recipient.eq_ignore_ascii_case(&sent.address));
        if named {
            let suppressed = SuppressedAddress {
                address: sent.address.clone(),
                reason,
                detail: report.detail.clone(),
                session_id: sent.session_id,
                at: report.at,
            };
            pending_email::suppress(store, &suppressed).await?;
            tracing::info!(session_id = %sent.session_id, ?reason, "an address was marked undeliverable");
            undeliverable.push(sent.address.clone());
        }
    }
    Ok(Reported::Recorded { status: sent.status, undeliverable })
}

/// One e-mail to a session's customer, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionEmail {
    /// The address it went to.
    pub to: String,
    /// The replies it carried, oldest first.
    pub message_ids: Vec<MessageId>,
    /// What became of it: `sending`, `sent` (the mail service took it), `refused`, then as the
    /// mail service reports, `delivered`, `bounced` or `complained`. Opening is not tracked (no
    /// tracking pixels).
    pub status: SentStatus,
    /// When it was sent.
    #[serde(with = "crate::domain::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: OffsetDateTime,
    /// When the mail service last reported on it.
    #[serde(with = "crate::domain::timestamp::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reported_at: Option<OffsetDateTime>,
    /// What the mail service said (a bounce's type and the remote server's answer).
    pub detail: Option<String>,
}

/// The e-mails of a session, for the console: where the customer's e-mail stands, and a page of
/// the e-mails sent to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SessionEmails {
    /// The customer's address (from the pre-chat form or their identity token), if they have one.
    pub address: Option<String>,
    /// Why no more e-mail goes to that address, if none does.
    pub undeliverable: Option<SuppressedAddress>,
    /// The e-mails, oldest first.
    pub items: Vec<SessionEmail>,
    /// Pass as `?cursor=` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Every e-mail sent to a session's customer, oldest first, for its transcript; `None` when the
/// customer is not a site's widget user (no e-mail goes to them, so none is read).
pub async fn all_session_emails(
    store: &dyn ItemStore,
    session: &Session,
) -> Result<Option<Vec<SessionEmail>>, ApiError> {
    if widget_site(&session.customer_id).is_none() {
        return Ok(None);
    }
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) =
            pending_email::sent(store, &session.id, crate::store::MAX_QUERY_LIMIT, cursor).await?;
        all.extend(page.into_iter().map(SessionEmail::from));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(Some(all)),
        }
    }
}

impl From<SentEmail> for SessionEmail {
    fn from(sent: SentEmail) -> Self {
        Self {
            to: sent.address,
            message_ids: sent.message_ids,
            status: sent.status,
            sent_at: sent.claimed_at,
            reported_at: sent.reported_at,
            detail: sent.detail,
        }
    }
}

/// A session's e-mails to its customer and whether their address still takes e-mail: for admins,
/// the session's agent and agents who handled it before (as its notes).
pub async fn session_emails(
    store: &dyn ItemStore,
    principal: &crate::domain::Principal,
    session_id: &crate::domain::SessionId,
    limit: usize,
    cursor: Option<crate::store::Cursor>,
) -> Result<SessionEmails, ApiError> {
    super::require_staff(principal)?;
    let session = super::get_session(store, principal, session_id).await?;
    if !super::may_read_history(store, principal, &session).await? {
        return Err(super::never_handled());
    }
    let (sent, next) = pending_email::sent(store, session_id, limit, cursor).await?;
    // Only a site's widget user has an address (the pre-chat form, or their identity token).
    let address = match widget_site(&session.customer_id) {
        Some(_) => sites::get_visitor(store, &session.customer_id).await?.and_then(|visitor| visitor.email),
        None => None,
    };
    let undeliverable = match &address {
        Some(address) => pending_email::suppression(store, address).await?,
        None => None,
    };
    let items = sent.into_iter().map(SessionEmail::from).collect();
    Ok(SessionEmails { address, undeliverable, items, next_cursor: next.map(|cursor| cursor.encode()) })
}

/// The purpose of the reply addresses' signatures.
const REPLY_PURPOSE: &[u8] = b"switchboard e-mail reply address";
/// Bytes of the reply address's signature (80 bits, as 20 hex digits: an address's local part
/// may be lowercased on the way, so no base64).
const REPLY_SIGNATURE_BYTES: usize = 10;

async fn reply_mac(
    store: &dyn ItemStore,
    session: &crate::domain::SessionId,
) -> Result<HmacSha256, ApiError> {
    keyed_mac(store, REPLY_PURPOSE, &session.to_string()).await
}

/// A session's signed reply address, `reply+<session>.<signature>@<domain>`: a reply to it is
/// posted in the session, as its customer, once the sender is checked.
pub async fn reply_address(
    store: &dyn ItemStore,
    session: &crate::domain::SessionId,
    domain: &str,
) -> Result<String, ApiError> {
    let mac = reply_mac(store, session).await?.finalize().into_bytes();
    let signature: String =
        mac.iter().take(REPLY_SIGNATURE_BYTES).map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("reply+{}.{signature}@{domain}", session.to_string().to_lowercase()))
}

/// The session an address names, if it is a reply address we signed (any domain: the inbound
/// domain may have aliases).
pub async fn session_of_reply_address(
    store: &dyn ItemStore,
    address: &str,
) -> Result<Option<crate::domain::SessionId>, ApiError> {
    let Some((local, _)) = address.rsplit_once('@') else { return Ok(None) };
    let Some((session, signature)) = local.strip_prefix("reply+").and_then(|rest| rest.split_once('.'))
    else {
        return Ok(None);
    };
    let Ok(session) = crate::domain::SessionId::parse(&session.to_uppercase()) else { return Ok(None) };
    let Some(signature) = decode_hex(signature).filter(|bytes| bytes.len() == REPLY_SIGNATURE_BYTES) else {
        return Ok(None);
    };
    let matches = reply_mac(store, &session).await?.verify_truncated_left(&signature).is_ok();
    Ok(matches.then_some(session))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

/// What a mail service said of an inbound e-mail (SES receiving's verdicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdicts {
    /// Spam.
    pub spam: Verdict,
    /// A virus.
    pub virus: Verdict,
    /// SPF.
    pub spf: Verdict,
    /// DKIM.
    pub dkim: Verdict,
    /// DMARC.
    pub dmarc: Verdict,
}

/// One verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// Not decided (gray), or not checked (no service: the local gateway).
    #[default]
    Unknown,
}

impl Verdict {
    /// SES's `PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED`, `DISABLED`.
    pub fn of_ses(status: &str) -> Self {
        match status {
            "PASS" => Self::Pass,
            "FAIL" => Self::Fail,
            _ => Self::Unknown,
        }
    }
}

#[cfg(feature = "mail")]
impl Verdicts {
    /// Why the e-mail is refused, if it is: spam, a virus, DMARC failed, or both SPF and DKIM
    /// failed (the sender is not who the From says).
    fn refusal(&self) -> Option<&'static str> {
        if self.spam == Verdict::Fail {
            Some("spam")
        } else if self.virus == Verdict::Fail {
            Some("virus")
        } else if self.dmarc == Verdict::Fail || (self.spf == Verdict::Fail && self.dkim == Verdict::Fail) {
            Some("sender_not_authenticated")
        } else {
            None
        }
    }
}

/// What became of an inbound e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Received {
    /// Posted as the customer's message.
    Posted {
        /// Where: the session, reopened if it was closed, or a new one after its reopen window.
        session_id: crate::domain::SessionId,
        /// The message.
        message_id: MessageId,
        /// It reopened the session.
        reopened: bool,
        /// It started a new session (the old one closed more than 7 days before).
        new_session: bool,
        /// How many of the e-mail's files the message carries (the others are left out, each with
        /// its reason in the log).
        attachments: usize,
    },
    /// The same e-mail (its Message-ID) was posted before.
    Duplicate {
        /// The session it was for.
        session_id: crate::domain::SessionId,
    },
    /// Refused, and nothing posted: `not_a_reply_address`, `session_unknown`, `wrong_sender`,
    /// `no_message_id`, `spam`, `virus`, `sender_not_authenticated`, or `no_text` (no text and no
    /// file that may be kept).
    Refused {
        /// Why.
        reason: &'static str,
    },
}

#[cfg(feature = "mail")]
fn refused(reason: &'static str, mail: &crate::mail::inbound::InboundMail) -> Received {
    tracing::warn!(reason, from = ?mail.from, message_id = ?mail.message_id, "an inbound e-mail was refused");
    Received::Refused { reason }
}

/// Posts a customer's reply by e-mail in the session its reply address names, as their message
/// (`channel: email`), once: the same Message-ID twice is posted once. The reply address must be
/// one we signed, the sender the customer's address, the verdicts clean. A closed session is
/// reopened within its 7 days, else the reply opens a new session. The e-mail's files the
/// attachment limits allow (type, size, how many a message carries) become the message's
/// attachments, stored as the customer's uploads and checked as theirs are; the others are left
/// out and logged, and the message is posted without them.
#[cfg(feature = "mail")]
pub async fn receive(
    app: &App,
    mail: &crate::mail::inbound::InboundMail,
    verdicts: Verdicts,
    now: OffsetDateTime,
) -> Result<Received, ApiError> {
    let store = app.store.as_ref();
    if let Some(reason) = verdicts.refusal() {
        return Ok(refused(reason, mail));
    }
    let mut named = None;
    for recipient in &mail.recipients {
        if let Some(session) = session_of_reply_address(store, recipient).await? {
            named = Some(session);
            break;
        }
    }
    let Some(session_id) = named else { return Ok(refused("not_a_reply_address", mail)) };
    let Some(session) = sessions::get(store, &session_id).await? else {
        return Ok(refused("session_unknown", mail));
    };
    let address = sites::get_visitor(store, &session.customer_id).await?.and_then(|visitor| visitor.email);
    let sender_matches = match (&address, &mail.from) {
        (Some(address), Some(from)) => address.eq_ignore_ascii_case(from),
        _ => false,
    };
    if !sender_matches {
        return Ok(refused("wrong_sender", mail));
    }
    let Some(message_id) = mail.message_id.as_deref() else { return Ok(refused("no_message_id", mail)) };
    let files = files_to_keep(app, mail);
    if mail.text.is_empty() && files.is_empty() {
        return Ok(refused("no_text", mail));
    }
    let digest: String = <Sha256 as sha2::Digest>::digest(message_id.as_bytes())
        .iter()
        .take(20)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if !pending_email::claim_inbound(store, &session.id, &digest, now).await? {
        return Ok(Received::Duplicate { session_id: session.id });
    }
    match post_reply(app, &session, mail, files, &digest, now).await {
        Ok(received) => Ok(received),
        Err(error) => {
            // Not posted: a later delivery of the same e-mail may try again.
            pending_email::release_inbound(store, &session.id, &digest).await?;
            Err(error)
        }
    }
}

/// The e-mail's files the attachment limits allow (`InboundMail::files_to_keep`); each one left out
/// is logged with why (an app without an attachments bucket keeps none).
#[cfg(feature = "mail")]
fn files_to_keep<'m>(
    app: &App,
    mail: &'m crate::mail::inbound::InboundMail,
) -> Vec<crate::mail::inbound::FileToKeep<'m>> {
    use crate::mail::inbound::LeftOut;
    let (kept, left_out) = match app.attachment_objects {
        Some(_) => mail.files_to_keep(&app.attachment_limits),
        None => (
            Vec::new(),
            mail.attachments.iter().map(|file| LeftOut { file, reason: "no_attachments_bucket" }).collect(),
        ),
    };
    for LeftOut { file, reason } in left_out {
        tracing::warn!(
            reason,
            file_name = ?file.file_name,
            content_type = file.content_type,
            message_id = ?mail.message_id,
            "an e-mail's file is left out"
        );
    }
    kept
}

#[cfg(feature = "mail")]
async fn post_reply(
    app: &App,
    session: &Session,
    mail: &crate::mail::inbound::InboundMail,
    files: Vec<crate::mail::inbound::FileToKeep<'_>>,
    digest: &str,
    now: OffsetDateTime,
) -> Result<Received, ApiError> {
    use crate::domain::{Channel, ClientMessageId, MessageBody, Principal, SessionStatus, Subject};
    use crate::ops::{CreateSession, SendMessage};
    let principal = Principal {
        user_id: session.customer_id.clone(),
        role: Role::Customer,
        name: session.customer_name.clone(),
    };
    let (mut target, mut reopened, mut new_session) = (session.id, false, false);
    if session.status == SessionStatus::Closed {
        if session.closed_at.is_some_and(|closed| super::sessions::still_changeable(closed, now)) {
            super::sessions::reopen_session(app, &principal, &session.id).await?;
            reopened = true;
        } else {
            let subject: String = format!("Re: {}", session.subject).chars().take(200).collect();
            let input = CreateSession {
                subject: Subject::parse(&subject)?,
                priority: Default::default(),
                room_id: session.room_id,
            };
            target = super::sessions::create_session(app, &principal, input).await?.id;
            new_session = true;
        }
    }
    // Stored before the send that carries them. A failure that may pass fails the reply, which is
    // taken again (the files stored meanwhile stay the customer's unsent uploads, as an abandoned
    // upload does); a refusal leaves the file out.
    let mut attachments = Vec::with_capacity(files.len());
    for file in files {
        let crate::mail::inbound::FileToKeep { file_name, content_type, bytes } = file;
        let name = file_name.as_str().to_owned();
        match super::attachments::store_file(
            app,
            &principal,
            &target,
            file_name,
            &content_type,
            bytes.to_vec(),
        )
        .await
        {
            Ok(attachment) => attachments.push(attachment.id),
            Err(error) if error.status().is_client_error() => {
                tracing::warn!(reason = error.code(), file_name = name, "an e-mail's file is left out");
            }
            Err(error) => return Err(error),
        }
    }
    // A message holds 4,000 characters; the rest of a longer e-mail is cut.
    let text: String = mail.text.chars().take(4000).collect();
    let body = if text.is_empty() { None } else { Some(MessageBody::parse(&text)?) };
    if body.is_none() && attachments.is_empty() {
        return Ok(refused("no_text", mail));
    }
    let input = SendMessage {
        session_id: target,
        body,
        client_message_id: Some(ClientMessageId::parse(&format!("email-{digest}"))?),
        attachments,
        channel: Some(Channel::Email),
    };
    let message = match super::send_message(app, &principal, input, None).await? {
        super::Sent::Created(message, _) | super::Sent::Replayed(message) => message,
    };
    let attachments = message.attachments.len();
    Ok(Received::Posted { session_id: target, message_id: message.id, reopened, new_session, attachments })
}
