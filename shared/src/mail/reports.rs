//! What the mail service reports on the e-mails it sent: SES's event publishing (a configuration
//! set's event destination, delivered through SNS) for `Delivery`, `Bounce`, `Complaint` and
//! `Reject`. The e-mail is found by the tags the sweep sends it with ([`SESSION_TAG`],
//! [`REPLY_TAG`]), so no index from SES's message ids is kept.

use std::collections::HashMap;

use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::{MessageId, SessionId};

/// The e-mail's tag naming its session.
pub const SESSION_TAG: &str = "session";
/// The e-mail's tag naming the last reply it carried (with the session, the sent e-mail's key).
pub const REPLY_TAG: &str = "reply";

/// The tags the e-mail of a session's burst that ended at `last` is sent with: its reports carry
/// them back to [`parse_ses`].
pub fn tags(session: &SessionId, last: &MessageId) -> Vec<(String, String)> {
    vec![(SESSION_TAG.to_owned(), session.to_string()), (REPLY_TAG.to_owned(), last.to_string())]
}

/// What became of one e-mail, as the mail service says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    /// The recipient's server took it.
    Delivered,
    /// It came back: for good (`permanent`: no such mailbox or domain) or for now (a full
    /// mailbox, a message too large).
    Bounced {
        /// No later e-mail to the address would be delivered either.
        permanent: bool,
    },
    /// The recipient marked it as spam.
    Complained,
    /// The mail service took it, then would not send it (a virus in it).
    Rejected,
}

/// One report on one e-mail of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailReport {
    /// The session the e-mail was about.
    pub session_id: SessionId,
    /// The last reply it carried.
    pub last_message_id: MessageId,
    /// What became of it.
    pub kind: ReportKind,
    /// The recipients it is about (a bounce or a complaint names them).
    pub recipients: Vec<String>,
    /// What the mail service said (`Permanent/General: 550 5.1.1 user unknown`, `abuse`).
    pub detail: Option<String>,
    /// When it happened.
    pub at: OffsetDateTime,
}

/// Why a notification was not a report on one of our e-mails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAReport {
    /// Not SES's JSON.
    #[error("not an SES event: {0}")]
    Malformed(String),
    /// An event type we do not take (`Send`, `Open`, `DeliveryDelay`…).
    #[error("an SES event of type {0}, which is not taken")]
    Ignored(String),
    /// An e-mail without our tags (not sent by the sweep).
    #[error("an SES event about an e-mail without the session and reply tags")]
    Untagged,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    /// Event publishing's `eventType`; an identity's notifications call it `notificationType`.
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Delivery>,
}

#[derive(Deserialize)]
struct Mail {
    timestamp: Option<String>,
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    diagnostic_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
    complaint_feedback_type: Option<String>,
    timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    timestamp: Option<String>,
    #[serde(default)]
    recipients: Vec<String>,
}

