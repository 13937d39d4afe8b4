//! Replies by e-mail: a visitor who gave an address and went away gets the replies they have not
//! read in one e-mail after the site's delay — through SES on moto (DynamoDB backend) or as `.eml`
//! files (SQLite backend, as the local gateway writes them) — and none when they read them or are
//! connected; the e-mail's unsubscribe link switches e-mail off without signing in. The sweep runs
//! at times the test chooses (`ops::email::sweep(app, now)`), no sleeping.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::attachments::AttachmentStatus;
use switchboard_shared::domain::{now, Role};
use switchboard_shared::mail::folder::FolderMailer;
use switchboard_shared::mail::inbound;
use switchboard_shared::mail::ses::SesMailer;
use switchboard_shared::mail::Mailer;
use switchboard_shared::ops::attachments::{check_upload, Scanner};
use switchboard_shared::ops::email::{self, Mailing, Received, SweepReport, Verdict, Verdicts};
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::{
    arranged, gmail_reply, moto_endpoint, on_both_backends, on_duty, photo_reply, send, Backend, Caller,
    TestApi,
};
use time::{Duration, OffsetDateTime};

on_both_backends!(
    replies_left_unread_while_away_are_emailed_once_in_one_email_after_the_delay,
    no_email_goes_out_when_the_replies_are_read_or_while_the_visitor_is_connected,
    the_unsubscribe_link_switches_email_off_without_signing_in,
    a_site_sets_how_long_a_reply_waits_before_it_is_emailed,
    a_reply_by_email_lands_once_as_the_visitors_message_and_reopens_the_session,
    forged_misaddressed_and_failed_inbound_emails_are_refused_and_post_nothing,
    a_photo_sent_with_a_reply_by_email_comes_with_the_message_and_a_page_is_left_out,
    a_bounce_stops_further_email_to_the_address_until_the_visitor_gives_another,
    the_console_shows_what_became_of_each_email_and_a_complaint_stops_email,
    a_signed_in_user_is_emailed_at_the_address_their_identity_token_carries,
    a_visitor_who_signs_in_keeps_the_address_of_their_prechat_form,
    the_local_inbox_takes_in_replies_and_reports_once_and_files_what_it_cannot_read,
);

/// The page the widget runs on.
const SHOP: &str = "https://shop.example";

/// Where the sweep's e-mails go, and how the test reads them back.
enum Outbox {
    Folder(tempfile::TempDir),
    Moto,
}

impl Outbox {
    async fn open(backend: Backend) -> (Self, Arc<dyn Mailer>) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::TempDir::new().expect("a temporary directory");
                let mailer = Arc::new(FolderMailer::new(dir.path().join("mail")));
                (Self::Folder(dir), mailer)
            }
            Backend::DynamoDb => {
                let ses = SesMailer::for_endpoint(&moto_endpoint());
                let client = ses.client().expect("an SES client");
                // moto refuses senders it has not verified.
                let created = client.create_email_identity().email_identity("shop.example").send().await;
                if let Err(error) = created {
                    let exists = error.as_service_error().is_some_and(|e| e.is_already_exists_exception());
                    assert!(exists, "verify the sender's domain: {error}");
                }
                (Self::Moto, Arc::new(ses))
            }
        }
    }

    /// The raw e-mails sent to `address`.
    async fn sent_to(&self, address: &str) -> Vec<String> {
        match self {
            Self::Folder(dir) => match std::fs::read_dir(dir.path().join("mail")) {
                Ok(entries) => entries
                    .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
                    .filter(|raw| raw.contains(address))
                    .collect(),
                Err(_) => Vec::new(),
            },
            Self::Moto => {
                let url = format!("{}/moto-api/data.json", moto_endpoint());
                let data: Value = reqwest::get(url)
                    .await
                    .expect("moto's state")
                    .json()
                    .await
                    .expect("moto's state as JSON");
                data["ses"]["RawMessage"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|message| {
                        message["destinations"].as_array().is_some_and(|to| to.iter().any(|to| to == address))
                    })
                    .filter_map(|message| message["raw_data"].as_str().map(str::to_owned))
                    .collect()
            }
        }
    }
}

