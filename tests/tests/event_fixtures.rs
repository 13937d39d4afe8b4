//! Every `events/*.json` fixture works: each REST fixture, fed to its function's handler against
//! a freshly seeded fixture world (`events/README.md`), succeeds and has its effect; each
//! authorizer fixture is allowed for the user of its token, and refused once the token's
//! signature is changed.
//!
//! The fixtures are found by listing `events/`, so a new fixture is tested as soon as it exists;
//! one whose binary has no function fails.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;
use switchboard_authorizer::{authorize, token_of, AuthorizerResponse, FUNCTION_NAME as AUTHORIZER};
use switchboard_changes::PROCESS;
use switchboard_local::fixtures::BULK_JOB;
use switchboard_local::fixtures::DAILY_REPORT;
use switchboard_local::fixtures::{
    ACTIVE_SESSION, ADMIN, AGENT, CUSTOMER, FAILED_CHANGE, MESSAGE, WAITING_SESSION,
};
use switchboard_local::fixtures::{AGENT_CONNECTION, CUSTOMER_CONNECTION, CUSTOMER_DEVICE_TOKEN};
use switchboard_local::fixtures::{ATTACHMENT, PENDING_ATTACHMENT};
use switchboard_local::fixtures::{BACKFILL_JOB, CANNED_RESPONSE, CLOSED_SESSION, NOTE, ROOM, SECOND_AGENT};
use switchboard_local::fixtures::{VISITOR, VISITOR_REPLY, VISITOR_SESSION};
use switchboard_local::gateway::{functions, ws_functions};
use switchboard_local::scheduler::functions as scheduled;
use switchboard_local::Gateway;
use switchboard_notifications::BULK_WORKER;
use switchboard_shared::attachments::folder::FolderAttachments;
use switchboard_shared::attachments::store::{AttachmentObjects, AttachmentStoreError};
use switchboard_shared::attachments::AttachmentStatus;
use switchboard_shared::auth::{TokenVerifier, WidgetTokens};
use switchboard_shared::changes::sqlite::SqliteFeed;
use switchboard_shared::changes::{failed, runner, ChangeFeed};
use switchboard_shared::domain::push::Preferences;
use switchboard_shared::domain::tools::Shortcode;
use switchboard_shared::domain::AttachmentId;
use switchboard_shared::domain::{
    AgentState, AgentStatus, Block, Message, MessageId, Participant, Role, Session, SessionId, SessionStatus,
    UserId,
};
use switchboard_shared::domain::{CannedResponseId, JobId, NoteId, RoomId};
use switchboard_shared::domain::{ConnectionId, InvalidValue};
use switchboard_shared::lambda::dispatch_scheduled;
use switchboard_shared::lambda::{dispatch, dispatch_ws, HttpFunction, WsFunction};
use switchboard_shared::mail::folder::FolderMailer;
use switchboard_shared::ops::attachments::Scanner;
use switchboard_shared::ops::email::Mailing;
use switchboard_shared::push::DeviceToken;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::repo::attachments;
use switchboard_shared::repo::canned::{self, ScopeKey, Segment};
use switchboard_shared::repo::connections;
use switchboard_shared::repo::deliveries::{self, DeliveryStatus, LogListing};
use switchboard_shared::repo::email;
use switchboard_shared::repo::jobs::{self, JobRecord};
use switchboard_shared::repo::messages::MessageWindow;
use switchboard_shared::repo::notes;
use switchboard_shared::repo::rollups;
use switchboard_shared::repo::stats;
use switchboard_shared::repo::{agents, blocks, devices, messages, preferences, rooms, sessions};
use switchboard_shared::reports::folder::FolderReportStore;
use switchboard_shared::reports::{ReportId, ReportStore};
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::ItemStore;
use switchboard_shared::App;
use switchboard_tests::recording::{recording_app, AccessLog};
use tempfile::TempDir;
use time::macros::datetime;

/// The secret the fixtures' tokens are signed with (local use and tests only).
const FIXTURE_SECRET: &[u8] = b"switchboard-fixture-secret-0123456789abcdef";
const ISSUER: &str = "switchboard";
const AUDIENCE: &str = "switchboard-api";

/// The user the block fixtures block and unblock; not part of the seeded world.
const BLOCKED_USER: &str = "cust-zed";

// ---------------------------------------------------------------------------------------------
// The fixtures
// ---------------------------------------------------------------------------------------------

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("events")
}

/// One `events/<binary>[.<variant>].json` file.
struct Fixture {
    /// File name, for messages.
    file: String,
    /// The function it is an event for: the file name up to its first `.`.
    binary: String,
    /// The event as written.
    text: String,
}

impl Fixture {
    fn event(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("events/{} is not valid JSON: {error}", self.file))
    }

    /// The request body the event carries, as JSON (`Null` when there is none).
    fn request_body(&self) -> Value {
        match self.event().get("body") {
            Some(Value::String(body)) => serde_json::from_str(body).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

fn fixtures() -> Vec<Fixture> {
    let dir = events_dir();
    let mut fixtures: Vec<Fixture> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable events/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let binary = file.split('.').next().unwrap_or_default().to_owned();
            let text = fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
            Fixture { file, binary, text }
        })
        .collect();
    fixtures.sort_by(|a, b| a.file.cmp(&b.file));
    assert!(!fixtures.is_empty(), "{} holds no *.json fixture", dir.display());
    fixtures
}

fn is_websocket(fixture: &Fixture) -> bool {
    ws_functions().contains_key(fixture.binary.as_str())
}

fn is_scheduled(fixture: &Fixture) -> bool {
    scheduled().iter().any(|function| function.name == fixture.binary)
}

fn is_queue(fixture: &Fixture) -> bool {
    fixture.binary == BULK_WORKER.name
        || fixture.binary == PROCESS.name
        || fixture.binary == switchboard_email::EMAIL_EVENTS.name
}

fn is_bucket_event(fixture: &Fixture) -> bool {
    fixture.binary == switchboard_attachments::CHECK
}

fn is_mail_event(fixture: &Fixture) -> bool {
    fixture.binary == switchboard_email::inbound::INBOUND
}

fn rest_fixtures() -> Vec<Fixture> {
    fixtures()
        .into_iter()
        .filter(|fixture| {
            fixture.binary != AUTHORIZER
                && !is_websocket(fixture)
                && !is_scheduled(fixture)
                && !is_queue(fixture)
                && !is_bucket_event(fixture)
                && !is_mail_event(fixture)
        })
        .collect()
}

fn scheduled_fixtures() -> Vec<Fixture> {
    fixtures().into_iter().filter(is_scheduled).collect()
}

fn websocket_fixtures() -> Vec<Fixture> {
    fixtures().into_iter().filter(is_websocket).collect()
}

fn authorizer_fixtures() -> Vec<Fixture> {
    fixtures().into_iter().filter(|fixture| fixture.binary == AUTHORIZER).collect()
}

fn fixture_named(file: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|fixture| fixture.file == file)
        .unwrap_or_else(|| panic!("events/{file} is missing"))
}

/// The fixtures' tokens are checked in, so they live until 2100: the fixture environment
/// (`events/README.md`) raises `JWT_MAX_LIFETIME_SECONDS` to this for them.
const FIXTURE_MAX_LIFETIME_SECONDS: u64 = 2_400_000_000;

fn verifier() -> TokenVerifier {
    TokenVerifier::hs256(FIXTURE_SECRET, ISSUER, AUDIENCE).with_max_lifetime(FIXTURE_MAX_LIFETIME_SECONDS)
}

// ---------------------------------------------------------------------------------------------
// The fixture world
// ---------------------------------------------------------------------------------------------

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a valid user id")
}

fn session_id(id: &str) -> SessionId {
    SessionId::parse(id).expect("a valid session id")
}

fn message_id(id: &str) -> MessageId {
    MessageId::parse(id).expect("a valid message id")
}

/// A fresh SQLite store holding exactly the fixture world of `events/README.md`, and a local
/// gateway over it whose Management API the handlers post WebSocket frames to.
struct World {
    store: Arc<SqliteItemStore>,
    attachment_files: Arc<FolderAttachments>,
    reports: Arc<FolderReportStore>,
    app: App,
    accesses: Arc<AccessLog>,
    _gateway: tokio::sync::oneshot::Sender<()>,
    _dir: TempDir,
}

