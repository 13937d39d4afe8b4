//! Replies by e-mail as AWS takes them in: SES's receipt rule stores the raw message in the
//! inbound bucket (here a bucket on the moto server, written with the S3 client as SES writes it)
//! and invokes `email-inbound` with its receipt event; the function reads the message back by a
//! presigned GET, as in Lambda, and posts the reply in the session once. The table is on moto too.
//! What a person notices is read through the API: the session's messages as agent X sees them.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_email::inbound::{receive_event, INBOUND, MAIL_PREFIX};
use switchboard_shared::attachments::bucket::SignedBucketObjects;
use switchboard_shared::attachments::s3::S3AttachmentObjects;
use switchboard_shared::attachments::store::{AttachmentObjects, S3Links};
use switchboard_shared::domain::{Role, SessionId};
use switchboard_shared::ops::attachments::Scanner;
use switchboard_shared::ops::email::reply_address;
use switchboard_shared::ApiError;
use switchboard_tests::recording::{recording_app, RecordingObjects};
use switchboard_tests::{
    arranged, gmail_reply, moto_endpoint, on_duty, photo_reply, send, Backend, Caller, TestApi,
};
use ulid::Ulid;

/// The page the widget runs on.
const SHOP: &str = "https://shop.example";
/// The domain the site's customers reply to.
const INBOUND_DOMAIN: &str = "replies.shop.example";

/// A widget visitor who gave an address, in a session agent X took and answered; the inbound
/// bucket the receipt rule stores mail in.
struct Inbox {
    api: TestApi,
    /// The bucket as SES writes to it (the S3 client).
    stored: S3AttachmentObjects,
    /// The bucket as the function reads it: presigned requests, its calls recorded.
    objects: RecordingObjects,
    /// The visitor's address.
    address: String,
    session: String,
    /// The session's signed reply address, as the e-mails' Reply-To carries it.
    reply_to: String,
}

async fn inbox() -> Inbox {
    let api = TestApi::start(Backend::DynamoDb).await;
    let address = format!("grace+{}@example.com", Ulid::new().to_string().to_lowercase());
    let admin = api.token("admin-eve", Role::Admin);
    let site = json!({"name": "Shop", "allowed_origins": [SHOP]});
    let site = api.call(Method::POST, "/admin/sites", Some(&admin), Some(site)).await;
    let site = arranged(site, 201, "an admin adds the shop's site").body["site_id"].clone();
    let visitor = json!({"site_id": site, "name": "Grace", "email": address});
    let visitor = api.call_from(SHOP, Method::POST, "/widget/visitors", None, Some(visitor)).await;
    let token = arranged(visitor, 201, "Grace gives her address").body["token"].as_str().map(str::to_owned);
    let token = token.expect("a visitor token");
    let opened = json!({"subject": "Ship to Spain?"});
    let opened = api.call_from(SHOP, Method::POST, "/chat/sessions", Some(&token), Some(opened)).await;
    let session = arranged(opened, 201, "Grace opens a session").body["id"].as_str().map(str::to_owned);
    let session = session.expect("a session id");
    on_duty(&api, Caller::AgentX.id()).await;
    let take = format!("/admin/chat-dashboard/sessions/{session}/assign");
    arranged(Caller::AgentX.call(&api, Method::POST, &take, Some(json!({}))).await, 200, "agent X takes it");
    send(&api, Caller::AgentX, &session, "Yes we ship to Spain").await;
    let id = SessionId::parse(&session).expect("a session id");
    let reply_to = reply_address(api.store.as_ref(), &id, INBOUND_DOMAIN).await.expect("the reply address");

    let endpoint = moto_endpoint();
    let bucket = format!("inbound-{}", Ulid::new().to_string().to_lowercase());
    let stored = S3AttachmentObjects::for_endpoint(&endpoint, &bucket);
    let client = stored.client().expect("an S3 client");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create the inbound bucket on the moto server");
    let signed =
        SignedBucketObjects::new(&S3Links::for_endpoint(&endpoint, &bucket)).expect("the bucket's objects");
    let objects = RecordingObjects::inbound_mail(Arc::new(signed), INBOUND, &api.accesses);
    Inbox { api, stored, objects, address, session, reply_to }
}

/// A fresh SES message id (SES's are lowercase letters and digits).
fn ses_message_id() -> String {
    Ulid::new().to_string().to_lowercase()
}