/// A site's visitor who gave `address`, in a session agent X took and answered twice.
struct Visit {
    api: TestApi,
    app: App,
    outbox: Outbox,
    address: String,
    token: String,
    resume: String,
    site: Value,
    identity_secret: String,
    session: String,
    replies: Vec<String>,
    replied_at: OffsetDateTime,
}

/// A request as the widget on [`SHOP`] sends it.
async fn from_shop(
    api: &TestApi,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let reply = api.call_from(SHOP, method, path, token, body).await;
    assert!((200..300).contains(&reply.status), "{path}: {reply:?}");
    reply.body
}

async fn visit(backend: Backend) -> Visit {
    visit_of(backend, json!({"name": "Shop", "allowed_origins": [SHOP]}), Arrival::PrechatForm).await
}

/// How the customer gave their address.
#[derive(Clone, Copy)]
enum Arrival {
    /// A visitor, in the widget's pre-chat form.
    PrechatForm,
    /// A user signed in on the shop, whose identity token (signed by the shop's backend) carries it.
    IdentityToken,
}

/// An identity token the shop's backend signs with its site's `secret`: `claims` and an `exp`
/// five minutes away.
fn identity_token(secret: &str, mut claims: Value) -> String {
    claims["exp"] = json!(now().unix_timestamp() + 300);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("sign")
}

/// [`visit`] on a site made of `site`, the customer arriving as `arrival` says.
async fn visit_of(backend: Backend, site: Value, arrival: Arrival) -> Visit {
    let api = TestApi::start(backend).await;
    let (outbox, mailer) = Outbox::open(backend).await;
    let address = format!("grace+{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    let admin = api.token("admin-eve", Role::Admin);
    let created = api.call(Method::POST, "/admin/sites", Some(&admin), Some(site)).await;
    let created = arranged(created, 201, "an admin adds the shop's site").body;
    let site = created["site_id"].clone();
    let identity_secret = created["identity_secret"].as_str().expect("the site's identity secret").to_owned();
    let (path, body) = match arrival {
        Arrival::PrechatForm => {
            ("/widget/visitors", json!({"site_id": site, "name": "Grace", "email": address}))
        }
        Arrival::IdentityToken => {
            let signed =
                identity_token(&identity_secret, json!({"sub": "u-42", "name": "Grace", "email": address}));
            ("/widget/identify", json!({"site_id": site, "identity_token": signed}))
        }
    };
    let visitor = from_shop(&api, Method::POST, path, None, Some(body)).await;
    let token = visitor["token"].as_str().expect("a customer token").to_owned();
    let resume = visitor["resume"].as_str().unwrap_or_default().to_owned();
    let opened = from_shop(
        &api,
        Method::POST,
        "/chat/sessions",
        Some(&token),
        Some(json!({"subject": "Ship to Spain?"})),
    )
    .await;
    let session = opened["id"].as_str().expect("a session id").to_owned();
    on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await, 200, "agent X takes it");
    let replied_at = now();
    let replies = vec![
        send(&api, Caller::AgentX, &session, "Yes we ship to Spain").await,
        send(&api, Caller::AgentX, &session, "It takes 3 to 5 days").await,
    ];
    api.settle().await;
    let store: Arc<dyn ItemStore> = api.store.clone();
    let mailing = Mailing {
        mailer,
        from_address: "support@shop.example".into(),
        api_base_url: api.base.clone(),
        inbound_domain: Some("in.shop.example".into()),
    };
    // Files of replies by e-mail go where the gateway keeps attachments.
    let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint(&api.root)))
        .with_mailing(Arc::new(mailing))
        .with_attachment_objects(api.attachment_objects.clone());
    Visit { api, app, outbox, address, token, resume, site, identity_secret, session, replies, replied_at }
}

impl Visit {
    async fn sweep(&self, after: Duration) -> SweepReport {
        email::sweep(&self.app, self.replied_at + after).await.expect("the sweep runs")
    }

    async fn sent(&self) -> Vec<String> {
        self.outbox.sent_to(&self.address).await
    }

    /// The session's plain-text transcript, as agent X downloads it.
    async fn text_transcript(&self) -> String {
        let transcript = format!("/admin/chat-dashboard/sessions/{}/transcript?format=text", self.session);
        self.api
            .client
            .get(format!("{}{transcript}", self.api.base))
            .bearer_auth(Caller::AgentX.token(&self.api))
            .send()
            .await
            .expect("the gateway answers")
            .text()
            .await
            .expect("the transcript")
    }
}

