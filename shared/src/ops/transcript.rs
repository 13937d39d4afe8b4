//! Transcripts: a session's whole conversation in one document, as JSON, plain text or CSV.
//!
//! Private notes are part of a transcript only for the support side and only when asked
//! (`include_notes`, the default for agents and admins); a customer's transcript never has
//! them, whatever they ask. The support side's transcript of a widget customer's session also
//! has the e-mails of replies they left unread, with what became of each.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::csv::csv_field;
use crate::domain::tools::Note;
use crate::domain::{now, timestamp, Message, Participant, Principal, Role, Session, SessionId};
use crate::error::ApiError;
use crate::repo::messages::{self, MessageWindow};
use crate::repo::{notes, sessions};
use crate::store::{ItemStore, MAX_QUERY_LIMIT};

/// Most messages (tombstones included) one transcript holds; a longer session is paged with
/// `GET /chat/messages/{session_id}` instead.
pub const MAX_MESSAGES: usize = 10_000;
/// Largest transcript body, in bytes (API Gateway and Lambda answer at most 6 MB).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// The formats a transcript comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: the session, participants, messages and notes as records.
    Json,
    /// `text/plain`: one line per message (and note), for reading or sharing.
    Text,
    /// `text/csv`: one row per message (and note), for spreadsheets.
    Csv,
}

impl Format {
    /// Parses `?format=` (default JSON).
    pub fn parse(text: Option<&str>) -> Result<Self, ApiError> {
        match text {
            None | Some("json") => Ok(Format::Json),
            Some("text") | Some("txt") => Ok(Format::Text),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("format: must be json, text or csv, got {other:?}"),
            )),
        }
    }

    /// The content type of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Text => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file extension of a download in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "txt",
            Format::Csv => "csv",
        }
    }
}

/// A session's conversation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Transcript {
    /// The session as it is now.
    pub session: Session,
    /// Everyone who took part.
    pub participants: Vec<Participant>,
    /// Every message, oldest first (deleted ones as tombstones).
    pub messages: Vec<Message>,
    /// The e-mails of replies the customer left unread, oldest first, with what became of each
    /// (support side only; absent for customers and for sessions of customers without e-mail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<super::email::SessionEmail>>,
    /// The private notes, oldest first; absent when not included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Vec<Note>>,
    /// When the transcript was made.
    #[serde(with = "crate::domain::timestamp")]
    pub generated_at: OffsetDateTime,
}

/// The transcript of a session the caller may read: its customer (never with notes), its agent,
/// agents who handled it before, and admins (with notes unless `include_notes` is false). Other
/// agents, who may read a waiting session to pick it up, get 403 `session_not_handled`.
pub async fn transcript(
    store: &dyn ItemStore,
    principal: &Principal,
    id: &SessionId,
    include_notes: Option<bool>,
) -> Result<Transcript, ApiError> {
    let session = super::get_session(store, principal, id).await?;
    if !super::may_read_history(store, principal, &session).await? {
        return Err(super::never_handled());
    }
    let with_notes = principal.role != Role::Customer && include_notes.unwrap_or(true);
    let mut participants = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = sessions::participants(store, id, MAX_QUERY_LIMIT, cursor).await?;
        participants.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let window = MessageWindow { after: None, ascending: true };
        let (page, next) = messages::list(store, id, window, MAX_QUERY_LIMIT, cursor).await?;
        all.extend(page);
        if all.len() > MAX_MESSAGES {
            return Err(too_large(format!("the session has more than {MAX_MESSAGES} messages")));
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let notes = if with_notes {
        let mut found = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = notes::list(store, id, MAX_QUERY_LIMIT, cursor).await?;
            found.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => break Some(found),
            }
        }
    } else {
        None
    };
    let emails = match principal.role {
        Role::Customer => None,
        _ => super::email::all_session_emails(store, &session).await?,
    };
    Ok(Transcript { session, participants, messages: all, emails, notes, generated_at: now() })
}

fn too_large(why: String) -> ApiError {
    ApiError::unprocessable(
        "transcript_too_large",
        format!("{why}; page through GET /chat/messages/{{session_id}} instead"),
    )
}

/// The transcript as a body in `format`; 422 when it is larger than [`MAX_BYTES`].
pub fn render(transcript: &Transcript, format: Format) -> Result<String, ApiError> {
    let body = match format {
        Format::Json => serde_json::to_string(transcript)
            .map_err(|e| ApiError::Internal(format!("serialising a transcript: {e}")))?,
        Format::Text => text(transcript)?,
        Format::Csv => csv(transcript)?,
    };
    if body.len() > MAX_BYTES {
        return Err(too_large(format!("the transcript is {} bytes, over {MAX_BYTES}", body.len())));
    }
    Ok(body)
}

/// One line of the conversation: a message or a note, in time order.
struct Line<'a> {
    kind: &'static str,
    id: String,
    at: OffsetDateTime,
    author_id: &'a str,
    author_role: Role,
    author_name: Option<&'a str>,
    body: Option<&'a str>,
    edited_at: Option<OffsetDateTime>,
    deleted: bool,
    /// It came as a reply by e-mail.
    by_email: bool,
    /// For an e-mail to the customer: what became of it.
    email: Option<&'a super::email::SessionEmail>,
    /// The names of the files sent with it (never their content).
    attachments: Vec<&'a str>,
}