impl World {
    async fn seeded() -> Self {
        let dir = TempDir::new().expect("a temporary directory");
        let store =
            Arc::new(SqliteItemStore::open(&dir.path().join("fixtures.db")).expect("open a SQLite store"));
        switchboard_local::fixtures::seed(store.as_ref()).await.expect("seed the fixture world");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let realtime = Arc::new(ApiGatewayRealtime::for_endpoint(&format!("http://127.0.0.1:{port}")));
        let reports = FolderReportStore::new(
            dir.path().join("reports"),
            &format!("http://127.0.0.1:{port}"),
            FIXTURE_SECRET,
        )
        .expect("a report folder");
        let reports = Arc::new(reports);
        switchboard_local::fixtures::seed_reports(reports.as_ref())
            .await
            .expect("store the fixture world's report");
        let attachment_files = Arc::new(
            FolderAttachments::new(
                dir.path().join("attachments"),
                &format!("http://127.0.0.1:{port}"),
                FIXTURE_SECRET,
            )
            .expect("an attachments folder"),
        );
        let mailing = Mailing {
            mailer: Arc::new(FolderMailer::new(dir.path().join("mail"))),
            from_address: "support@shop.example".into(),
            api_base_url: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod/api/v1".into(),
            inbound_domain: None,
        };
        let app = App::new(store.clone(), realtime)
            .with_mailing(Arc::new(mailing))
            .with_reports(reports.clone())
            .with_widget_tokens(WidgetTokens::hs256(FIXTURE_SECRET, "switchboard-widget", AUDIENCE, 3600))
            .with_attachment_links(attachment_files.clone());
        let gateway = Gateway::new(app.clone(), verifier())
            .expect("gateway routes")
            .serving_report_files(reports.clone())
            .serving_attachment_files(attachment_files.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gateway.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self { store, attachment_files, reports, app, accesses: Arc::default(), _gateway: stop, _dir: dir }
    }

    /// The app as the function `name` runs it, its AWS calls recorded (see `recording.rs`).
    fn app_for(&self, name: &'static str) -> App {
        recording_app(&self.app, name, &self.accesses)
    }

    fn store(&self) -> &dyn ItemStore {
        self.store.as_ref()
    }

    /// Runs the change feed's reactions to everything written so far (the seed included), as
    /// `changes-process` does after a handler's write.
    async fn react(&self) -> Result<(), String> {
        let feed = SqliteFeed::open((*self.store).clone()).await.map_err(|e| e.to_string())?;
        loop {
            let batch = feed.next_batch(runner::BATCH_SIZE).await.map_err(|e| e.to_string())?;
            let Some(last) = batch.last() else { return Ok(()) };
            let outcome = runner::process(&self.app, &batch).await;
            if outcome.failed > 0 || outcome.stopped(&batch) {
                return Err(format!("the feed's reactions failed: {outcome:?}"));
            }
            feed.checkpoint(last).await.map_err(|e| e.to_string())?;
        }
    }

    async fn session(&self, id: &str) -> Session {
        sessions::get(self.store(), &session_id(id))
            .await
            .expect("read a session")
            .expect("the session exists")
    }

    async fn agent(&self, id: &str) -> AgentState {
        agents::get(self.store(), &user(id))
            .await
            .expect("read an agent's state")
            .expect("the agent has a state")
    }

    async fn message(&self, session: &str, id: &str) -> Message {
        messages::get(self.store(), &session_id(session), &message_id(id))
            .await
            .expect("read a message")
            .expect("the message exists")
    }

    async fn messages(&self, session: &str) -> Vec<Message> {
        let window = MessageWindow { after: None, ascending: true };
        messages::list(self.store(), &session_id(session), window, 200, None).await.expect("list messages").0
    }

    async fn participants(&self, session: &str) -> Vec<Participant> {
        sessions::participants(self.store(), &session_id(session), 200, None)
            .await
            .expect("list participants")
            .0
    }
}

// ---------------------------------------------------------------------------------------------
// Running a REST fixture
// ---------------------------------------------------------------------------------------------

/// What a handler answered.
struct Answer {
    status: u16,
    text: String,
    json: Value,
}

async fn invoke(world: &World, function: &HttpFunction, fixture: &Fixture) -> Result<Answer, String> {
    let request = lambda_http::request::from_str(&fixture.text)
        .map_err(|error| format!("is not an API Gateway REST proxy event: {error}"))?;
    let response = dispatch(&world.app_for(function.name), function, request).await;
    let status = response.status().as_u16();
    let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    // A body that is not JSON (a text or CSV transcript) is handed to the checks as a string.
    let json = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Answer { status, text, json })
}

/// Fails with `$($message)*` unless `$condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)*) => {
        if !$condition {
            return Err(format!($($message)*));
        }
    };
}