/// The e-mail's unsubscribe link, from its `List-Unsubscribe` header.
fn unsubscribe_link(raw: &str) -> String {
    let at = raw.find("List-Unsubscribe: ").expect("a List-Unsubscribe header");
    let rest = &raw[at..];
    let start = rest.find('<').expect("the header's link") + 1;
    let end = rest.find('>').expect("the header's link ends");
    rest[start..end].to_owned()
}

async fn replies_left_unread_while_away_are_emailed_once_in_one_email_after_the_delay(backend: Backend) {
    // Arrange: Grace left her address and went away; agent X answered twice.
    let visit = visit(backend).await;

    // Act: sweeps a minute before the 5 minutes are over, then after, then again.
    let early = visit.sweep(Duration::minutes(4)).await;
    let sent_early = visit.sent().await;
    let due = visit.sweep(Duration::minutes(6)).await;
    let again = visit.sweep(Duration::minutes(7)).await;

    // Assert: nothing before the delay, then one e-mail with both replies, then nothing more.
    assert_eq!((early.due, early.sent), (0, 0), "{early:?}");
    assert!(sent_early.is_empty(), "an e-mail before the delay");
    assert_eq!((due.due, due.sent), (1, 1), "{due:?}");
    assert_eq!(again.due, 0, "{again:?}");
    let sent = visit.sent().await;
    assert_eq!(sent.len(), 1, "one e-mail for the burst");
    let raw = &sent[0];
    for expected in [
        "Yes we ship to Spain",
        "It takes 3 to 5 days",
        "text/plain",
        "text/html",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "support@shop.example",
        "Answer in the chat on https://shop.example",
    ] {
        assert!(raw.contains(expected), "the e-mail lacks {expected:?}:\n{raw}");
    }
    assert!(unsubscribe_link(raw).starts_with(&format!("{}/email/unsubscribe?user=", visit.api.base)));
    assert_eq!(visit.replies.len(), 2);
}

async fn no_email_goes_out_when_the_replies_are_read_or_while_the_visitor_is_connected(backend: Backend) {
    // Arrange
    let visit = visit(backend).await;

    // Act: Grace comes back with the chat open (connected) when the e-mail is due.
    let socket = visit.api.connect(&visit.token).await;
    let while_connected = visit.sweep(Duration::minutes(6)).await;
    drop(socket);
    // She reads the replies (the widget marks them read), and leaves.
    let last = visit.replies.last().expect("a reply");
    let read = format!("/chat/sessions/{}/read", visit.session);
    from_shop(&visit.api, Method::POST, &read, Some(&visit.token), Some(json!({"message_id": last}))).await;
    visit.api.settle().await;
    let after_reading = visit.sweep(Duration::minutes(12)).await;

    // Assert: put off while connected, dropped once read, no e-mail at all.
    assert_eq!((while_connected.postponed, while_connected.sent), (1, 0), "{while_connected:?}");
    assert_eq!((after_reading.read, after_reading.sent), (1, 0), "{after_reading:?}");
    assert!(visit.sent().await.is_empty(), "an e-mail went out");
}

async fn the_unsubscribe_link_switches_email_off_without_signing_in(backend: Backend) {
    // Arrange: the burst's e-mail, and its link.
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let link = unsubscribe_link(&visit.sent().await[0]);
    let client = reqwest::Client::new();

    // Act: a forged link, the page, the one-click POST (no token anywhere).
    let forged = client.post(link.replace("sig=", "sig=AA")).body("List-Unsubscribe=One-Click").send().await;
    let forged = forged.expect("the gateway answers");
    let forged_status = forged.status().as_u16();
    let forged_body: Value = forged.json().await.expect("a JSON error");
    let page = client.get(&link).send().await.expect("the gateway answers");
    let page_status = page.status().as_u16();
    let page_text = page.text().await.expect("the page");
    let one_click = client
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("the gateway answers");
    let one_click_status = one_click.status().as_u16();
    // Agent X answers again; the next burst is due.
    let later = send(&visit.api, Caller::AgentX, &visit.session, "Anything else?").await;
    visit.api.settle().await;
    let next = visit.sweep(Duration::minutes(20)).await;

    // Assert
    assert_eq!((forged_status, forged_body["error"]["code"].as_str()), (403, Some("invalid_link")));
    assert_eq!(page_status, 200);
    assert!(page_text.contains("<form method=\"post\""), "{page_text}");
    assert_eq!(one_click_status, 200);
    let prefs =
        from_shop(&visit.api, Method::GET, "/notifications/preferences", Some(&visit.token), None).await;
    assert_eq!(prefs["email"], false, "{prefs}");
    assert_eq!((next.skipped, next.sent), (1, 0), "{next:?} (reply {later})");
    assert_eq!(visit.sent().await.len(), 1, "no e-mail after unsubscribing");
}

