//! The production `Mailer` adapter (aws-sdk-sesv2) against moto's SES: the raw message moto
//! recorded for a send from a verified domain, and the refusal of a sender it never verified.
//! moto's state is shared by every test: each test sends from a domain of its own to a recipient
//! of its own.

use std::collections::BTreeSet;
use std::sync::Arc;

use mailparse::{parse_mail, MailHeaderMap};
use serde_json::Value;
use switchboard_local::iam::{Access, Resource};
use switchboard_shared::mail::ses::SesMailer;
use switchboard_shared::mail::{Email, MailError, Mailbox, Mailer};
use switchboard_tests::moto_endpoint;
use switchboard_tests::recording::{AccessLog, RecordingMailer};
use ulid::Ulid;

/// The function that sends e-mail in AWS.
const SENDING_FUNCTION: &str = "email-sweep";

/// A domain no other test sends from.
fn fresh_domain() -> String {
    format!("{}.example.com", Ulid::new().to_string().to_ascii_lowercase())
}

/// A domain identity of its own in moto, made through the adapter's client (moto refuses to send
/// from an identity it does not hold).
async fn verified_domain(mailer: &SesMailer) -> String {
    let domain = fresh_domain();
    mailer
        .client()
        .expect("the SES client")
        .create_email_identity()
        .email_identity(&domain)
        .send()
        .await
        .expect("CreateEmailIdentity");
    domain
}

/// A reply notification from `support@<domain>` to a recipient no other test writes to.
fn email(domain: &str) -> Email {
    let id = Ulid::new();
    Email {
        from: Mailbox { name: Some("Switchboard Support".into()), address: format!("support@{domain}") },
        to: Mailbox { name: Some("Zoë Ōtomo".into()), address: format!("visitor-{id}@example.org") },
        reply_to: Some(format!("replies+{id}@{domain}")),
        subject: "Neue Antwort in Ihrer Unterhaltung".into(),
        text: "Sie haben eine neue Antwort.\n\nAbmelden: https://example.com/u\n".into(),
        html: "<p>Sie haben eine neue Antwort.</p><p><a href=\"https://example.com/u\">Abmelden</a></p>"
            .into(),
        message_id: format!("{id}@{domain}"),
        headers: vec![
            ("List-Unsubscribe".into(), format!("<https://api.example.com/api/v1/email/unsubscribe?u={id}>")),
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into()),
        ],
        tags: vec![("session".into(), id.to_string()), ("reply".into(), Ulid::new().to_string())],
    }
}

/// The raw messages moto recorded to `address`: `ses.RawMessage` of its `/moto-api/data.json` is
/// a list of sends (`id`, `source`, `destinations`, `raw_data`).
async fn raw_messages_to(address: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto_endpoint()))
        .await
        .expect("GET /moto-api/data.json")
        .json()
        .await
        .expect("moto's data as JSON");
    let sent = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
    sent.into_iter()
        .filter(|message| {
            message["destinations"]
                .as_array()
                .is_some_and(|to| to.iter().any(|d| d.as_str().is_some_and(|d| d.contains(address))))
        })
        .collect()
}

#[tokio::test]
async fn an_e_mail_sent_through_ses_arrives_with_its_unsubscribe_headers_reply_to_and_both_parts() {
    let ses = SesMailer::for_endpoint(&moto_endpoint());
    let domain = verified_domain(&ses).await;
    // Sent with a configuration set and tags, as the sweep sends (its reports name them).
    let configuration_set = format!("reports-{}", Ulid::new().to_string().to_ascii_lowercase());
    let client = ses.client().expect("the SES client");
    client.create_configuration_set().configuration_set_name(&configuration_set).send().await.expect("a set");
    let ses = ses.with_configuration_set(&configuration_set);
    let log = Arc::new(AccessLog::default());
    let mailer = RecordingMailer::new(Arc::new(ses), SENDING_FUNCTION, &log);
    let email = email(&domain);

    let id = mailer.send(&email).await.expect("SendEmail");

    let sent = raw_messages_to(&email.to.address).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["id"], id.as_str());
    assert_eq!(sent[0]["source"], email.from.address.as_str());
    let raw = sent[0]["raw_data"].as_str().expect("the raw message");
    let parsed = parse_mail(raw.as_bytes()).expect("a parseable message");
    let headers = parsed.get_headers();
    let header = |name: &str| headers.get_all_values(name);
    assert_eq!(header("List-Unsubscribe"), [email.headers[0].1.as_str()]);
    assert_eq!(header("List-Unsubscribe-Post"), ["List-Unsubscribe=One-Click"]);
    assert_eq!(header("Reply-To"), [format!("<{}>", email.reply_to.as_deref().unwrap_or_default())]);
    assert_eq!(header("Message-ID"), [format!("<{}>", email.message_id)]);
    assert_eq!(header("Subject"), [email.subject.as_str()]);
    let to = mailparse::addrparse_header(headers.get_first_header("To").expect("To"))
        .expect("a To address")
        .extract_single_info()
        .expect("one To address");
    assert_eq!(
        (to.display_name.as_deref(), to.addr.as_str()),
        (Some("Zoë Ōtomo"), email.to.address.as_str())
    );
    let parts: Vec<(&str, String)> = parsed
        .subparts
        .iter()
        .map(|part| (part.ctype.mimetype.as_str(), part.get_body().expect("a part's text")))
        .collect();
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(parts, [("text/plain", email.text.replace('\n', "\r\n")), ("text/html", email.html.clone())]);
    let recorded = BTreeSet::from([
        Access::new(SENDING_FUNCTION, "ses:SendEmail", Resource::EmailIdentity),
        Access::new(SENDING_FUNCTION, "ses:SendEmail", Resource::EmailConfigurationSet),
    ]);
    assert_eq!(log.accesses(), recorded);
}

#[tokio::test]
async fn a_sender_whose_identity_is_not_verified_is_refused() {
    let mailer = SesMailer::for_endpoint(&moto_endpoint());
    let email = email(&fresh_domain());

    let result = mailer.send(&email).await;

    assert!(matches!(result, Err(MailError::Refused(_))), "{result:?}");
    assert_eq!(raw_messages_to(&email.to.address).await, Vec::<Value>::new());
}