/// The receipt event SES's Lambda action sends for the message `ses_message_id` to `recipient`,
/// with every verdict `PASS` but those in `verdicts` (`("spamVerdict", "FAIL")`).
fn receipt_event(ses_message_id: &str, recipient: &str, verdicts: &[(&str, &str)]) -> Value {
    let mut receipt = json!({
        "timestamp": switchboard_shared::domain::timestamp::format(switchboard_shared::domain::now())
            .expect("a time"),
        "processingTimeMillis": 480,
        "recipients": [recipient],
        "spamVerdict": {"status": "PASS"},
        "virusVerdict": {"status": "PASS"},
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "PASS"},
        "dmarcVerdict": {"status": "PASS"},
        "action": {"type": "Lambda", "invocationType": "Event",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:email-inbound"},
    });
    for (verdict, status) in verdicts {
        receipt[*verdict] = json!({ "status": status });
    }
    json!({"Records": [{"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {
        "mail": {"messageId": ses_message_id, "destination": [recipient], "headersTruncated": false,
            "timestamp": receipt["timestamp"].clone(), "source": "grace@example.com", "headers": [],
            "commonHeaders": {"from": ["Grace <grace@example.com>"], "to": [recipient]}},
        "receipt": receipt,
    }}]})
}

impl Inbox {
    /// Stores `raw` as SES's S3 action does: under the prefix, named by the SES message id.
    async fn store(&self, ses_message_id: &str, raw: Vec<u8>) {
        let key = format!("{MAIL_PREFIX}{ses_message_id}");
        self.stored.put(&key, raw, "application/octet-stream").await.expect("store the mail as SES does");
    }

    /// Invokes the function with `event`, as SES's Lambda action does.
    async fn invoke(&self, event: Value) -> Result<Value, ApiError> {
        self.invoke_reading(&self.objects, event).await
    }

    async fn invoke_reading(&self, objects: &dyn AttachmentObjects, event: Value) -> Result<Value, ApiError> {
        // The function keeps the mails' files in the attachments bucket (here the gateway's).
        let app = self.api.app.clone().with_attachment_objects(self.api.attachment_objects.clone());
        receive_event(&recording_app(&app, INBOUND, &self.api.accesses), objects, event).await
    }