fn ids_of(list: &Value, field: &str) -> BTreeSet<String> {
    list["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|item| item[field].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Whether what the fixture asked for is visible afterwards (in the store for writes, in the
/// answer for reads). Fixtures of other functions are only held to a 2xx answer.
async fn check_effect(binary: &str, world: &World, answer: &Value, request: &Value) -> Result<(), String> {
    match binary {
        "chat-create-session" => {
            let id = answer["id"].as_str().ok_or("the answer has no session id")?;
            let id = SessionId::parse(id).map_err(|error| format!("the answer's id {id:?}: {error}"))?;
            let stored = sessions::get(world.store(), &id)
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("session {id} is not stored"))?;
            ensure!(
                stored.customer_id.as_str() == CUSTOMER,
                "the new session's customer is {}",
                stored.customer_id
            );
            ensure!(
                stored.status == SessionStatus::Waiting,
                "the new session is {:?}, not waiting",
                stored.status
            );
            ensure!(
                stored.subject == request["subject"].as_str().unwrap_or_default(),
                "the new session's subject is {:?}",
                stored.subject
            );
            ensure!(
                serde_json::to_value(stored.priority).ok().as_ref() == Some(&request["priority"]),
                "the new session's priority is {:?}, the request asked {}",
                stored.priority,
                request["priority"]
            );
            ensure!(
                stored.room_id.map(|room| room.to_string()).as_deref() == request["room_id"].as_str(),
                "the new session's room is {:?}",
                stored.room_id
            );
        }
        "chat-list-sessions" => {
            let ids = ids_of(answer, "id");
            ensure!(
                ids.contains(WAITING_SESSION),
                "the waiting queue {ids:?} lacks session {WAITING_SESSION}"
            );
            ensure!(!ids.contains(ACTIVE_SESSION), "the waiting queue {ids:?} holds the active session");
        }
        "notifications-register-device" => {
            let token = DeviceToken::parse(request["token"].as_str().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            let stored = devices::get(world.store(), &user(CUSTOMER), &devices::device_id(&token))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no device record was stored")?;
            ensure!(stored.platform.as_str() == request["platform"], "stored platform {:?}", stored.platform);
            ensure!(
                answer["endpoint_arn"] == stored.endpoint_arn.as_str(),
                "the answer's endpoint is not the stored one"
            );
            ensure!(stored.enabled, "the device is not enabled");
        }
        "notifications-unregister-device" => {
            let token = DeviceToken::parse(CUSTOMER_DEVICE_TOKEN).map_err(|e| e.to_string())?;
            let stored = devices::get(world.store(), &user(CUSTOMER), &devices::device_id(&token))
                .await
                .map_err(|e| e.to_string())?;
            ensure!(stored.is_none(), "the device record is still there");
            ensure!(
                answer["device_id"] == devices::device_id(&token).as_str(),
                "the answer is another device"
            );
        }
        "notifications-send" | "notifications-bulk-send" => {
            let job = answer["job_id"].as_str().ok_or("the answer has no job id")?;
            let expected = request.get("user_ids").and_then(Value::as_array).map_or(1, Vec::len);
            if binary == "notifications-send" {
                ensure!(
                    answer["recipients"] == expected,
                    "the summary counts {} recipients",
                    answer["recipients"]
                );
            } else {
                ensure!(answer["total"] == expected, "the job counts {} recipients", answer["total"]);
                let id = JobId::parse(job).map_err(|e| e.to_string())?;
                let done = job_when_done(world.store(), &id).await?;
                ensure!(done.skipped + done.failed + done.sent == expected, "the job counted {done:?}");
            }
            let (logs, _) = deliveries::list(world.store(), &LogListing::Job(job.to_owned()), 50, None)
                .await
                .map_err(|e| e.to_string())?;
            ensure!(logs.len() == expected, "{} delivery logs for {expected} recipients", logs.len());
            ensure!(
                logs.iter()
                    .any(|l| l.user_id.as_str() == CUSTOMER && l.status == DeliveryStatus::EndpointDisabled),
                "cust-ada's fictitious endpoint was not logged as disabled: {logs:?}"
            );
        }
        "notifications-get-job" => {
            ensure!(
                answer["job_id"] == BULK_JOB
                    && answer["total"] == 2
                    && answer["sent"] == 1
                    && answer["done"] == false,
                "the answer is not the seeded job, 1 of 2 handled: {answer}"
            );
        }
        "notifications-list-delivery-logs" => {
            ensure!(answer["items"] == serde_json::json!([]), "a fresh world has no logs: {answer}");
        }
        "notifications-get-preferences" => {
            // cust-ada never chose: the defaults.
            let defaults = serde_json::to_value(Preferences::default()).map_err(|e| e.to_string())?;
            ensure!(*answer == defaults, "the answer is {answer}, not the defaults");
        }
        "notifications-put-preferences" => {
            let stored = preferences::get(world.store(), &user(CUSTOMER))
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no preferences were stored")?;
            let sent: Preferences = serde_json::from_value(request.clone()).map_err(|e| e.to_string())?;
            ensure!(stored.preferences == sent, "stored {:?}, sent {request}", stored.preferences);
            ensure!(*answer == *request, "the answer {answer} is not what was sent");
        }
        "chat-get-session" => {
            ensure!(answer["id"] == ACTIVE_SESSION, "the answer is session {}", answer["id"]);
            ensure!(answer["customer_id"] == CUSTOMER, "the answer's customer is {}", answer["customer_id"]);
        }
        "chat-update-session" => {
            let stored = world.session(ACTIVE_SESSION).await;
            ensure!(
                serde_json::to_value(stored.priority).ok().as_ref() == Some(&request["priority"]),
                "session {ACTIVE_SESSION} has priority {:?}, the request asked {}",
                stored.priority,
                request["priority"]
            );
            let history =
                switchboard_shared::repo::events::of_session(world.store(), &session_id(ACTIVE_SESSION))
                    .await
                    .map_err(|error| error.to_string())?;
            ensure!(
                history.iter().any(|event| event.kind == switchboard_shared::ops::PRIORITY_CHANGED
                    && event.actor_id.as_str() == AGENT),
                "the event log of {ACTIVE_SESSION} does not record the change"
            );
        }
        "chat-close-session" => {
            let stored = world.session(ACTIVE_SESSION).await;
            ensure!(
                stored.status == SessionStatus::Closed,
                "session {ACTIVE_SESSION} is {:?}",
                stored.status
            );
            ensure!(stored.closed_at.is_some(), "session {ACTIVE_SESSION} has no closed_at");
            ensure!(
                stored.closed_by.as_ref().map(UserId::as_str) == Some(AGENT),
                "session {ACTIVE_SESSION} was closed by {:?}",
                stored.closed_by
            );
        }
        "chat-list-participants" => {
            let users = ids_of(answer, "user_id");
            let expected: BTreeSet<String> = [CUSTOMER, AGENT].map(str::to_owned).into();
            ensure!(users == expected, "the participants are {users:?}, expected {expected:?}");
        }
        "chat-mark-read" => {
            let marker = sessions::read_marker(world.store(), &session_id(ACTIVE_SESSION), &user(CUSTOMER))
                .await
                .map_err(|error| error.to_string())?
                .ok_or("no read marker is stored")?;
            ensure!(
                request["message_id"] == marker.last_read_message_id.to_string(),
                "the read marker is at {}, the request said {}",
                marker.last_read_message_id,
                request["message_id"]
            );
        }
        "chat-send-message" => {
            let stored = world.messages(ACTIVE_SESSION).await;
            let sent = stored
                .iter()
                .find(|message| message.id.to_string() != MESSAGE)
                .ok_or_else(|| format!("the messages of {ACTIVE_SESSION} are still only {MESSAGE}"))?;
            ensure!(
                sent.body.as_deref() == request["body"].as_str(),
                "the new message's body is {:?}, the request sent {}",
                sent.body,
                request["body"]
            );
            ensure!(
                sent.client_message_id.as_ref().map(|id| id.as_str())
                    == request["client_message_id"].as_str(),
                "the new message's client_message_id is {:?}",
                sent.client_message_id
            );
            ensure!(sent.sender_id.as_str() == CUSTOMER, "the new message's sender is {}", sent.sender_id);
            let session = world.session(ACTIVE_SESSION).await;
            ensure!(
                session.message_count == 2,
                "the session counts {} messages, not 2",
                session.message_count
            );
        }
        "chat-list-messages" => {
            let ids = ids_of(answer, "id");
            ensure!(
                ids == BTreeSet::from([MESSAGE.to_owned()]),
                "the messages are {ids:?}, expected [{MESSAGE}]"
            );
        }
        "chat-edit-message" => {
            let stored = world.message(ACTIVE_SESSION, MESSAGE).await;
            ensure!(
                stored.body.as_deref() == request["body"].as_str(),
                "message {MESSAGE} reads {:?}, the request sent {}",
                stored.body,
                request["body"]
            );
            ensure!(stored.edited_at.is_some(), "message {MESSAGE} has no edited_at");
        }
        "chat-delete-message" => {
            let stored = world.message(ACTIVE_SESSION, MESSAGE).await;
            ensure!(stored.deleted, "message {MESSAGE} is not flagged deleted");
            ensure!(stored.body.is_none(), "the tombstone of {MESSAGE} still has a body");
        }
        "chat-block-user" => {
            let block = blocks::get(world.store(), &user(BLOCKED_USER))
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("{BLOCKED_USER} is not blocked"))?;
            ensure!(block.blocked_by.as_str() == AGENT, "the block is by {}", block.blocked_by);
            ensure!(
                block.reason.as_deref() == request["reason"].as_str(),
                "the block's reason is {:?}, the request gave {}",
                block.reason,
                request["reason"]
            );
        }
        "chat-unblock-user" => {
            let block =
                blocks::get(world.store(), &user(BLOCKED_USER)).await.map_err(|error| error.to_string())?;
            ensure!(block.is_none(), "{BLOCKED_USER} is still blocked: {block:?}");
            ensure!(answer["blocked"] == false, "the answer says blocked = {}", answer["blocked"]);
        }
        "chat-list-blocked-users" => {
            ensure!(answer["items"].is_array(), "the answer lists blocks: {answer}");
        }
        "chat-list-rooms" => {
            let names = ids_of(answer, "name");
            ensure!(names.contains("Billing"), "the rooms {names:?} lack Billing");
        }
        "chat-create-room" => {
            let (listed, _) =
                rooms::list(world.store(), 200, None).await.map_err(|error| error.to_string())?;
            let wanted = request["name"].as_str().unwrap_or_default();
            ensure!(
                listed.iter().any(|room| room.name == wanted && room.created_by.as_str() == ADMIN),
                "no room named {wanted:?} by {ADMIN} is listed: {:?}",
                listed.iter().map(|room| &room.name).collect::<Vec<_>>()
            );
        }
        "dashboard-transcript" => {
            let text = answer.as_str().ok_or("the transcript is not text")?;
            ensure!(text.contains("Hi, I was charged twice."), "the customer's message is missing");
            ensure!(!text.contains("[private note]"), "a note is in a transcript asked for without notes");
        }
        "email-unsubscribe-page" => {
            ensure!(
                answer.as_str().is_some_and(|page| page.contains("<form method=\"post\"")),
                "no form: {answer}"
            );
            let prefs = preferences::get(world.store(), &user(VISITOR)).await.map_err(|e| e.to_string())?;
            ensure!(prefs.is_none(), "the page changed Grace's preferences: {prefs:?}");
        }
        "email-unsubscribe" => {
            let prefs = preferences::get(world.store(), &user(VISITOR)).await.map_err(|e| e.to_string())?;
            ensure!(prefs.is_some_and(|record| !record.preferences.email), "Grace's e-mail is still on");
        }
        "email-list-session-emails" => {
            // Her e-mail is due but not sent in the seeded world.
            ensure!(answer["address"] == "grace@example.com", "not Grace's address: {answer}");
            ensure!(answer["items"] == serde_json::json!([]), "e-mails listed before any was sent: {answer}");
            ensure!(answer["undeliverable"].is_null(), "her address is undeliverable: {answer}");
        }
        "dashboard-overview" => {
            // Bob and Cy are away in the seeded world.
            ensure!(answer["agents_away"] == 2, "the overview shows {} agents away", answer["agents_away"]);
            ensure!(answer["generated_at"].is_string(), "the overview has no generated_at: {answer}");
        }
        "dashboard-agent-performance" => {
            ensure!(
                answer["team"]["sessions_closed"] == 0,
                "a world without events closed sessions: {answer}"
            );
            ensure!(answer["agents"] == serde_json::json!([]), "an admin sees no agent without activity");
        }
        "dashboard-active-sessions" => {
            let ids = ids_of(answer, "id");
            ensure!(ids == BTreeSet::from([ACTIVE_SESSION.to_owned()]), "bob's active sessions are {ids:?}");
            let item = &answer["items"][0];
            ensure!(
                item["handle_seconds_so_far"].as_f64().is_some_and(|s| s > 0.0),
                "no handle time: {item}"
            );
            ensure!(item["waiting_for_agent_reply"] == true, "ada's message is unanswered: {item}");
        }
        "dashboard-waiting-sessions" => {
            let ids = ids_of(answer, "id");
            ensure!(ids == BTreeSet::from([WAITING_SESSION.to_owned()]), "the queue is {ids:?}");
            ensure!(answer["items"][0]["queue_position"] == 1, "the only waiting session is not first");
        }
        "dashboard-satisfaction" => {
            ensure!(answer["days"].as_array().map(Vec::len) == Some(7), "7 days are not listed: {answer}");
        }
        "dashboard-message-analytics" => {
            ensure!(
                answer["by_hour"].as_array().map(Vec::len) == Some(24),
                "24 hours are not listed: {answer}"
            );
        }
        "dashboard-health" => {
            ensure!(answer["status"] == "ok" && answer["store"]["reachable"] == true, "unhealthy: {answer}");
        }
        "reports-conversations" => {
            let text = answer.as_str().ok_or("the export is not text")?;
            let header = switchboard_shared::analytics::conversations::COLUMNS.join(",");
            ensure!(text == format!("{header}\r\n"), "a world without events exports rows: {text:?}");
        }
        "dashboard-audit-log" => {
            ensure!(answer["items"] == serde_json::json!([]), "the seeded world logged no event: {answer}");
        }
        "dashboard-list-failed-changes" => {
            ensure!(answer["items"][0]["id"] == FAILED_CHANGE, "not the seeded failed change: {answer}");
            ensure!(answer["items"][0]["record"]["kind"] == "INSERT", "not its record: {answer}");
        }
        "dashboard-replay-failed-change" => {
            ensure!(answer["id"] == FAILED_CHANGE, "not the seeded failed change: {answer}");
            let (left, _) = failed::list(world.store(), 10, None).await.map_err(|e| e.to_string())?;
            ensure!(left.is_empty(), "the replayed change is still kept: {left:?}");
            let day =
                switchboard_shared::repo::stats::day(world.store(), time::macros::date!(2026 - 01 - 01))
                    .await
                    .map_err(|e| e.to_string())?;
            // Its batch counted it before its reactions failed: a replay runs them, not the count.
            ensure!(day.get("messages_customer") == 0, "the replayed message was counted again");
        }
        "dashboard-assign-session" => {
            let stored = world.session(WAITING_SESSION).await;
            ensure!(
                stored.status == SessionStatus::Active,
                "session {WAITING_SESSION} is {:?}",
                stored.status
            );
            ensure!(
                stored.agent_id.as_ref().map(UserId::as_str) == Some(AGENT),
                "session {WAITING_SESSION} is assigned to {:?}",
                stored.agent_id
            );
            let participants = world.participants(WAITING_SESSION).await;
            ensure!(
                participants.iter().any(|p| p.user_id.as_str() == AGENT && p.role == Role::Agent),
                "{AGENT} is not a participant of {WAITING_SESSION}"
            );
        }
        "dashboard-transfer-session" => {
            let stored = world.session(ACTIVE_SESSION).await;
            ensure!(
                stored.agent_id.as_ref().map(UserId::as_str) == Some(SECOND_AGENT)
                    && stored.transfer_count == 1,
                "session {ACTIVE_SESSION} is with {:?} after {} transfers",
                stored.agent_id,
                stored.transfer_count
            );
            let loads =
                (world.agent(AGENT).await.active_sessions, world.agent(SECOND_AGENT).await.active_sessions);
            ensure!(loads == (0, 1), "the agents' loads are {loads:?}, expected bob 0 and cy 1");
        }
        "chat-reopen-session" => {
            let stored = world.session(CLOSED_SESSION).await;
            ensure!(
                stored.status == SessionStatus::Waiting
                    && stored.agent_id.is_none()
                    && stored.reopen_count == 1,
                "session {CLOSED_SESSION} is {:?} with {:?}, reopened {} times",
                stored.status,
                stored.agent_id,
                stored.reopen_count
            );
            ensure!(
                answer["queue_position"].as_u64().is_some(),
                "the answer has no queue position: {answer}"
            );
        }
        "chat-rate-session" => {
            let stored = world.session(CLOSED_SESSION).await;
            let rating = stored.rating.ok_or("the rating was not stored")?;
            ensure!(
                Some(rating.score) == request["score"].as_u64().and_then(|s| u8::try_from(s).ok()),
                "stored score {}",
                rating.score
            );
        }
        "agent-get-status" => {
            ensure!(answer["status"] == "away" && answer["active_sessions"] == 1, "answered {answer}");
        }
        "agent-set-status" => {
            ensure!(answer["status"] == "online", "answered {answer}");
            world.react().await?;
            // Telling bob of his new session found his seeded connection gone (the gateway does
            // not know it), his only one: he shows away for the grace period.
            let bob = world.agent(AGENT).await;
            ensure!(
                bob.active_sessions == 2 && bob.status == AgentStatus::Away && bob.away_until.is_some(),
                "bob is {bob:?}"
            );
            let routed = world.session(WAITING_SESSION).await;
            ensure!(
                routed.agent_id.as_ref().map(UserId::as_str) == Some(AGENT),
                "the waiting session was not routed to bob: {routed:?}"
            );
        }
        "agent-update-settings" => {
            let cy = world.agent(SECOND_AGENT).await;
            ensure!(
                cy.capacity.get() == 2
                    && cy.rooms.iter().map(ToString::to_string).eq([ROOM.to_owned()])
                    && cy.status == AgentStatus::Away
                    && answer["capacity"] == 2,
                "cy is {cy:?}, answered {answer}"
            );
        }
        "agent-list-canned-responses" => {
            let ids = ids_of(answer, "id");
            ensure!(ids.contains(CANNED_RESPONSE), "the list {ids:?} lacks {CANNED_RESPONSE}");
        }
        "agent-create-canned-response" => {
            let room = RoomId::parse(ROOM).map_err(|e| e.to_string())?;
            let segment = Segment::Scope(ScopeKey::Room(room));
            let (listed, _) =
                canned::list(world.store(), &segment, None, 50, None).await.map_err(|e| e.to_string())?;
            ensure!(
                listed.iter().any(|c| c.shortcode.as_str() == request["shortcode"]
                    && c.owner_id.as_str() == AGENT
                    && c.body == request["body"].as_str().unwrap_or_default()),
                "room {ROOM} lists no such response: {listed:?}"
            );
        }
        "agent-update-canned-response" => {
            let stored = canned_response(world).await?.ok_or("the canned response is gone")?;
            ensure!(
                stored.shortcode.as_str() == request["shortcode"],
                "stored shortcode {:?}",
                stored.shortcode
            );
            ensure!(
                stored.body == request["body"].as_str().unwrap_or_default(),
                "stored body {:?}",
                stored.body
            );
            ensure!(!reserved(world, "refund").await?, "the old shortcode refund is still reserved");
            ensure!(
                reserved(world, request["shortcode"].as_str().unwrap_or_default()).await?,
                "the new shortcode is not reserved"
            );
        }
        "agent-delete-canned-response" => {
            ensure!(canned_response(world).await?.is_none(), "the canned response is still stored");
            ensure!(!reserved(world, "refund").await?, "the shortcode refund is still reserved");
        }
        "agent-render-canned-response" => {
            let expected = "Hi Ada, I have asked for the refund; it shows within 5 business days.";
            ensure!(answer["body"] == expected, "rendered {}", answer["body"]);
        }
        "chat-list-notes" => {
            let ids = ids_of(answer, "id");
            ensure!(ids == BTreeSet::from([NOTE.to_owned()]), "the notes are {ids:?}, expected [{NOTE}]");
        }
        "chat-create-note" => {
            let (listed, _) = notes::list(world.store(), &session_id(ACTIVE_SESSION), 50, None)
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                listed.iter().any(|n| n.body == request["body"].as_str().unwrap_or_default()
                    && n.author_id.as_str() == AGENT),
                "no such note by {AGENT} is stored: {listed:?}"
            );
            ensure!(world.messages(ACTIVE_SESSION).await.len() == 1, "the note became a message");
        }
        "chat-edit-note" => {
            let id = NoteId::parse(NOTE).map_err(|e| e.to_string())?;
            let stored = notes::get(world.store(), &session_id(ACTIVE_SESSION), &id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the note is gone")?;
            ensure!(stored.body == request["body"].as_str().unwrap_or_default(), "stored {:?}", stored.body);
            ensure!(stored.edited_at.is_some(), "the note has no edited_at");
        }
        "analytics-start-backfill" => {
            ensure!(
                answer["status"] == "done" && answer["days_done"] == 7,
                "the backfill did not finish: {answer}"
            );
            let day = |text: &str| request[text].as_str().and_then(|d| time::Date::parse(d, DAY).ok());
            let (Some(from), Some(to)) = (day("from"), day("to")) else {
                return Err("the request has no days".into());
            };
            let built = rollups::built(world.store(), from, to).await.map_err(|e| e.to_string())?;
            ensure!(built.len() == 7, "{} of the 7 days are marked built", built.len());
        }
        "analytics-get-backfill" => {
            ensure!(
                answer["id"] == BACKFILL_JOB && answer["status"] == "done",
                "not the seeded job: {answer}"
            );
        }
        "attachments-request-upload" => {
            let id = answer["attachment"]["id"].as_str().ok_or("the answer has no attachment id")?;
            let id = AttachmentId::parse(id).map_err(|error| error.to_string())?;
            let stored = attachments::get(world.store(), &session_id(ACTIVE_SESSION), &id)
                .await
                .map_err(|error| error.to_string())?
                .ok_or_else(|| format!("attachment {id} is not stored"))?;
            ensure!(stored.status == AttachmentStatus::Pending, "the new attachment is {:?}", stored.status);
            ensure!(
                answer["upload"]["fields"]["key"] == format!("attachments/{ACTIVE_SESSION}/{id}").as_str(),
                "the form uploads elsewhere: {answer}"
            );
        }
        "attachments-download" => {
            ensure!(answer["attachment"]["id"] == ATTACHMENT, "not the seeded attachment: {answer}");
            let url = answer["url"].as_str().ok_or("the answer has no url")?;
            ensure!(
                url.contains(&format!("/attachments/{ACTIVE_SESSION}/{ATTACHMENT}?")),
                "the link is elsewhere: {url}"
            );
        }
        "reports-daily-figures" => {
            let csv = answer.as_str().ok_or("the answer is not CSV text")?;
            let lines: Vec<&str> = csv.split("\r\n").filter(|line| !line.is_empty()).collect();
            ensure!(lines.len() == 9, "not a header, 7 days and a total: {csv}");
            ensure!(lines[1].starts_with("\"2026-01-01\",live,"), "the first day is not 2026-01-01: {csv}");
            ensure!(lines[8].starts_with("\"total\""), "no total row: {csv}");
        }
        _ => {}
    }
    Ok(())
}

/// `yyyy-mm-dd`.
const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// The fixture world's canned response as stored now.
async fn canned_response(
    world: &World,
) -> Result<Option<switchboard_shared::domain::tools::CannedResponse>, String> {
    let id = CannedResponseId::parse(CANNED_RESPONSE).map_err(|e| e.to_string())?;
    canned::get(world.store(), &id).await.map_err(|e| e.to_string())
}

/// Whether a shortcode is reserved among the agent's personal responses.
async fn reserved(world: &World, shortcode: &str) -> Result<bool, String> {
    let shortcode = Shortcode::parse(shortcode).map_err(|e| e.to_string())?;
    let key = ScopeKey::Personal(user(AGENT)).shortcode_key(&shortcode);
    Ok(world.store().get(&key).await.map_err(|e| e.to_string())?.is_some())
}

/// Runs one REST fixture against a fresh world; the error says what went wrong.
async fn run_rest_fixture(
    fixture: &Fixture,
    functions: &HashMap<&'static str, HttpFunction>,
) -> Result<(), String> {
    let function = functions
        .get(fixture.binary.as_str())
        .ok_or_else(|| format!("no HTTP function of the local gateway is called {}", fixture.binary))?;
    let world = World::seeded().await;
    let answer = invoke(&world, function, fixture).await?;
    ensure!((200..300).contains(&answer.status), "answered {}: {}", answer.status, answer.text);
    check_effect(&fixture.binary, &world, &answer.json, &fixture.request_body())
        .await
        .map_err(|problem| format!("answered {} but {problem}; body: {}", answer.status, answer.text))
}

// ---------------------------------------------------------------------------------------------
// REST fixtures
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rest_fixture_succeeds_against_a_freshly_seeded_world_and_has_its_effect() {
    // Arrange
    let functions = functions();
    let fixtures = rest_fixtures();

    // Act
    let mut failures = Vec::new();
    for fixture in &fixtures {
        if let Err(problem) = run_rest_fixture(fixture, &functions).await {
            failures.push(format!("events/{}: {problem}", fixture.file));
        }
    }

    // Assert
    assert!(
        failures.is_empty(),
        "{} of {} REST fixtures failed:\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_gateway_function_has_a_rest_fixture() {
    // Arrange
    let covered: BTreeSet<String> = rest_fixtures().into_iter().map(|fixture| fixture.binary).collect();

    // Act
    let mut missing: Vec<&str> = functions().into_keys().filter(|name| !covered.contains(*name)).collect();
    missing.sort_unstable();

    // Assert
    assert!(missing.is_empty(), "functions without an events/<binary>.json fixture: {missing:?}");
}

#[test]
fn every_rest_fixtures_token_speaks_for_its_authorizer_context() {
    // Arrange
    let verifier = verifier();
    let fixtures = rest_fixtures();
    let public = public_binaries();

    // Act
    let mut problems = Vec::new();
    for fixture in fixtures.iter().filter(|fixture| !public.contains(&fixture.binary)) {
        let event = fixture.event();
        let context = &event["requestContext"]["authorizer"];
        match authorize(&verifier, &event) {
            Ok(answer) => {
                if context["userId"] != answer.context.user_id.as_str()
                    || context["role"] != answer.context.role.as_str()
                {
                    problems.push(format!(
                        "events/{}: the token is for {} ({}), the authorizer context says {} ({})",
                        fixture.file,
                        answer.context.user_id,
                        answer.context.role,
                        context["userId"],
                        context["role"]
                    ));
                }
            }
            Err(refusal) => {
                problems.push(format!("events/{}: the token is refused: {refusal}", fixture.file))
            }
        }
    }

    // Assert
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The functions whose route runs without the authorizer (`Auth: Authorizer: NONE`).
fn public_binaries() -> BTreeSet<String> {
    switchboard_local::template::routes(switchboard_local::template::TEMPLATE)
        .expect("the template's routes")
        .into_iter()
        .filter(|route| !route.authorized)
        .map(|route| route.binary)
        .collect()
}

#[test]
fn a_public_routes_fixture_carries_no_token_and_no_authorizer_context() {
    // Arrange
    let public = public_binaries();
    assert!(public.contains("dashboard-health"), "the health probe is public: {public:?}");

    // Act
    let carrying: Vec<String> = rest_fixtures()
        .into_iter()
        .filter(|fixture| public.contains(&fixture.binary))
        .filter(|fixture| {
            let event = fixture.event();
            event["headers"].get("Authorization").is_some()
                || event["requestContext"].get("authorizer").is_some()
        })
        .map(|fixture| fixture.file)
        .collect();

    // Assert: API Gateway hands such a route neither (the handler must not need them).
    assert!(carrying.is_empty(), "public fixtures with a token or an authorizer context: {carrying:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unblock_fixture_lifts_an_existing_block() {
    // Arrange
    let fixture = fixture_named("chat-unblock-user.json");
    let function =
        functions().remove(fixture.binary.as_str()).expect("chat-unblock-user is a gateway function");
    let world = World::seeded().await;
    let block = Block {
        user_id: user(BLOCKED_USER),
        blocked_by: user(AGENT),
        reason: Some("spam".into()),
        blocked_at: datetime!(2026-01-01 11:00 UTC),
    };
    let block = blocks::put_new(&block).expect("block op").named("block");
    world.store.transact_write(vec![block]).await.expect("seed a block");

    // Act
    let answer = invoke(&world, &function, &fixture).await.expect("the fixture is a REST event");

    // Assert
    assert_eq!(answer.status, 200, "body: {}", answer.text);
    let remaining = blocks::get(world.store(), &user(BLOCKED_USER)).await.expect("read the block");
    assert_eq!(remaining, None, "the block outlived the unblock fixture");
}

// ---------------------------------------------------------------------------------------------
// Authorizer fixtures
// ---------------------------------------------------------------------------------------------

/// `sub` and `role` of a JWT, read straight from its payload (not through the verifier).
fn claims_of(token: &str) -> (String, String) {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("a base64url payload");
    let claims: Value = serde_json::from_slice(&bytes).expect("a JSON payload");
    let field =
        |name: &str| claims[name].as_str().unwrap_or_else(|| panic!("the token has no {name}")).to_owned();
    (field("sub"), field("role"))
}

fn allows_invoke(answer: &AuthorizerResponse, method_arn: &str) -> bool {
    answer.policy_document.statement.iter().any(|statement| {
        statement.effect == "Allow"
            && statement.action == "execute-api:Invoke"
            && (statement.resource == method_arn
                || statement.resource.strip_suffix('*').is_some_and(|prefix| method_arn.starts_with(prefix)))
    })
}

/// The event with its token's signature changed (its first character, which carries six bits
/// of the signature, so the change cannot fall into base64 padding).
fn with_changed_signature(fixture: &Fixture) -> (String, Value) {
    let event = fixture.event();
    let token =
        token_of(&event).unwrap_or_else(|| panic!("events/{} carries no token", fixture.file)).to_owned();
    let (signed, signature) = token.rsplit_once('.').expect("a JWT has a signature");
    let first = signature.chars().next().expect("a non-empty signature");
    let changed = format!("{signed}.{}{}", if first == 'A' { 'B' } else { 'A' }, &signature[1..]);
    let tampered: Value =
        serde_json::from_str(&fixture.text.replace(&token, &changed)).expect("the tampered event is JSON");
    (changed, tampered)
}

#[test]
fn every_authorizer_fixture_is_allowed_for_the_user_and_role_of_its_token() {
    // Arrange
    let verifier = verifier();
    let fixtures = authorizer_fixtures();
    assert!(!fixtures.is_empty(), "events/ has no {AUTHORIZER} fixture");

    for fixture in &fixtures {
        let event = fixture.event();
        let token = token_of(&event).unwrap_or_else(|| panic!("events/{} carries no token", fixture.file));
        let (sub, role) = claims_of(token);
        let method_arn =
            event["methodArn"].as_str().unwrap_or_else(|| panic!("events/{} has no methodArn", fixture.file));

        // Act
        let answer = authorize(&verifier, &event)
            .unwrap_or_else(|refusal| panic!("events/{} is refused: {refusal}", fixture.file));

        // Assert
        assert_eq!(answer.context.user_id, sub, "events/{}: userId", fixture.file);
        assert_eq!(answer.context.role, role, "events/{}: role", fixture.file);
        assert_eq!(answer.principal_id, sub, "events/{}: principalId", fixture.file);
        assert!(
            allows_invoke(&answer, method_arn),
            "events/{}: the policy does not allow execute-api:Invoke on {method_arn}: {:?}",
            fixture.file,
            answer.policy_document
        );
    }
}

#[test]
fn every_authorizer_fixture_is_refused_once_its_tokens_signature_is_changed() {
    // Arrange
    let verifier = verifier();
    let fixtures = authorizer_fixtures();
    assert!(!fixtures.is_empty(), "events/ has no {AUTHORIZER} fixture");

    for fixture in &fixtures {
        let (changed, tampered) = with_changed_signature(fixture);
        assert_eq!(
            token_of(&tampered),
            Some(changed.as_str()),
            "events/{}: the token was not replaced",
            fixture.file
        );

        // Act
        let outcome = authorize(&verifier, &tampered);

        // Assert
        assert!(outcome.is_err(), "events/{}: a changed signature was accepted: {outcome:?}", fixture.file);
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket fixtures
// ---------------------------------------------------------------------------------------------

fn connection(id: &str) -> ConnectionId {
    ConnectionId::parse(id).expect("a connection id")
}

/// The frame a WebSocket handler answered (`Null` for none), or why it could not run.
async fn invoke_ws(world: &World, function: &WsFunction, fixture: &Fixture) -> Result<(u16, Value), String> {
    let request = lambda_http::request::from_str(&fixture.text)
        .map_err(|error| format!("is not an API Gateway WebSocket event: {error}"))?;
    let response = dispatch_ws(&world.app_for(function.name), function, request).await;
    let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
    let frame = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?
    };
    Ok((response.status().as_u16(), frame))
}

/// What each WebSocket fixture must have done to the fixture world.
async fn check_ws_effect(binary: &str, world: &World, frame: &Value, event: &Value) -> Result<(), String> {
    let connection_id = event["requestContext"]["connectionId"].as_str().unwrap_or_default();
    let body: Value =
        event["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    let store = world.store();
    match binary {
        "realtime-connect" => {
            let stored =
                connections::get(store, &connection(connection_id)).await.map_err(|e| e.to_string())?;
            ensure!(frame.is_null(), "$connect replied {frame}");
            ensure!(
                stored.is_some_and(|c| c.user_id == user(CUSTOMER)),
                "no connection record for {connection_id}"
            );
        }
        "realtime-disconnect" => {
            let stored =
                connections::get(store, &connection(connection_id)).await.map_err(|e| e.to_string())?;
            ensure!(stored.is_none(), "the connection {connection_id} is still stored");
        }
        "realtime-default" => {
            ensure!(frame["type"] == "error" && frame["code"] == "unknown_action", "replied {frame}");
            ensure!(frame["ref"] == body["ref"], "the ref was not echoed: {frame}");
        }
        "realtime-subscribe" => {
            ensure!(frame["type"] == "subscribed", "replied {frame}");
            ensure!(frame["session"]["id"] == ACTIVE_SESSION, "subscribed to {}", frame["session"]["id"]);
            let subscribed =
                connections::is_subscribed(store, &connection(connection_id), &session_id(ACTIVE_SESSION))
                    .await
                    .map_err(|e| e.to_string())?;
            ensure!(subscribed, "no subscription was stored");
        }
        "realtime-send-message" => {
            ensure!(frame["type"] == "message.created", "replied {frame}");
            ensure!(frame["message"]["body"] == body["body"], "replied {frame}");
            let stored = world.messages(ACTIVE_SESSION).await;
            ensure!(
                stored.iter().any(|m| m.body.as_deref() == body["body"].as_str()),
                "the message was not stored"
            );
            // The agent's seeded connection is unknown to the gateway: the post found it gone.
            let agent =
                connections::get(store, &connection(AGENT_CONNECTION)).await.map_err(|e| e.to_string())?;
            ensure!(agent.is_none(), "the gone connection of the agent was not pruned");
        }
        "realtime-typing" => {
            // The limit is the function's own memory, not a write: the same frame again at once
            // is refused.
            let function = ws_functions().remove(binary).ok_or("no typing function")?;
            let again = lambda_http::request::from_str(&event.to_string()).map_err(|e| e.to_string())?;
            let response = dispatch_ws(&world.app_for(function.name), &function, again).await;
            let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
            ensure!(
                text.contains("\"rate_limited\""),
                "a second typing start at once was not refused: {text}"
            );
        }
        "realtime-mark-read" => {
            let marker = sessions::read_marker(store, &session_id(ACTIVE_SESSION), &user(AGENT))
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                marker.is_some_and(|m| m.last_read_message_id == message_id(MESSAGE)),
                "the agent's read marker did not move to the message"
            );
        }
        "realtime-ping" => {
            ensure!(frame["type"] == "pong" && frame["ref"] == body["ref"], "replied {frame}");
        }
        "realtime-subscribe-dashboard" => {
            ensure!(frame["type"] == "dashboard.metrics" && frame["ref"] == body["ref"], "replied {frame}");
            ensure!(frame["metrics"]["agents_away"] == 2, "replied {frame}");
            let listeners = connections::dashboard_subscribers(store, time::OffsetDateTime::now_utc())
                .await
                .map_err(|e| e.to_string())?;
            ensure!(
                listeners.iter().any(|l| l.connection_id.as_str() == connection_id),
                "no dashboard subscription was stored"
            );
        }
        other => return Err(format!("no expected effect is written down for {other}")),
    }
    if !matches!(binary, "realtime-connect" | "realtime-default" | "realtime-ping" | "realtime-subscribe") {
        ensure!(frame.is_null() || frame["type"] != "error", "replied with an error: {frame}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_websocket_fixture_succeeds_against_a_freshly_seeded_world_and_has_its_effect() {
    let functions = ws_functions();
    let fixtures = websocket_fixtures();
    assert_eq!(fixtures.len(), functions.len(), "one fixture per WebSocket function");
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let Some(function) = functions.get(fixture.binary.as_str()) else {
            failures.push(format!("events/{}: no WebSocket function of that name", fixture.file));
            continue;
        };
        let world = World::seeded().await;
        let outcome = match invoke_ws(&world, function, fixture).await {
            Ok((200, frame)) => check_ws_effect(&fixture.binary, &world, &frame, &fixture.event()).await,
            Ok((status, frame)) => Err(format!("answered {status}: {frame}")),
            Err(problem) => Err(problem),
        };
        if let Err(problem) = outcome {
            failures.push(format!("events/{}: {problem}", fixture.file));
        }
    }
    assert!(failures.is_empty(), "{} WebSocket fixtures failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeded_world_holds_the_connections_the_websocket_fixtures_name() {
    let world = World::seeded().await;
    for (id, owner) in [(CUSTOMER_CONNECTION, CUSTOMER), (AGENT_CONNECTION, AGENT)] {
        let stored = connections::get(world.store(), &connection(id)).await.expect("read a connection");
        assert_eq!(stored.map(|c| c.user_id), Some(user(owner)), "connection {id}");
    }
}

/// The job once every recipient is counted: polled a bounded number of times while the
/// in-process queue works on it.
async fn job_when_done(store: &dyn ItemStore, id: &JobId) -> Result<JobRecord, String> {
    for _ in 0..200 {
        let job = jobs::get(store, id).await.map_err(|e| e.to_string())?.ok_or("the job is not stored")?;
        if job.sent + job.failed + job.skipped >= job.total {
            return Ok(job);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Err(format!("job {id} was not done after 200 polls"))
}

// ---------------------------------------------------------------------------------------------
// Bucket fixtures (EventBridge events of the attachments bucket)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attachment_check_fixture_makes_the_uploaded_screenshot_ready() {
    // Arrange
    let fixture = fixture_named("attachments-check.json");
    let world = World::seeded().await;
    let key = format!("attachments/{ACTIVE_SESSION}/{PENDING_ATTACHMENT}");
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\x0aIDATx\x9cc\0\x01\0\0\x05\0\x01\x0d\x0a\x2d\xb4\0\0\0\0IEND\xaeB\x60\x82";
    world.attachment_files.put(&key, png.to_vec(), "image/png").await.expect("the upload");

    // Act
    let app = world.app_for(switchboard_attachments::CHECK);
    let answer =
        switchboard_attachments::check(&app, world.attachment_files.as_ref(), Scanner::None, fixture.event())
            .await
            .expect("the check runs");

    // Assert
    assert_eq!(answer["checked"][0]["status"], "ready", "{answer}");
    let id = AttachmentId::parse(PENDING_ATTACHMENT).expect("an attachment id");
    let stored = attachments::get(world.store(), &session_id(ACTIVE_SESSION), &id)
        .await
        .expect("read it")
        .expect("stored");
    assert_eq!(stored.status, AttachmentStatus::Ready);
}

// ---------------------------------------------------------------------------------------------
// Mail fixtures (SES receiving's receipt events)
// ---------------------------------------------------------------------------------------------

/// The inbound bucket of the mail fixture: the one message SES stored there, under its key (the
/// AWS bucket itself is read in `email_inbound_aws.rs`).
struct StoredMail {
    key: String,
    raw: Vec<u8>,
}

#[async_trait::async_trait]
impl AttachmentObjects for StoredMail {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        Ok((key == self.key).then(|| self.raw.clone()))
    }

    async fn put(&self, key: &str, _: Vec<u8>, _: &str) -> Result<(), AttachmentStoreError> {
        Err(AttachmentStoreError::Backend(format!("the inbound bucket is only read, not written ({key})")))
    }

    async fn put_unchecked(&self, key: &str, _: Vec<u8>, _: &str) -> Result<(), AttachmentStoreError> {
        Err(AttachmentStoreError::Backend(format!("the inbound bucket is only read, not written ({key})")))
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        Err(AttachmentStoreError::Backend(format!(
            "the inbound bucket is only read, not deleted from ({key})"
        )))
    }

    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError> {
        Err(AttachmentStoreError::Backend(format!("the inbound bucket's tags are not used ({key})")))
    }

    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError> {
        Err(AttachmentStoreError::Backend(format!("the inbound bucket's tags are not used ({key})")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbound_mail_fixture_posts_graces_reply_once_however_often_it_is_delivered() {
    // Arrange: the reply SES stored under the key the event names.
    let fixture = fixture_named("email-inbound.json");
    let world = World::seeded().await;
    let event = fixture.event();
    let ses_message_id = event["Records"][0]["ses"]["mail"]["messageId"].as_str().expect("a message id");
    let raw = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/email/grace-reply.eml"))
        .expect("the stored reply");
    let bucket =
        StoredMail { key: format!("{}{ses_message_id}", switchboard_email::inbound::MAIL_PREFIX), raw };
    let app = world.app_for(switchboard_email::inbound::INBOUND);

    // Act
    let receive = || switchboard_email::inbound::receive_event(&app, &bucket, event.clone());
    let first = receive().await.expect("the first delivery");
    let again = receive().await.expect("the second delivery");

    // Assert: posted once, as Grace's message, in a new session of hers (…0E was closed on
    // 2026-01-01, more than the week a reply reopens a session in).
    assert_eq!(first["received"][0]["outcome"], "posted", "{first}");
    assert_eq!(first["received"][0]["new_session"], true, "{first}");
    assert_eq!(again["received"][0]["outcome"], "duplicate", "{again}");
    let session = first["received"][0]["session_id"].as_str().expect("the session posted in");
    let posted = world.messages(session).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].sender_id, user(VISITOR));
    assert_eq!(posted[0].body.as_deref(), Some("Thanks Bob, then please send it to Madrid."));
    assert_eq!(world.session(session).await.subject, "Re: Shipping to Spain?");
}

// ---------------------------------------------------------------------------------------------
// Queue fixtures (SQS events, and the SNS topic of SES's reports)
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_events_fixture_marks_graces_email_bounced_and_stops_her_email_however_often_it_comes() {
    // Arrange: the sweep fixture's run sends Grace her e-mail (the burst ending at Bob's reply).
    let fixture = fixture_named("email-events.json");
    let world = World::seeded().await;
    let sweep = fixture_named("email-sweep.json");
    let sent =
        dispatch_scheduled(&world.app_for("email-sweep"), &switchboard_email::EMAIL_SWEEP, sweep.event())
            .await
            .expect("the sweep runs");
    assert_eq!(sent["sent"], 1, "{sent}");
    let events = switchboard_email::EMAIL_EVENTS;
    let app = world.app_for(events.name);

    // Act: SNS delivers the bounce twice.
    let first = (events.handler)(&app, fixture.event()).await.expect("the first delivery");
    let again = (events.handler)(&app, fixture.event()).await.expect("the second delivery");

    // Assert: her e-mail is bounced, with the remote server's answer, and her address takes no
    // more e-mail.
    assert_eq!(first, serde_json::json!({"recorded": 1, "passed": 0}));
    assert_eq!(again, first);
    let reply = switchboard_shared::domain::MessageId::parse(VISITOR_REPLY).expect("an id");
    let stored = email::get_sent(world.store(), &session_id(VISITOR_SESSION), &reply)
        .await
        .expect("read the e-mail")
        .expect("Grace's e-mail");
    assert_eq!(stored.status, email::SentStatus::Bounced);
    assert!(stored.detail.as_deref().is_some_and(|detail| detail.contains("User unknown")), "{stored:?}");
    let suppressed = email::suppression(world.store(), "grace@example.com").await.expect("read the address");
    assert_eq!(suppressed.map(|address| address.reason), Some(email::Undeliverable::Bounced));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_worker_fixture_pushes_its_chunk_once_however_often_it_is_delivered() {
    // Arrange
    let fixture = fixture_named("notifications-bulk-worker.json");
    let world = World::seeded().await;
    let id = JobId::parse(BULK_JOB).expect("a job id");

    // Act
    let first = (BULK_WORKER.handler)(&world.app, fixture.event()).await.expect("the first delivery");
    let again = (BULK_WORKER.handler)(&world.app, fixture.event()).await.expect("the second delivery");

    // Assert
    assert_eq!(first, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(again, serde_json::json!({"batchItemFailures": []}));
    let job = jobs::get(world.store(), &id).await.expect("read the job").expect("the job");
    assert_eq!(
        (job.sent, job.skipped, job.failed, job.total),
        (1, 1, 0, 2),
        "agent-bob counted once, skipped"
    );
    let (logs, _) =
        deliveries::list(world.store(), &LogListing::Job(BULK_JOB.to_owned()), 50, None).await.expect("logs");
    assert_eq!(logs.len(), 1, "one delivery log for agent-bob: {logs:?}");
    assert_eq!(logs[0].status, DeliveryStatus::SkippedNoDevice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_changes_fixture_counts_its_message_once_however_often_it_is_delivered() {
    // Arrange
    let fixture = fixture_named("changes-process.json");
    let world = World::seeded().await;
    let day = time::Date::from_calendar_date(2026, time::Month::January, 1).expect("a day");
    let before = switchboard_shared::repo::stats::day(world.store(), day).await.expect("the day's counters");

    // Act
    let first = (PROCESS.handler)(&world.app, fixture.event()).await.expect("the first delivery");
    let again = (PROCESS.handler)(&world.app, fixture.event()).await.expect("the second delivery");

    // Assert
    assert_eq!(first, serde_json::json!({"batchItemFailures": [], "state": {}}));
    assert_eq!(again, serde_json::json!({"batchItemFailures": [], "state": {}}));
    let after = switchboard_shared::repo::stats::day(world.store(), day).await.expect("the day's counters");
    assert_eq!(after.get("messages_customer") - before.get("messages_customer"), 1, "counted once");
    assert_eq!(after.get("messages_h12_customer") - before.get("messages_h12_customer"), 1, "in its hour");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_stream_record_is_answered_as_the_batch_item_failure() {
    // Arrange: a record without keys, after one that reads.
    let world = World::seeded().await;
    let mut event = fixture_named("changes-process.json").event();
    let mut broken = event["Records"][0].clone();
    broken["dynamodb"]["Keys"] = serde_json::Value::Null;
    broken["dynamodb"]["SequenceNumber"] = "4421584500000000017450439092".into();
    event["Records"].as_array_mut().expect("records").push(broken);

    // Act
    let answer = (PROCESS.handler)(&world.app, event).await.expect("a stream event");

    // Assert
    assert_eq!(
        answer,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439092"}], "state": {}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bulk_worker_reports_an_unreadable_message_as_a_batch_item_failure() {
    // Arrange
    let world = World::seeded().await;
    let event = serde_json::json!({"Records": [{"messageId": "m-1", "body": "not a chunk"}]});

    // Act
    let answer = (BULK_WORKER.handler)(&world.app, event).await.expect("an SQS event");

    // Assert
    assert_eq!(answer, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]}));
}

// ---------------------------------------------------------------------------------------------
// Scheduled fixtures (EventBridge scheduled events)
// ---------------------------------------------------------------------------------------------

/// Whether a scheduled run did its work.
async fn check_scheduled_effect(binary: &str, world: &World, answer: &Value) -> Result<(), String> {
    match binary {
        "email-sweep" => {
            ensure!(answer["sent"] == 1, "the sweep sent {} e-mails: {answer}", answer["sent"]);
            let mail_dir = world._dir.path().join("mail");
            let sent: Vec<String> = fs::read_dir(&mail_dir)
                .map_err(|e| format!("{}: {e}", mail_dir.display()))?
                .filter_map(|entry| fs::read_to_string(entry.ok()?.path()).ok())
                .collect();
            ensure!(sent.len() == 1, "{} e-mails written", sent.len());
            ensure!(
                sent[0].contains("grace@example.com") && sent[0].contains("List-Unsubscribe-Post"),
                "not Grace's e-mail: {}",
                sent[0]
            );
            let left = email::pending(world.store(), &session_id(VISITOR_SESSION))
                .await
                .map_err(|e| e.to_string())?;
            ensure!(left.is_none(), "the pending e-mail is left: {left:?}");
        }
        "analytics-rollup" => {
            let today = switchboard_shared::domain::now().date();
            let from = today - time::Duration::days(2);
            let built = rollups::built(world.store(), from, today).await.map_err(|e| e.to_string())?;
            ensure!(built.len() == 3, "{} of today and the two days before are built", built.len());
            ensure!(
                answer["days"].as_array().is_some_and(|days| days.len() >= 3),
                "days not reported: {answer}"
            );
        }
        "reports-daily" => {
            // Fired 2026-01-02 00:15: the day before is built again, the six before it for the
            // first time, and first of all the day whose figures became final (9 days before).
            let built: Vec<&str> = answer["built"]
                .as_array()
                .map(|built| built.iter().filter_map(|report| report["id"].as_str()).collect())
                .unwrap_or_default();
            ensure!(
                built.len() == 8
                    && built.first() == Some(&"daily-2025-12-24")
                    && built.last() == Some(&DAILY_REPORT),
                "built {built:?}: {answer}"
            );
            let id: ReportId = DAILY_REPORT.parse().map_err(|e: InvalidValue| e.to_string())?;
            let bytes =
                world.reports.get(&id).await.map_err(|e| e.to_string())?.ok_or("the report is not stored")?;
            ensure!(bytes.starts_with(b"%PDF-"), "the stored report is not a PDF");
            let rollup =
                rollups::built(world.store(), id.day(), id.day()).await.map_err(|e| e.to_string())?;
            ensure!(rollup.len() == 1, "the day was not rolled up before its report");
        }
        "routing-sweep" => {
            // The seeded world has one waiting and one active session and no counters yet; its
            // agents are away, so nothing is routed.
            let live = stats::live(world.store()).await.map_err(|e| e.to_string())?;
            ensure!(live == stats::Live { waiting: 1, active: 1 }, "live counters {live:?}: {answer}");
            ensure!(
                answer["counters_corrected"] == true && answer["routed"] == 0,
                "not reported as corrected and nothing routed: {answer}"
            );
        }
        other => return Err(format!("no check for the scheduled function {other}")),
    }
    Ok(())
}

#[tokio::test]
async fn every_scheduled_fixture_is_an_eventbridge_scheduled_event_and_its_run_does_its_work() {
    // Arrange
    let fixtures = scheduled_fixtures();
    assert!(!fixtures.is_empty(), "no scheduled fixture");

    // Act
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let event = fixture.event();
        let shape = event["detail-type"] == "Scheduled Event" && event["source"] == "aws.events";
        let Some(function) = scheduled().into_iter().find(|function| function.name == fixture.binary) else {
            continue;
        };
        let world = World::seeded().await;
        let outcome = match dispatch_scheduled(&world.app_for(function.name), &function, event.clone()).await
        {
            Ok(answer) if shape => check_scheduled_effect(&fixture.binary, &world, &answer).await,
            Ok(_) => Err("is not an EventBridge scheduled event".to_owned()),
            Err(error) => Err(format!("failed: {error}")),
        };
        if let Err(problem) = outcome {
            failures.push(format!("events/{}: {problem}", fixture.file));
        }
    }

    // Assert
    assert!(failures.is_empty(), "scheduled fixtures failed:\n{}", failures.join("\n"));
}

#[test]
fn every_scheduled_function_has_a_fixture() {
    let covered: BTreeSet<String> = scheduled_fixtures().into_iter().map(|fixture| fixture.binary).collect();
    let missing: Vec<&str> =
        scheduled().iter().map(|f| f.name).filter(|name| !covered.contains(*name)).collect();
    assert!(missing.is_empty(), "scheduled functions without an events/<binary>.json fixture: {missing:?}");
}