async fn a_site_sets_how_long_a_reply_waits_before_it_is_emailed(backend: Backend) {
    // Arrange: a site that waits 15 minutes.
    let site = json!({"name": "Shop", "allowed_origins": [SHOP], "email_delay_minutes": 15});
    let visit = visit_of(backend, site, Arrival::PrechatForm).await;

    // Act
    let after_six = visit.sweep(Duration::minutes(6)).await;
    let after_sixteen = visit.sweep(Duration::minutes(16)).await;

    // Assert
    assert_eq!(after_six.due, 0, "{after_six:?}");
    assert_eq!(after_sixteen.sent, 1, "{after_sixteen:?}");
    assert_eq!(visit.sent().await.len(), 1);
}

/// The e-mail's reply address, from its `Reply-To` header.
fn reply_address(raw: &str) -> String {
    let at = raw.find("Reply-To:").expect("a Reply-To header");
    let rest = &raw[at..];
    let start = rest.find("reply+").expect("a reply address");
    let end = rest[start..].find(|c: char| c == '>' || c.is_whitespace()).expect("the address ends") + start;
    rest[start..end].to_owned()
}

async fn a_reply_by_email_lands_once_as_the_visitors_message_and_reopens_the_session(backend: Backend) {
    // Arrange: the e-mail went out; agent X watches the session; then he closes it.
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let sent = visit.sent().await;
    let to = reply_address(&sent[0]);
    let mut agent = visit.api.connect(&Caller::AgentX.token(&visit.api)).await;
    agent.subscribe(&visit.session).await;
    let close = format!("/chat/sessions/{}/close", visit.session);
    arranged(Caller::AgentX.call(&visit.api, Method::POST, &close, None).await, 200, "agent X closes it");
    visit.api.settle().await;
    let mail = inbound::parse(&gmail_reply(&visit.address, &to, "CAF=reply-1@mail.gmail.com"))
        .expect("a readable e-mail");

    // Act: the reply comes in, then the same e-mail again.
    let first = email::receive(&visit.app, &mail, Verdicts::default(), now()).await.expect("taken in");
    let again = email::receive(&visit.app, &mail, Verdicts::default(), now()).await.expect("taken in");

    // Assert: posted once, without the quote, as Grace's e-mail message, in the reopened session.
    let Received::Posted { session_id, reopened, new_session, .. } = &first else {
        panic!("not posted: {first:?}")
    };
    assert_eq!(session_id.to_string(), visit.session);
    assert!(*reopened && !*new_session, "{first:?}");
    assert!(matches!(again, Received::Duplicate { .. }), "{again:?}");
    let frame = agent.expect("message.created").await;
    assert_eq!(frame["message"]["body"], "Great, then please send it to Madrid.", "{frame}");
    assert_eq!(frame["message"]["channel"], "email");
    let messages = Caller::AgentX
        .call(&visit.api, Method::GET, &format!("/chat/messages/{}?limit=50", visit.session), None)
        .await;
    let by_email: Vec<&Value> =
        messages.body["items"].as_array().into_iter().flatten().filter(|m| m["channel"] == "email").collect();
    assert_eq!(by_email.len(), 1, "{}", messages.body);
    let session = Caller::AgentX
        .call(&visit.api, Method::GET, &format!("/chat/sessions/{}", visit.session), None)
        .await;
    assert_ne!(session.body["status"], "closed", "{}", session.body);
    let text = visit.text_transcript().await;
    assert!(text.contains("[by e-mail]: Great, then please send it to Madrid."), "{text}");
}

