//! The `Mailer` port: e-mail out. The production adapter sends through Amazon SES (v2 API,
//! `SendEmail` with the raw MIME message, so every header we set reaches the recipient); the local
//! gateway's writes each message as an `.eml` file in its data directory; functions that send no
//! mail get one that refuses.

#[cfg(feature = "mail")]
pub mod folder;
#[cfg(feature = "mail")]
pub mod inbound;
pub mod refused;
pub mod reports;
#[cfg(feature = "ses")]
pub mod ses;

use async_trait::async_trait;

/// A name and an address: `Ada Lovelace <ada@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, if any.
    pub name: Option<String>,
    /// The address.
    pub address: String,
}

/// One e-mail, as the sender builds it; [`render`] makes the MIME message of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `From`.
    pub from: Mailbox,
    /// `To`: one recipient.
    pub to: Mailbox,
    /// `Reply-To`, if replies go elsewhere than `from`.
    pub reply_to: Option<String>,
    /// `Subject`.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The `Message-ID`, without angle brackets (`<local>@<domain>`): ours, so a retry of the
    /// same e-mail carries the same id and a reply names it in `In-Reply-To`.
    pub message_id: String,
    /// Further headers, in order (e.g. `List-Unsubscribe`, `List-Unsubscribe-Post`).
    pub headers: Vec<(String, String)>,
    /// The mail service's tags of it, never seen by the recipient: its reports on the e-mail
    /// (delivered, bounced) carry them back ([`reports`]).
    pub tags: Vec<(String, String)>,
}

/// Why an e-mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The provider refused this e-mail (an address or content it will not take): sending it again
    /// changes nothing.
    #[error("the e-mail was refused: {0}")]
    Refused(String),
    /// The provider did not answer, throttled, or failed: the same e-mail may go through later.
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
}

/// Sends e-mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one e-mail; returns the provider's id of it (SES's `MessageId`, the `.eml` file's
    /// name locally).
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}

/// Headers [`render`] writes itself: an extra header of one of these names would make the
/// message ambiguous (two `From`s) or add recipients the provider is not told of (`Bcc`).
#[cfg(feature = "mail")]
const RENDERED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Cc",
    "Bcc",
    "Sender",
    "Reply-To",
    "Subject",
    "Message-ID",
    "Date",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// The RFC 5322 message of `email`: `multipart/alternative` with its text and HTML parts (UTF-8),
/// `From`, `To`, `Reply-To`, `Subject`, `Message-ID`, `Date` (now), then `email.headers` as they
/// are, in order. Refuses addresses and header fields that could smuggle in headers of their own
/// (a CR or an LF) and addresses that are not `local@domain`.
#[cfg(feature = "mail")]
pub fn render(email: &Email) -> Result<Vec<u8>, MailError> {
    use mail_builder::headers::address::Address;
    use mail_builder::headers::date::Date;
    use mail_builder::headers::message_id::MessageId;
    use mail_builder::headers::raw::Raw;
    use mail_builder::MessageBuilder;

    let mailbox = |field: &str, mailbox: &Mailbox| -> Result<Address<'static>, MailError> {
        check_address(field, &mailbox.address)?;
        if let Some(name) = &mailbox.name {
            check_value(field, name)?;
        }
        Ok(Address::new_address(mailbox.name.clone(), mailbox.address.clone()))
    };
    let mut message = MessageBuilder::new().from(mailbox("From", &email.from)?).to(mailbox("To", &email.to)?);
    if let Some(reply_to) = &email.reply_to {
        check_address("Reply-To", reply_to)?;
        message = message.reply_to(Address::new_address(None::<String>, reply_to.clone()));
    }
    check_value("Subject", &email.subject)?;
    check_message_id(&email.message_id)?;
    let mut message = message
        .subject(email.subject.as_str())
        .message_id(MessageId::new(email.message_id.as_str()))
        .date(Date::new(crate::domain::now().unix_timestamp()));
    for (name, value) in &email.headers {
        check_header_name(name)?;
        check_value(name, value)?;
        // Written as given, so nothing would encode other text: it must be a header's ASCII.
        if !value.chars().all(|c| c == '\t' || c == ' ' || c.is_ascii_graphic()) {
            return Err(MailError::Refused(format!("the {name} header is not printable ASCII")));
        }
        message = message.header(name.as_str(), Raw::new(value.as_str()));
    }
    message
        .text_body(crlf(&email.text))
        .html_body(crlf(&email.html))
        .write_to_vec()
        .map_err(|e| MailError::Refused(format!("the message could not be written: {e}")))
}