    /// The session's messages as agent X reads them.
    async fn messages(&self) -> Vec<Value> {
        let path = format!("/chat/messages/{}?limit=50", self.session);
        let reply = Caller::AgentX.call(&self.api, Method::GET, &path, None).await;
        arranged(reply, 200, "agent X reads the session").body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The messages that came by e-mail, their bodies.
    async fn by_email(&self) -> Vec<String> {
        self.messages()
            .await
            .into_iter()
            .filter(|message| message["channel"] == "email")
            .filter_map(|message| message["body"].as_str().map(str::to_owned))
            .collect()
    }
}

/// What became of the event's one mail.
fn outcome(answer: &Value) -> (&str, &str) {
    let received = &answer["received"][0];
    (received["outcome"].as_str().unwrap_or_default(), received["reason"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_ses_stored_is_posted_in_the_session_once_however_often_ses_invokes() {
    // Arrange
    let inbox = inbox().await;
    let id = ses_message_id();
    inbox.store(&id, gmail_reply(&inbox.address, &inbox.reply_to, &format!("{id}@mail.gmail.com"))).await;
    let event = receipt_event(&id, &inbox.reply_to, &[]);

    // Act: the event, then the same event again (an invocation Lambda retried).
    inbox.api.store.reset();
    let first = inbox.invoke(event.clone()).await.expect("taken in");
    let first_calls = inbox.api.store.calls();
    inbox.api.store.reset();
    let again = inbox.invoke(event).await.expect("taken in");
    let again_calls = inbox.api.store.calls();

    // Assert: Grace's words, without the quote, once, in her session.
    assert_eq!(outcome(&first), ("posted", ""), "{first}");
    assert_eq!(first["received"][0]["session_id"], inbox.session.as_str(), "{first}");
    assert_eq!(outcome(&again), ("duplicate", ""), "{again}");
    assert_eq!(inbox.by_email().await, ["Great, then please send it to Madrid."]);
    // The calls docs/DATA_MODEL.md documents ("The e-mail reply in"): the link key, the session,
    // the visitor and the claim; then the customer's send (their block, the transaction, the
    // subscribers). The duplicate stops at its claim.
    assert_eq!(first_calls, BTreeMap::from([("get", 4), ("put", 1), ("query", 1), ("transact_write", 1)]));
    assert_eq!(again_calls, BTreeMap::from([("get", 3), ("put", 1)]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_ses_judged_spam_or_a_virus_is_refused_and_posts_nothing() {
    // Arrange: two replies from Grace to the right address, one SES found spam, one a virus in.
    let inbox = inbox().await;
    let (spam, virus) = (ses_message_id(), ses_message_id());
    for id in [&spam, &virus] {
        inbox.store(id, gmail_reply(&inbox.address, &inbox.reply_to, &format!("{id}@mail.gmail.com"))).await;
    }

    // Act
    let spam = inbox.invoke(receipt_event(&spam, &inbox.reply_to, &[("spamVerdict", "FAIL")])).await;
    let virus = inbox.invoke(receipt_event(&virus, &inbox.reply_to, &[("virusVerdict", "FAIL")])).await;

    // Assert: refused (an answer, so Lambda does not invoke again), and nothing in the session.
    let (spam, virus) = (spam.expect("an answer"), virus.expect("an answer"));
    assert_eq!(outcome(&spam), ("refused", "spam"), "{spam}");
    assert_eq!(outcome(&virus), ("refused", "virus"), "{virus}");
    assert_eq!(inbox.by_email().await, Vec::<String>::new());
    assert_eq!(inbox.messages().await.len(), 1, "agent X's reply alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_missing_from_the_bucket_or_not_an_e_mail_is_refused_without_failing_the_invocation() {
    // Arrange: one event names a message that was never stored, another one that is not an e-mail.
    let inbox = inbox().await;
    let (missing, not_a_mail) = (ses_message_id(), ses_message_id());
    inbox.store(&not_a_mail, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;

    // Act
    let missing = inbox.invoke(receipt_event(&missing, &inbox.reply_to, &[])).await;
    let not_a_mail = inbox.invoke(receipt_event(&not_a_mail, &inbox.reply_to, &[])).await;

    // Assert: each an answer (no retry by Lambda), and nothing posted.
    let (missing, not_a_mail) = (missing.expect("an answer"), not_a_mail.expect("an answer"));
    assert_eq!(outcome(&missing), ("refused", "mail_not_stored"), "{missing}");
    assert_eq!(outcome(&not_a_mail), ("refused", "unreadable"), "{not_a_mail}");
    assert_eq!(inbox.messages().await.len(), 1, "agent X's reply alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_does_not_answer_fails_the_invocation_and_lambdas_retry_posts_the_reply() {
    // Arrange: the reply is stored; the first try reads from an endpoint where nothing listens.
    let inbox = inbox().await;
    let id = ses_message_id();
    inbox.store(&id, gmail_reply(&inbox.address, &inbox.reply_to, &format!("{id}@mail.gmail.com"))).await;
    let event = receipt_event(&id, &inbox.reply_to, &[]);
    let unreachable = SignedBucketObjects::new(&S3Links::for_endpoint("http://127.0.0.1:9", "inbound"))
        .expect("the bucket's objects");

    // Act
    let first = inbox.invoke_reading(&unreachable, event.clone()).await;
    let after_failure = inbox.by_email().await;
    let retried = inbox.invoke(event).await.expect("taken in");

    // Assert: the failed try posted nothing and left the reply to be taken in by the retry.
    assert!(first.is_err(), "{first:?}");
    assert_eq!(after_failure, Vec::<String>::new());
    assert_eq!(outcome(&retried), ("posted", ""), "{retried}");
    assert_eq!(inbox.by_email().await, ["Great, then please send it to Madrid."]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_is_not_ses_s_fails_the_invocation() {
    // Arrange
    let inbox = inbox().await;

    // Act
    let answer = inbox.invoke(json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})).await;

    // Assert
    assert!(matches!(&answer, Err(error) if error.code() == "invalid_event"), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_sent_with_the_reply_is_stored_as_the_customers_upload_pending_and_checked_by_the_bucket() {
    // Arrange
    let inbox = inbox().await;
    let id = ses_message_id();
    inbox.store(&id, photo_reply(&inbox.address, &inbox.reply_to, &format!("{id}@mail.gmail.com"))).await;

    // Act: the reply comes in; the photo's Object Created event starts attachments-check.
    let answer = inbox.invoke(receipt_event(&id, &inbox.reply_to, &[])).await.expect("taken in");
    let message = inbox.messages().await.into_iter().find(|message| message["channel"] == "email");
    let message = message.expect("the reply's message");
    let file = message["attachments"][0]["id"].as_str().unwrap_or_default().to_owned();
    let key = format!("attachments/{}/{file}", inbox.session);
    let unchecked_tags = inbox.api.attachment_tags(&key).await;
    let checked = inbox.api.attachments_event(&key, Scanner::None).await.expect("the bucket's check");
    let checked_tags = inbox.api.attachment_tags(&key).await;
    let path = format!("/chat/sessions/{}/attachments/{file}", inbox.session);
    let link = Caller::AgentX.call(&inbox.api, Method::GET, &path, None).await;
    let photo = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");

    // Assert: the text and the photo in one message (the page left out); the agent opens the photo.
    assert_eq!(answer["received"][0]["attachments"], 1, "{answer}");
    assert_eq!(message["body"], "Here is a photo of the box it came in.", "{message}");
    assert_eq!(message["attachments"].as_array().map(Vec::len), Some(1), "{message}");
    assert_eq!(message["attachments"][0]["file_name"], "box.png");
    let pending = vec![("state".to_owned(), "pending".to_owned())];
    assert_eq!(
        unchecked_tags,
        Some(pending),
        "until its check, the bucket's one-day rule for unchecked files applies"
    );
    assert_eq!(checked["checked"][0]["status"], "ready", "{checked}");
    assert_eq!(checked_tags, Some(vec![]), "checked, the file is kept");
    assert_eq!(link.status, 200, "{:?}", link.body);
    let bytes = photo.bytes().await.expect("the photo");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
}