async fn forged_misaddressed_and_failed_inbound_emails_are_refused_and_post_nothing(backend: Backend) {
    // Arrange
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let to = reply_address(&visit.sent().await[0]);
    let (local, domain) = to.rsplit_once('@').expect("an address");
    // The same address with the signature's last digit changed.
    let flipped = if local.ends_with('0') { '1' } else { '0' };
    let forged_signature = format!("{}{flipped}@{domain}", &local[..local.len() - 1]);
    let cases = [
        (gmail_reply(&visit.address, &forged_signature, "f-1@x"), Verdicts::default(), "not_a_reply_address"),
        (gmail_reply("mallory@example.net", &to, "f-2@x"), Verdicts::default(), "wrong_sender"),
        (
            gmail_reply(&visit.address, &to, "f-3@x"),
            Verdicts { spam: Verdict::Fail, ..Verdicts::default() },
            "spam",
        ),
        (
            gmail_reply(&visit.address, &to, "f-4@x"),
            Verdicts { spf: Verdict::Fail, dkim: Verdict::Fail, ..Verdicts::default() },
            "sender_not_authenticated",
        ),
    ];

    // Act
    let mut outcomes = Vec::new();
    for (raw, verdicts, _) in &cases {
        let mail = inbound::parse(raw).expect("a readable e-mail");
        outcomes.push(email::receive(&visit.app, &mail, *verdicts, now()).await.expect("judged"));
    }

    // Assert: each refused for its reason, and the session holds only agent X's two replies.
    for ((_, _, reason), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(outcome, &Received::Refused { reason }, "{reason}");
    }
    let messages = Caller::AgentX
        .call(&visit.api, Method::GET, &format!("/chat/messages/{}?limit=50", visit.session), None)
        .await;
    assert_eq!(messages.body["items"].as_array().map(Vec::len), Some(2), "{}", messages.body);
}

/// SES's event JSON reporting on the e-mail that carried `last` (event publishing's, as the
/// configuration set's destination publishes it), `kind` with its own object.
fn ses_event(visit: &Visit, last: &str, kind: &str, detail: Value) -> String {
    let mut event = json!({
        "eventType": kind,
        "mail": {
            "timestamp": "2026-12-07T10:06:00.000Z",
            "source": "support@shop.example",
            "messageId": "0100018c-0000-0000-0000-000000000000-000000",
            "destination": [visit.address],
            "tags": {"ses:configuration-set": ["switchboard"], "session": [visit.session], "reply": [last]}
        }
    });
    event[kind.to_lowercase()] = detail;
    event.to_string()
}

/// [`ses_event`] as SNS delivers it to `email-events`.
fn ses_report(visit: &Visit, last: &str, kind: &str, detail: Value) -> Value {
    let message = ses_event(visit, last, kind, detail);
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": message}}]})
}

/// Delivers SES's report to the `email-events` function.
async fn report(visit: &Visit, event: Value) -> Value {
    (switchboard_email::EMAIL_EVENTS.handler)(&visit.app, event).await.expect("the reports are recorded")
}

/// The console's view of the session's e-mails, as agent X.
async fn console_emails(visit: &Visit) -> Value {
    let path = format!("/chat/sessions/{}/emails", visit.session);
    arranged(
        Caller::AgentX.call(&visit.api, Method::GET, &path, None).await,
        200,
        "agent X lists the e-mails",
    )
    .body
}