/// Text with CRLF line breaks, MIME's canonical form of text (a part sent as 7bit or 8bit goes
/// out as it is, and a bare LF in a message is refused by some mail servers).
#[cfg(feature = "mail")]
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A header field's text must stay on its line: a CR or an LF in it would start a header of the
/// caller's choosing (or end the headers early).
#[cfg(feature = "mail")]
fn check_value(field: &str, value: &str) -> Result<(), MailError> {
    if value.contains(['\r', '\n']) {
        return Err(MailError::Refused(format!("the {field} header contains a line break")));
    }
    Ok(())
}

/// One addr-spec, `local@domain`, with nothing that would end it early (`>`, `,`) or break its
/// line.
#[cfg(feature = "mail")]
fn check_address(field: &str, address: &str) -> Result<(), MailError> {
    let refused = |why: &str| Err(MailError::Refused(format!("the {field} address {address:?} {why}")));
    if address.chars().any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',')) {
        return refused("contains a line break, a space, a control character or one of < > ,");
    }
    match address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => refused("is not local@domain"),
    }
}

/// Our Message-ID, written between angle brackets: `local@domain` on one line.
#[cfg(feature = "mail")]
fn check_message_id(id: &str) -> Result<(), MailError> {
    let well_formed =
        id.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && id.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'));
    if !well_formed {
        return Err(MailError::Refused(format!("the Message-ID {id:?} is not local@domain")));
    }
    Ok(())
}

/// An extra header's name: RFC 5322's field name (printable ASCII but `:`), and none of the
/// headers [`render`] writes itself.
#[cfg(feature = "mail")]
fn check_header_name(name: &str) -> Result<(), MailError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(MailError::Refused(format!("{name:?} is not a header name")));
    }
    if RENDERED_HEADERS.iter().any(|rendered| rendered.eq_ignore_ascii_case(name)) {
        return Err(MailError::Refused(format!("the {name} header is written by the renderer")));
    }
    Ok(())
}

#[cfg(all(test, feature = "mail"))]
mod tests {
    use mailparse::{parse_mail, MailHeaderMap};

    use super::*;

    fn email() -> Email {
        Email {
            from: Mailbox { name: Some("Switchboard Support".into()), address: "support@example.com".into() },
            to: Mailbox { name: Some("Ada Lovelace".into()), address: "ada@example.org".into() },
            reply_to: Some("replies+01J9Z3@example.com".into()),
            subject: "Your conversation with Switchboard".into(),
            text: "Hello Ada,\n\nhere is your transcript.\n".into(),
            html: "<p>Hello Ada,</p><p>here is your transcript.</p>".into(),
            message_id: "01J9Z3K4M5N6P7Q8R9S0T1V2W3@example.com".into(),
            headers: vec![
                ("List-Unsubscribe".into(), "<https://example.com/unsubscribe/abc>".into()),
                ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
            ],
            tags: Vec::new(),
        }
    }