/// The report in one SES event (the `Message` of the SNS notification); `received` stands for a
/// time the event leaves out.
pub fn parse_ses(message: &str, received: OffsetDateTime) -> Result<MailReport, NotAReport> {
    let event: Event = serde_json::from_str(message).map_err(|e| NotAReport::Malformed(e.to_string()))?;
    let tag = |name: &str| event.mail.tags.get(name).and_then(|values| values.first());
    let (Some(session), Some(last)) = (tag(SESSION_TAG), tag(REPLY_TAG)) else {
        return Err(NotAReport::Untagged);
    };
    let (Ok(session_id), Ok(last_message_id)) = (SessionId::parse(session), MessageId::parse(last)) else {
        return Err(NotAReport::Untagged);
    };
    let at_or = |timestamp: Option<&String>| {
        timestamp
            .or(event.mail.timestamp.as_ref())
            .and_then(|text| crate::domain::timestamp::parse(text).ok())
            .unwrap_or(received)
    };
    let addresses = |recipients: &[Recipient]| recipients.iter().map(|r| r.email_address.clone()).collect();
    let (kind, recipients, detail, at) = match (event.event_type.as_str(), &event) {
        ("Delivery", Event { delivery, .. }) => {
            let recipients = delivery.as_ref().map(|d| d.recipients.clone()).unwrap_or_default();
            (
                ReportKind::Delivered,
                recipients,
                None,
                at_or(delivery.as_ref().and_then(|d| d.timestamp.as_ref())),
            )
        }
        ("Bounce", Event { bounce: Some(bounce), .. }) => {
            let mut detail = bounce.bounce_type.clone();
            if let Some(sub) = &bounce.bounce_sub_type {
                detail = format!("{detail}/{sub}");
            }
            if let Some(code) = bounce.bounced_recipients.iter().find_map(|r| r.diagnostic_code.as_ref()) {
                detail = format!("{detail}: {code}");
            }
            let kind = ReportKind::Bounced { permanent: bounce.bounce_type == "Permanent" };
            (kind, addresses(&bounce.bounced_recipients), Some(detail), at_or(bounce.timestamp.as_ref()))
        }
        ("Complaint", Event { complaint: Some(complaint), .. }) => (
            ReportKind::Complained,
            addresses(&complaint.complained_recipients),
            complaint.complaint_feedback_type.clone(),
            at_or(complaint.timestamp.as_ref()),
        ),
        ("Reject", _) => {
            (ReportKind::Rejected, Vec::new(), Some("rejected by the mail service".into()), at_or(None))
        }
        (other, _) => return Err(NotAReport::Ignored(other.to_owned())),
    };
    let recipients = if recipients.is_empty() { event.mail.destination.clone() } else { recipients };
    // A diagnostic from a remote server is its text: kept short, one line.
    let detail = detail.map(|text| text.replace(['\r', '\n'], " ").chars().take(300).collect());
    Ok(MailReport { session_id, last_message_id, kind, recipients, detail, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "01JD000000000000000000000E";
    const REPLY: &str = "01JD000000000000000000000F";

    fn received() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn event(kind: &str, body: &str) -> String {
        format!(
            r#"{{"eventType":"{kind}","mail":{{"timestamp":"2026-12-07T10:00:00.000Z","source":"support@example.com",
            "messageId":"0100018c-ses","destination":["grace@example.org"],
            "tags":{{"ses:configuration-set":["switchboard"],"session":["{SESSION}"],"reply":["{REPLY}"]}}}}{body}}}"#
        )
    }

    #[test]
    fn a_permanent_bounce_names_its_recipient_type_and_diagnostic() {
        let message = event(
            "Bounce",
            r#","bounce":{"bounceType":"Permanent","bounceSubType":"General","timestamp":"2026-12-07T10:00:05.000Z",
            "bouncedRecipients":[{"emailAddress":"grace@example.org","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]}"#,
        );
        let report = parse_ses(&message, received()).expect("a report");
        assert_eq!(report.session_id.to_string(), SESSION);
        assert_eq!(report.last_message_id.to_string(), REPLY);
        assert_eq!(report.kind, ReportKind::Bounced { permanent: true });
        assert_eq!(report.recipients, vec!["grace@example.org".to_owned()]);
        assert_eq!(report.detail.as_deref(), Some("Permanent/General: smtp; 550 5.1.1 user unknown"));
        assert_eq!(
            crate::domain::timestamp::format(report.at).ok().as_deref(),
            Some("2026-12-07T10:00:05.000Z")
        );
    }

    #[test]
    fn the_tags_an_email_is_sent_with_name_it_in_its_reports() {
        let (session, last) = (SessionId::generate(), MessageId::generate());
        let tags: HashMap<String, Vec<String>> =
            tags(&session, &last).into_iter().map(|(name, value)| (name, vec![value])).collect();
        let message = serde_json::json!({"eventType": "Delivery", "mail": {"tags": tags}}).to_string();

        let report = parse_ses(&message, received()).expect("a report");

        assert_eq!((report.session_id, report.last_message_id), (session, last));
        assert_eq!((report.kind, report.at), (ReportKind::Delivered, received()));
    }

    #[test]
    fn a_transient_bounce_is_not_for_good() {
        let message = event(
            "Bounce",
            r#","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"grace@example.org"}]}"#,
        );
        let report = parse_ses(&message, received()).expect("a report");
        assert_eq!(report.kind, ReportKind::Bounced { permanent: false });
        assert_eq!(report.detail.as_deref(), Some("Transient/MailboxFull"));
        assert_eq!(report.at, crate::domain::timestamp::parse("2026-12-07T10:00:00.000Z").expect("a time"));
    }

    #[test]
    fn a_complaint_and_a_delivery_are_read_and_an_identity_notification_too() {
        let complaint = event(
            "Complaint",
            r#","complaint":{"complainedRecipients":[{"emailAddress":"Grace@Example.org"}],"complaintFeedbackType":"abuse"}"#,
        );
        let report = parse_ses(&complaint, received()).expect("a report");
        assert_eq!((report.kind, report.detail.as_deref()), (ReportKind::Complained, Some("abuse")));
        assert_eq!(report.recipients, vec!["Grace@Example.org".to_owned()]);
        let delivery =
            event("Delivery", r#","delivery":{"recipients":["grace@example.org"],"smtpResponse":"250 ok"}"#)
                .replace("eventType", "notificationType");
        let report = parse_ses(&delivery, received()).expect("a report");
        assert_eq!(report.kind, ReportKind::Delivered);
    }

    #[test]
    fn events_we_do_not_take_mail_without_our_tags_and_other_json_are_not_reports() {
        assert_eq!(parse_ses(&event("Open", ""), received()), Err(NotAReport::Ignored("Open".into())));
        let untagged = event("Delivery", "").replace(r#""session":["#, r#""other":["#);
        assert_eq!(parse_ses(&untagged, received()), Err(NotAReport::Untagged));
        let forged = event("Delivery", "").replace(SESSION, "not-a-session");
        assert_eq!(parse_ses(&forged, received()), Err(NotAReport::Untagged));
        assert!(matches!(
            parse_ses("{\"Type\":\"Notification\"}", received()),
            Err(NotAReport::Malformed(_))
        ));
    }
}