async fn a_bounce_stops_further_email_to_the_address_until_the_visitor_gives_another(backend: Backend) {
    // Arrange: the burst's e-mail went out.
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let last = visit.replies.last().expect("a reply").clone();
    let bounce = json!({
        "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-12-07T10:06:05.000Z",
        "bouncedRecipients": [{"emailAddress": visit.address, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]
    });

    // Act: SES reports that it bounced; agent X answers again and the next burst is due.
    let recorded = report(&visit, ses_report(&visit, &last, "Bounce", bounce)).await;
    let console = console_emails(&visit).await;
    send(&visit.api, Caller::AgentX, &visit.session, "Are you still there?").await;
    visit.api.settle().await;
    let after_bounce = visit.sweep(Duration::minutes(20)).await;
    // Grace comes back and gives another address; agent X answers once more.
    let other = format!("grace.new+{}@example.com", ulid::Ulid::new().to_string().to_lowercase());
    let again = json!({"site_id": visit.site, "resume": visit.resume, "email": other});
    from_shop(&visit.api, Method::POST, "/widget/visitors", None, Some(again)).await;
    send(&visit.api, Caller::AgentX, &visit.session, "Here is your tracking number").await;
    visit.api.settle().await;
    let after_change = visit.sweep(Duration::minutes(40)).await;

    // Assert: the console shows the bounce and the address as undeliverable; nothing more went
    // to it, and the new address gets the next e-mail.
    assert_eq!(recorded["recorded"], 1, "{recorded}");
    assert_eq!(console["items"][0]["status"], "bounced", "{console}");
    let detail = console["items"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("550 5.1.1 user unknown"), "{console}");
    assert_eq!(console["undeliverable"]["reason"], "bounced", "{console}");
    assert_eq!((after_bounce.undeliverable, after_bounce.sent), (1, 0), "{after_bounce:?}");
    assert_eq!(visit.sent().await.len(), 1, "no second e-mail to the bounced address");
    assert_eq!(after_change.sent, 1, "{after_change:?}");
    let to_other = visit.outbox.sent_to(&other).await;
    assert_eq!(to_other.len(), 1, "the new address gets the next e-mail");
    assert!(to_other[0].contains("Here is your tracking number"), "{}", to_other[0]);
    let console = console_emails(&visit).await;
    assert_eq!(
        (console["address"].as_str(), &console["undeliverable"]),
        (Some(other.as_str()), &Value::Null)
    );
    let text = visit.text_transcript().await;
    let bounced = format!("2 replies e-mailed to {}: bounced (Permanent/General: smtp; 550", visit.address);
    assert!(text.contains(&bounced), "{text}");
    assert!(text.contains(&format!("1 reply e-mailed to {other}: sent")), "{text}");
}

async fn the_console_shows_what_became_of_each_email_and_a_complaint_stops_email(backend: Backend) {
    // Arrange
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let last = visit.replies.last().expect("a reply").clone();
    let sent = console_emails(&visit).await;

    // Act: SES reports the delivery, then a complaint, then the delivery again (SNS may repeat and
    // reorder); a report on a burst there was no e-mail for; the customer asks for the list.
    let delivery = json!({"timestamp": "2026-12-07T10:06:02.000Z", "recipients": [visit.address]});
    report(&visit, ses_report(&visit, &last, "Delivery", delivery.clone())).await;
    let delivered = console_emails(&visit).await;
    let complaint =
        json!({"complainedRecipients": [{"emailAddress": visit.address}], "complaintFeedbackType": "abuse"});
    report(&visit, ses_report(&visit, &last, "Complaint", complaint)).await;
    report(&visit, ses_report(&visit, &last, "Delivery", delivery)).await;
    let complained = console_emails(&visit).await;
    let unknown = ses_event(&visit, &visit.replies[0], "Delivery", json!({}));
    let unknown = switchboard_shared::mail::reports::parse_ses(&unknown, now()).expect("a report");
    let unknown = email::record_report(&visit.app, &unknown).await.expect("judged");
    let path = format!("/chat/sessions/{}/emails", visit.session);
    let as_customer = visit.api.call_from(SHOP, Method::GET, &path, Some(&visit.token), None).await;
    send(&visit.api, Caller::AgentX, &visit.session, "Sorry to bother you").await;
    visit.api.settle().await;
    let next = visit.sweep(Duration::minutes(20)).await;

    // Assert: sent, then delivered, then complained (a late delivery does not undo it); the
    // complaint stops e-mail; the customer may not list them.
    assert_eq!(sent["items"][0]["status"], "sent", "{sent}");
    assert_eq!(sent["items"][0]["to"], visit.address.as_str(), "{sent}");
    assert_eq!(sent["items"][0]["message_ids"], json!(visit.replies), "{sent}");
    assert_eq!(delivered["items"][0]["status"], "delivered", "{delivered}");
    assert_eq!(complained["items"][0]["status"], "complained", "{complained}");
    assert_eq!(complained["undeliverable"]["reason"], "complained", "{complained}");
    assert_eq!(unknown, email::Reported::UnknownEmail);
    assert_eq!((as_customer.status, as_customer.body["error"]["code"].as_str()), (403, Some("forbidden")));
    assert_eq!((next.undeliverable, next.sent), (1, 0), "{next:?}");
    assert_eq!(visit.sent().await.len(), 1);
}

async fn a_signed_in_user_is_emailed_at_the_address_their_identity_token_carries(backend: Backend) {
    // Arrange: Grace signed in on the shop; its backend's identity token carries her address.
    let site = json!({"name": "Shop", "allowed_origins": [SHOP]});
    let visit = visit_of(backend, site, Arrival::IdentityToken).await;

    // Act
    let due = visit.sweep(Duration::minutes(6)).await;

    // Assert: one e-mail with both replies, to that address, shown in the console.
    assert_eq!((due.due, due.sent), (1, 1), "{due:?}");
    let sent = visit.sent().await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("Yes we ship to Spain") && sent[0].contains("It takes 3 to 5 days"),
        "{}",
        sent[0]
    );
    let console = console_emails(&visit).await;
    assert_eq!(console["address"].as_str(), Some(visit.address.as_str()), "{console}");
    assert_eq!(console["items"][0]["status"], "sent", "{console}");
}