fn lines(transcript: &Transcript) -> Vec<Line<'_>> {
    let name_of = |user: &str| {
        transcript.participants.iter().find(|p| p.user_id.as_str() == user).and_then(|p| p.name.as_deref())
    };
    let mut lines: Vec<Line<'_>> = transcript
        .messages
        .iter()
        .map(|m| Line {
            kind: "message",
            id: m.id.to_string(),
            at: m.created_at,
            author_id: m.sender_id.as_str(),
            author_role: m.sender_role,
            author_name: name_of(m.sender_id.as_str()),
            body: m.body.as_deref(),
            edited_at: m.edited_at,
            deleted: m.deleted,
            by_email: m.channel == Some(crate::domain::Channel::Email),
            email: None,
            attachments: m.attachments.iter().map(|a| a.file_name.as_str()).collect(),
        })
        .collect();
    for email in transcript.emails.iter().flatten() {
        lines.push(Line {
            kind: "email",
            id: email.message_ids.last().map(ToString::to_string).unwrap_or_default(),
            at: email.sent_at,
            author_id: transcript.session.customer_id.as_str(),
            author_role: Role::Customer,
            author_name: None,
            body: None,
            edited_at: None,
            deleted: false,
            by_email: false,
            email: Some(email),
            attachments: Vec::new(),
        });
    }
    for note in transcript.notes.iter().flatten() {
        lines.push(Line {
            kind: "note",
            id: note.id.to_string(),
            at: note.created_at,
            author_id: note.author_id.as_str(),
            author_role: note.author_role,
            author_name: note.author_name.as_deref(),
            body: Some(note.body.as_str()),
            edited_at: note.edited_at,
            deleted: false,
            by_email: false,
            email: None,
            attachments: Vec::new(),
        });
    }
    lines.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    lines
}

fn stamp(at: OffsetDateTime) -> Result<String, ApiError> {
    timestamp::format(at).map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))
}

fn text(transcript: &Transcript) -> Result<String, ApiError> {
    let session = &transcript.session;
    let mut out = format!(
        "Session {} — {}\nCustomer: {}\nStatus: {}, priority {}\nOpened {}{}\n\n",
        session.id,
        session.subject,
        session.customer_name.as_deref().unwrap_or(session.customer_id.as_str()),
        session.status.as_str(),
        serde_json::to_value(session.priority)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        stamp(session.created_at)?,
        match session.closed_at {
            Some(closed) => format!(", closed {}", stamp(closed)?),
            None => String::new(),
        },
    );
    for line in lines(transcript) {
        if let Some(email) = line.email {
            out.push_str(&format!("[{}] {}\n", stamp(line.at)?, email_line(email)));
            continue;
        }
        let who = match line.author_name {
            Some(name) => format!("{name} ({}, {})", line.author_id, line.author_role.as_str()),
            None => format!("{} ({})", line.author_id, line.author_role.as_str()),
        };
        let body = match (line.deleted, line.body) {
            (true, _) | (false, None) => "[deleted]".to_owned(),
            (false, Some(body)) => body.replace('\n', "\n    "),
        };
        let marker = match (line.kind, line.edited_at.is_some(), line.by_email) {
            ("note", _, _) => " [private note]",
            (_, true, _) => " [edited]",
            (_, false, true) => " [by e-mail]",
            _ => "",
        };
        let files: String = line.attachments.iter().map(|name| format!(" [attachment: {name}]")).collect();
        out.push_str(&format!("[{}] {who}{marker}: {body}{files}\n", stamp(line.at)?));
    }
    out.push_str(&format!("\nGenerated {}\n", stamp(transcript.generated_at)?));
    Ok(out)
}

/// An e-mail to the customer in words: to whom, how many replies, and what became of it.
fn email_line(email: &super::email::SessionEmail) -> String {
    let count = email.message_ids.len();
    let status = serde_json::to_value(email.status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    let detail = email.detail.as_deref().map(|detail| format!(" ({detail})")).unwrap_or_default();
    format!(
        "[e-mail] {count} {} e-mailed to {}: {status}{detail}",
        if count == 1 { "reply" } else { "replies" },
        email.to
    )
}

fn csv(transcript: &Transcript) -> Result<String, ApiError> {
    let mut out = String::from(
        "kind,id,session_id,at,author_id,author_role,author_name,body,edited_at,deleted,attachments\r\n",
    );
    for line in lines(transcript) {
        let fields = [
            line.kind.to_owned(),
            line.id.clone(),
            transcript.session.id.to_string(),
            stamp(line.at)?,
            line.author_id.to_owned(),
            line.author_role.as_str().to_owned(),
            line.author_name.unwrap_or_default().to_owned(),
            match line.email {
                Some(email) => email_line(email),
                None if line.deleted => String::new(),
                None => line.body.unwrap_or_default().to_owned(),
            },
            line.edited_at.map(stamp).transpose()?.unwrap_or_default(),
            line.deleted.to_string(),
            line.attachments.join("; "),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}