    fn refusal(email: &Email) -> String {
        match render(email) {
            Err(MailError::Refused(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_message_has_each_header_once_and_the_extra_headers_verbatim_in_order() {
        let rendered = render(&email()).unwrap();

        let parsed = parse_mail(&rendered).unwrap();
        let headers = parsed.get_headers();
        for name in [
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Message-ID",
            "Date",
            "MIME-Version",
            "Content-Type",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
        ] {
            assert_eq!(headers.get_all_values(name).len(), 1, "{name}");
        }
        assert_eq!(headers.get_first_value("From").unwrap(), "\"Switchboard Support\" <support@example.com>");
        assert_eq!(headers.get_first_value("To").unwrap(), "\"Ada Lovelace\" <ada@example.org>");
        assert_eq!(headers.get_first_value("Reply-To").unwrap(), "<replies+01J9Z3@example.com>");
        assert_eq!(
            headers.get_first_value("Message-ID").unwrap(),
            "<01J9Z3K4M5N6P7Q8R9S0T1V2W3@example.com>"
        );
        let text = String::from_utf8(rendered).unwrap();
        let unsubscribe =
            text.find("\r\nList-Unsubscribe: <https://example.com/unsubscribe/abc>\r\n").unwrap();
        let one_click = text.find("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n").unwrap();
        assert!(unsubscribe < one_click);
        assert!(!text.replace("\r\n", "").contains('\n'), "every line ends in CRLF, the parts' too");
    }

    #[test]
    fn the_message_is_multipart_alternative_with_the_text_and_html_parts_in_utf8() {
        let mut email = email();
        email.text = "Grüße aus Zürich — 你好\n".into();
        email.html = "<p>Grüße aus Zürich — 你好</p>".into();

        let rendered = render(&email).unwrap();

        let parsed = parse_mail(&rendered).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let parts: Vec<(String, String, String)> = parsed
            .subparts
            .iter()
            .map(|part| {
                (
                    part.ctype.mimetype.clone(),
                    part.ctype.charset.to_ascii_lowercase(),
                    part.get_body().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            parts,
            [
                ("text/plain".into(), "utf-8".into(), email.text.replace('\n', "\r\n")),
                ("text/html".into(), "utf-8".into(), email.html),
            ]
        );
    }

    #[test]
    fn non_ascii_subjects_and_display_names_are_encoded_and_read_back() {
        let mut email = email();
        email.subject = "Ihre Unterhaltung mit Zoë — 会话记录 🎧".into();
        email.to.name = Some("José Müller, Jr.".into());

        let rendered = render(&email).unwrap();

        assert!(rendered.is_ascii(), "headers and parts are 7-bit");
        let parsed = parse_mail(&rendered).unwrap();
        let headers = parsed.get_headers();
        assert_eq!(headers.get_first_value("Subject").unwrap(), email.subject);
        let to = mailparse::addrparse_header(headers.get_first_header("To").unwrap()).unwrap();
        let to = to.extract_single_info().unwrap();
        assert_eq!(to.display_name.as_deref(), Some("José Müller, Jr."));
        assert_eq!(to.addr, "ada@example.org");
    }

    #[test]
    fn header_injection_through_an_extra_header_is_refused() {
        for (name, value) in [
            ("List-Unsubscribe", "<https://example.com/u>\r\nBcc: victim@example.net"),
            ("List-Unsubscribe", "<https://example.com/u>\nBcc: victim@example.net"),
            ("X-Campaign\r\nBcc", "victim@example.net"),
            ("X Campaign", "spring"),
            ("X-Campaign:", "spring"),
            ("", "spring"),
            ("bcc", "victim@example.net"),
            ("Content-Type", "text/plain"),
            ("X-Campaign", "Frühling"),
            ("X-Campaign", "spring\u{0}"),
        ] {
            let mut email = email();
            email.headers.push((name.into(), value.into()));

            refusal(&email);
        }
    }

    #[test]
    fn addresses_with_line_breaks_or_without_an_at_are_refused() {
        let cases: [fn(&mut Email); 7] = [
            |e| e.to.address = "ada@example.org\r\nBcc: victim@example.net".into(),
            |e| e.from.address = "support@example.com\n".into(),
            |e| e.to.address = "ada.example.org".into(),
            |e| e.to.address = "@example.org".into(),
            |e| e.reply_to = Some("replies@example.com>, victim@example.net".into()),
            |e| e.to.name = Some("Ada\r\nBcc: victim@example.net".into()),
            |e| e.subject = "Hello\r\nBcc: victim@example.net".into(),
        ];
        for change in cases {
            let mut email = email();
            change(&mut email);

            let reason = refusal(&email);

            assert!(!reason.is_empty());
        }
    }

    #[test]
    fn a_message_id_that_is_not_local_at_domain_is_refused() {
        for id in ["no-at-sign", "<a@b>", "a@b\r\nBcc: victim@example.net", "a b@c"] {
            let mut email = email();
            email.message_id = id.into();

            refusal(&email);
        }
    }
}