async fn the_local_inbox_takes_in_replies_and_reports_once_and_files_what_it_cannot_read(backend: Backend) {
    // Arrange: the e-mail went out; Grace's reply, SES's delivery report, a file that is neither,
    // and a reply still being written (a name beginning with a dot) are in the inbox.
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let to = reply_address(&visit.sent().await[0]);
    let last = visit.replies.last().expect("a reply").clone();
    let folder = tempfile::TempDir::new().expect("a temporary directory");
    let inbox = switchboard_local::mailbox::inbox(folder.path());
    std::fs::create_dir_all(&inbox).expect("the inbox");
    std::fs::write(inbox.join("reply.eml"), gmail_reply(&visit.address, &to, "inbox-1@mail.gmail.com"))
        .expect("write");
    std::fs::write(inbox.join("photo.eml"), photo_reply(&visit.address, &to, "inbox-2@mail.gmail.com"))
        .expect("write");
    let delivery = ses_event(&visit, &last, "Delivery", json!({"recipients": [visit.address]}));
    std::fs::write(inbox.join("delivered.json"), delivery).expect("write");
    std::fs::write(inbox.join("notes.json"), "{\"not\": \"a report\"}").expect("write");
    std::fs::write(inbox.join(".half-written.eml"), b"From: someone").expect("write");

    // Act: two passes, as the gateway makes every second.
    let first = switchboard_local::mailbox::take_in(&visit.app, &inbox).await.expect("the first pass");
    let second = switchboard_local::mailbox::take_in(&visit.app, &inbox).await.expect("the second pass");

    // Assert: the reply is posted and the report recorded, once; the other file is filed with
    // its reason; the file being written is left alone.
    let outcome =
        |name: &str| first.iter().find(|taken| taken.name == name).map(|taken| taken.outcome.clone());
    assert_eq!(first.len(), 4, "{first:?}");
    assert_eq!(
        outcome("reply.eml").and_then(Result::ok).map(|o| o["outcome"].clone()),
        Some(json!("posted"))
    );
    // The photo came with its reply and was checked as it came in: the agent opens it.
    let photo = outcome("photo.eml").and_then(Result::ok).expect("the photo's reply posted");
    let message_id = photo["message_id"].as_str().unwrap_or_default();
    let listed = Caller::AgentX
        .call(&visit.api, Method::GET, &format!("/chat/messages/{}?limit=50", visit.session), None)
        .await;
    let with_photo = listed.body["items"].as_array().into_iter().flatten().find(|m| m["id"] == message_id);
    let photo_id = with_photo.and_then(|m| m["attachments"][0]["id"].as_str()).unwrap_or_default();
    let path = format!("/chat/sessions/{}/attachments/{photo_id}", visit.session);
    let link = Caller::AgentX.call(&visit.api, Method::GET, &path, None).await;
    assert_eq!(link.status, 200, "{:?}", link.body);
    let file = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");
    assert_eq!(file.bytes().await.expect("the photo").as_ref(), BOX_PNG);
    let recorded = outcome("delivered.json").and_then(Result::ok).expect("the report recorded");
    assert_eq!((&recorded["outcome"], &recorded["status"]), (&json!("recorded"), &json!("delivered")));
    assert!(outcome("notes.json").is_some_and(|outcome| outcome.is_err()), "{first:?}");
    assert!(second.is_empty(), "{second:?}");
    assert!(inbox.join("done/reply.eml.outcome.json").is_file());
    assert!(inbox.join("failed/notes.json.outcome.json").is_file());
    assert!(inbox.join(".half-written.eml").is_file());
    assert_eq!(console_emails(&visit).await["items"][0]["status"], "delivered");
    let messages = Caller::AgentX
        .call(&visit.api, Method::GET, &format!("/chat/messages/{}?limit=50", visit.session), None)
        .await;
    let bodies: Vec<&str> =
        messages.body["items"].as_array().into_iter().flatten().filter_map(|m| m["body"].as_str()).collect();
    assert!(bodies.contains(&"Great, then please send it to Madrid."), "{bodies:?}");
}

/// The 1×1 PNG the fixture carries.
const BOX_PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\x0aIDATx\x9cc\0\x01\0\0\x05\0\x01\x0d\x0a\x2d\xb4\0\0\0\0IEND\xaeB\x60\x82";

async fn a_photo_sent_with_a_reply_by_email_comes_with_the_message_and_a_page_is_left_out(backend: Backend) {
    // Arrange: the e-mail went out; agent X watches the session.
    let visit = visit(backend).await;
    visit.sweep(Duration::minutes(6)).await;
    let to = reply_address(&visit.sent().await[0]);
    let mut agent = visit.api.connect(&Caller::AgentX.token(&visit.api)).await;
    agent.subscribe(&visit.session).await;
    let mail = inbound::parse(&photo_reply(&visit.address, &to, "CAF=photo-1@mail.gmail.com"))
        .expect("a readable e-mail");

    // Act: the reply comes in; the photo's upload starts its check (in AWS the bucket's Object
    // Created event starts attachments-check; here the test runs the check).
    let received = email::receive(&visit.app, &mail, Verdicts::default(), now()).await.expect("taken in");
    let frame = agent.expect("message.created").await;
    let attached = frame["message"]["attachments"].as_array().cloned().unwrap_or_default();
    let id = attached.first().and_then(|file| file["id"].as_str()).unwrap_or_default().to_owned();
    let key = format!("attachments/{}/{id}", visit.session);
    let objects = visit.api.attachment_objects.as_ref();
    let checked = check_upload(&visit.app, objects, &key, Scanner::None).await.expect("the check runs");
    let path = format!("/chat/sessions/{}/attachments/{id}", visit.session);
    let link = Caller::AgentX.call(&visit.api, Method::GET, &path, None).await;
    let file = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");

    // Assert: Grace's words and her photo in one message; the page is left out; the agent opens
    // the photo once it is checked.
    assert!(matches!(received, Received::Posted { attachments: 1, .. }), "{received:?}");
    assert_eq!(frame["message"]["body"], "Here is a photo of the box it came in.", "{frame}");
    assert_eq!(frame["message"]["channel"], "email");
    let files: Vec<(&str, &str)> = attached
        .iter()
        .map(|file| {
            (
                file["file_name"].as_str().unwrap_or_default(),
                file["content_type"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(files, [("box.png", "image/png")]);
    assert_eq!(checked.map(|attachment| attachment.status), Some(AttachmentStatus::Ready));
    assert_eq!(link.status, 200, "{:?}", link.body);
    assert_eq!(file.bytes().await.expect("the photo").as_ref(), BOX_PNG);
}

async fn a_visitor_who_signs_in_keeps_the_address_of_their_prechat_form(backend: Backend) {
    // Arrange: Grace gave her address in the pre-chat form; agent X answered twice.
    let visit = visit(backend).await;

    // Act: she signs in on the shop before reading them; its token carries no address.
    let signed = identity_token(&visit.identity_secret, json!({"sub": "u-7"}));
    let identify = json!({"site_id": visit.site, "identity_token": signed});
    let user =
        from_shop(&visit.api, Method::POST, "/widget/identify", Some(&visit.token), Some(identify)).await;
    let due = visit.sweep(Duration::minutes(6)).await;

    // Assert: her conversation moved to the signed-in user, and its e-mail still reaches her.
    assert_eq!(user["moved_sessions"], json!([visit.session]), "{user}");
    assert_eq!(due.sent, 1, "{due:?}");
    assert_eq!(visit.sent().await.len(), 1);
    let console = console_emails(&visit).await;
    assert_eq!(console["address"].as_str(), Some(visit.address.as_str()), "{console}");
}
