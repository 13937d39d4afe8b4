//! The fixture world of `events/README.md`: the records every `events/*.json` fixture expects,
//! for `cargo lambda invoke` against a seeded table and for the tests that run every fixture.

use std::str::FromStr;

use switchboard_shared::analytics::messages::RoleCounts;
use switchboard_shared::analytics::pdf_reports::pdf::render;
use switchboard_shared::analytics::rollup::DayRollup;
use switchboard_shared::analytics::summaries::Summary;
use switchboard_shared::attachments::{Attachment, AttachmentStatus, AttachmentType};
use switchboard_shared::changes::failed::{self, FailedChange};
use switchboard_shared::changes::{ChangeKind, ChangeRecord};
use switchboard_shared::domain::push::Category;
use switchboard_shared::domain::tools::{CannedResponse, CannedScope, Note, Shortcode};
use switchboard_shared::domain::widget::{IdentitySecrets, Site, SiteInput};
use switchboard_shared::domain::{
    now, AgentState, AgentStatus, Capacity, ConnectionId, InvalidValue, Message, Participant, Principal,
    Priority, Role, Room, Session, SessionStatus, UserId,
};
use switchboard_shared::ops::Notification;
use switchboard_shared::push::{DeviceToken, Platform};
use switchboard_shared::repo::devices::{self, Device};
use switchboard_shared::repo::email::{self, PendingEmail};
use switchboard_shared::repo::jobs::JobRecord;
use switchboard_shared::repo::sites::{SiteRecord, Visitor};
use switchboard_shared::repo::{
    agents, attachments, canned, connections, jobs, messages, notes, rollups, rooms, sessions, sites,
};
use switchboard_shared::reports::{ReportId, ReportStore, PDF_CONTENT_TYPE};
use switchboard_shared::store::{ItemStore, NamedTxOp, TxOp};
use switchboard_shared::ApiError;
use time::macros::datetime;
use time::Duration;

/// The customer of the fixtures.
pub const CUSTOMER: &str = "cust-ada";
/// The agent of the fixtures.
pub const AGENT: &str = "agent-bob";
/// The admin of the fixtures.
pub const ADMIN: &str = "admin-eve";
/// The room.
pub const ROOM: &str = "01JD0000000000000000000001";
/// The active session (customer and agent above, in the room).
pub const ACTIVE_SESSION: &str = "01JD0000000000000000000002";
/// The customer's message in the active session.
pub const MESSAGE: &str = "01JD0000000000000000000003";
/// The customer's waiting session.
pub const WAITING_SESSION: &str = "01JD0000000000000000000004";
/// The customer's open WebSocket connection (not subscribed to anything yet).
pub const CUSTOMER_CONNECTION: &str = "L0SM9cOFvHcCIhw=";
/// The agent's open WebSocket connection, subscribed to the active session.
pub const AGENT_CONNECTION: &str = "L0SNbdLEvHcCFaQ=";
/// The second agent (away, no sessions), whom sessions can be transferred to.
pub const SECOND_AGENT: &str = "agent-cy";
/// The customer's session that the agent closed an hour before seeding (it may still be
/// reopened and rated).
pub const CLOSED_SESSION: &str = "01JD0000000000000000000007";
/// The device token of the customer's registered phone.
pub const CUSTOMER_DEVICE_TOKEN: &str = "fixture-fcm-token-cust-ada-pixel-8";
/// The agent's personal canned response (shortcode `refund`).
pub const CANNED_RESPONSE: &str = "01JD0000000000000000000005";
/// The agent's private note on the active session.
pub const NOTE: &str = "01JD0000000000000000000006";
/// A finished analytics backfill (of 2026-01-01) started by the admin.
pub const BACKFILL_JOB: &str = "01JD0000000000000000000008";
/// A bulk send (an announcement to the customer and the agent) started by the admin: the
/// customer handled (sent), the agent not yet.
pub const BULK_JOB: &str = "01JD0000000000000000000009";

/// The stored daily report (of 2026-01-01, a day without activity).
pub const DAILY_REPORT: &str = "daily-2026-01-01";
/// The fixture world's widget site.
pub const SITE: &str = "01JD000000000000000000000A";
/// The failed change of the fixture world: the seeded message's record, whose reactions failed.
pub const FAILED_CHANGE: &str = "01JD000000000000000000000B";
/// The origin the widget site allows.
pub const SITE_ORIGIN: &str = "https://shop.example";
/// The widget site's identity secret (the identify fixture's signature is made with it).
pub const SITE_IDENTITY_SECRET: &str = "fixture-identity-secret-fixture-identity-secret";
/// A visitor of the widget site who gave an address in the pre-chat form and went away.
pub const VISITOR: &str = "wv:01JD000000000000000000000A:01JD000000000000000000000D";
/// The visitor's session, closed by Bob after his reply.
pub const VISITOR_SESSION: &str = "01JD000000000000000000000E";
/// Bob's reply in it, which the visitor has not read: its e-mail is due at 12:00.
pub const VISITOR_REPLY: &str = "01JD000000000000000000000F";
/// The key the e-mails' unsubscribe links are signed with (the unsubscribe fixtures' `sig` is
/// the visitor's, made with it).
pub const EMAIL_LINK_KEY: &[u8; 32] = b"fixture-email-link-key-32-bytes!";
/// A checked (`ready`) attachment of the customer in the active session.
pub const ATTACHMENT: &str = "01JD000000000000000000000B";
/// An attachment of the customer in the active session whose upload is not checked yet.
pub const PENDING_ATTACHMENT: &str = "01JD000000000000000000000C";

fn id<T: FromStr<Err = InvalidValue>>(text: &str) -> Result<T, ApiError> {
    Ok(text.parse::<T>()?)
}

/// The fixture's writes as one transaction: nothing is there yet, so no condition fails and
/// none needs a name of its own.
fn named(ops: impl IntoIterator<Item = TxOp>) -> Vec<NamedTxOp> {
    ops.into_iter().map(|op| op.named("fixture")).collect()
}

fn user(text: &str) -> Result<UserId, ApiError> {
    id(text)
}

/// Writes the fixture world into `store` (fails if any record exists). The WebSocket
/// connections are stamped now, so their TTL lets them count as live for two hours.
pub async fn seed(store: &dyn ItemStore) -> Result<(), ApiError> {
    let opened = datetime!(2026-01-01 11:50 UTC);
    let assigned = datetime!(2026-01-01 11:52 UTC);
    let sent = datetime!(2026-01-01 11:55 UTC);

    let room = Room {
        id: id(ROOM)?,
        name: "Billing".into(),
        description: Some("Invoices, charges and refunds".into()),
        created_by: user(ADMIN)?,
        created_at: datetime!(2026-01-01 09:00 UTC),
    };
    let active = Session {
        customer_name: Some("Ada".into()),
        agent_id: Some(user(AGENT)?),
        room_id: Some(room.id),
        status: SessionStatus::Active,
        assigned_at: Some(assigned),
        last_message_at: Some(sent),
        message_count: 1,
        last_sender_role: Some(Role::Customer),
        messages_customer: 1,
        ..Session::opened(
            id(ACTIVE_SESSION)?,
            user(CUSTOMER)?,
            "Charged twice".into(),
            Priority::Normal,
            opened,
        )
    };
    let customer = Participant {
        session_id: active.id,
        user_id: user(CUSTOMER)?,
        role: Role::Customer,
        name: Some("Ada".into()),
        joined_at: opened,
    };
    let agent = Participant {
        session_id: active.id,
        user_id: user(AGENT)?,
        role: Role::Agent,
        name: Some("Bob".into()),
        joined_at: assigned,
    };
    let message = Message {
        id: id(MESSAGE)?,
        session_id: active.id,
        sender_id: user(CUSTOMER)?,
        sender_role: Role::Customer,
        body: Some("Hi, I was charged twice.".into()),
        client_message_id: None,
        created_at: sent,
        edited_at: None,
        deleted: false,
        attachments: Vec::new(),
        channel: None,
    };
    let waiting = Session {
        customer_name: Some("Ada".into()),
        ..Session::opened(
            id(WAITING_SESSION)?,
            user(CUSTOMER)?,
            "Change my address".into(),
            Priority::Normal,
            datetime!(2026-01-01 11:58 UTC),
        )
    };
    let waiting_customer = Participant {
        session_id: waiting.id,
        user_id: user(CUSTOMER)?,
        role: Role::Customer,
        name: Some("Ada".into()),
        joined_at: waiting.created_at,
    };

    let mut ops = Vec::from(rooms::put_new(&room)?);
    ops.extend([
        sessions::put_new(&active)?,
        sessions::put_participant(&customer)?,
        sessions::put_participant(&agent)?,
        messages::put_new(&message)?,
        sessions::put_new(&waiting)?,
        sessions::put_participant(&waiting_customer)?,
    ]);
    store.transact_write(named(ops)).await?;

    // Bob is away: he keeps the active session and may take the waiting one, but routing leaves
    // it in the queue, so every fixture finds the world as described.
    let bob_state = AgentState {
        agent_id: user(AGENT)?,
        name: Some("Bob".into()),
        status: AgentStatus::Away,
        capacity: Capacity::new(5)?,
        active_sessions: 1,
        rooms: Vec::new(),
        status_changed_at: assigned,
        last_assigned_at: Some(assigned),
        away_until: None,
        version: 1,
    };
    let cy_state = AgentState {
        agent_id: user(SECOND_AGENT)?,
        name: Some("Cy".into()),
        status: AgentStatus::Away,
        capacity: Capacity::new(3)?,
        active_sessions: 0,
        rooms: Vec::new(),
        status_changed_at: assigned,
        last_assigned_at: None,
        away_until: None,
        version: 1,
    };
    store.transact_write(named([agents::put(&bob_state, None)?, agents::put(&cy_state, None)?])).await?;

    let at = now();
    let closed_at = at - time::Duration::hours(1);
    let closed = Session {
        customer_name: Some("Ada".into()),
        agent_id: Some(user(AGENT)?),
        status: SessionStatus::Closed,
        assigned_at: Some(closed_at - time::Duration::minutes(18)),
        closed_at: Some(closed_at),
        closed_by: Some(user(AGENT)?),
        ..Session::opened(
            id(CLOSED_SESSION)?,
            user(CUSTOMER)?,
            "Reset my password".into(),
            Priority::Normal,
            closed_at - time::Duration::minutes(20),
        )
    };
    let closed_customer = Participant {
        session_id: closed.id,
        user_id: user(CUSTOMER)?,
        role: Role::Customer,
        name: Some("Ada".into()),
        joined_at: closed.created_at,
    };
    store
        .transact_write(named([sessions::put_new(&closed)?, sessions::put_participant(&closed_customer)?]))
        .await?;

    let ada = Principal { user_id: user(CUSTOMER)?, role: Role::Customer, name: Some("Ada".into()) };
    let bob = Principal { user_id: user(AGENT)?, role: Role::Agent, name: Some("Bob".into()) };
    let ada_connection = ConnectionId::parse(CUSTOMER_CONNECTION)?;
    let bob_connection = ConnectionId::parse(AGENT_CONNECTION)?;
    connections::put(store, &connections::new_connection(ada_connection, &ada, at)).await?;
    connections::put(store, &connections::new_connection(bob_connection.clone(), &bob, at)).await?;
    store.transact_write(named(connections::subscribe(&bob_connection, &active.id, &bob, at)?)).await?;

    let token = DeviceToken::parse(CUSTOMER_DEVICE_TOKEN)?;
    let phone = Device {
        device_id: devices::device_id(&token),
        user_id: user(CUSTOMER)?,
        platform: Platform::Android,
        endpoint_arn: "arn:aws:sns:us-east-1:123456789012:endpoint/GCM/switchboard-android/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
            .into(),
        app_version: Some("1.4.0".into()),
        enabled: true,
        registered_at: opened,
        updated_at: opened,
    };
    store.transact_write(named([devices::put(&phone)?])).await?;

    // The seeded message's change record, whose reactions failed while the store was away.
    let key = switchboard_shared::repo::messages::key(&message.session_id, &message.id);
    let mut image = match serde_json::to_value(&message) {
        Ok(serde_json::Value::Object(image)) => image,
        _ => return Err(ApiError::Internal("a message is not a JSON object".into())),
    };
    image.insert("pk".into(), key.pk.clone().into());
    image.insert("sk".into(), key.sk.clone().into());
    let record = ChangeRecord {
        sequence: "1".into(),
        shard: switchboard_shared::store::changes::LOCAL_SHARD.into(),
        kind: ChangeKind::Insert,
        pk: key.pk,
        sk: key.sk,
        old: None,
        new: Some(image),
        at_ms: (sent.unix_timestamp_nanos() / 1_000_000) as i64,
    };
    let kept = FailedChange {
        id: FAILED_CHANGE.into(),
        record,
        error: "store unavailable: the table did not answer in time".into(),
        attempts: 3,
        failed_at: sent,
    };
    failed::put(store, &kept).await?;

    let written = datetime!(2026-01-01 11:56 UTC);
    let refund = CannedResponse {
        id: id(CANNED_RESPONSE)?,
        scope: CannedScope::Personal,
        room_id: None,
        owner_id: user(AGENT)?,
        shortcode: Shortcode::parse("refund")?,
        title: "Refund on its way".into(),
        body: "Hi {{customer.name}}, I have asked for the refund; it shows within 5 business days.".into(),
        created_at: written,
        updated_at: written,
    };
    let note = Note {
        id: id(NOTE)?,
        session_id: active.id,
        author_id: user(AGENT)?,
        author_role: Role::Agent,
        author_name: Some("Bob".into()),
        body: "Two identical charges on the statement; asking billing.".into(),
        created_at: written,
        edited_at: None,
    };
    let mut ops = Vec::from(canned::put_new(&refund)?);
    ops.push(notes::put_new(&note)?);
    store.transact_write(named(ops)).await?;

    let day = written.date();
    let started =
        rollups::Job { id: BACKFILL_JOB.to_owned(), ..rollups::Job::new(day, day, user(ADMIN)?, written) };
    rollups::create_job(store, &started.advanced(0, written)).await?;

    let bulk = JobRecord {
        job_id: id(BULK_JOB)?,
        created_by: user(ADMIN)?,
        created_at: written,
        notification: Notification {
            category: Category::Announcement,
            title: "Maintenance".into(),
            body: "The app is down for maintenance tonight from 02:00 UTC.".into(),
            session_id: None,
            data: Default::default(),
        },
        total: 2,
        sent: 1,
        failed: 0,
        skipped: 0,
        enqueued: true,
        request_hash: String::new(),
    };
    jobs::create(store, &bulk, None).await?;
    jobs::claim_many(store, &bulk.job_id, &[user(CUSTOMER)?], written).await?;

    let settings = SiteInput {
        name: Some("Example shop".into()),
        allowed_origins: Some(vec![SITE_ORIGIN.into()]),
        ..SiteInput::default()
    }
    .apply(None)
    .map_err(|invalid| ApiError::unprocessable(invalid.code, invalid.message))?;
    let site = SiteRecord {
        site: Site { site_id: id(SITE)?, settings, created_at: written, updated_at: written },
        secrets: IdentitySecrets {
            identity_secret: SITE_IDENTITY_SECRET.into(),
            previous_secret: None,
            previous_secret_until: None,
        },
    };
    store.transact_write(sites::put_new(&site)?).await?;

    let attachment = |id_text: &str, name: &str, status: AttachmentStatus| -> Result<Attachment, ApiError> {
        Ok(Attachment {
            id: id(id_text)?,
            session_id: id(ACTIVE_SESSION)?,
            uploader_id: user(CUSTOMER)?,
            file_name: name.into(),
            content_type: AttachmentType::Png,
            size: 67,
            status,
            reason: None,
            message_id: None,
            has_thumbnail: false,
            created_at: sent,
            checked_at: (status == AttachmentStatus::Ready).then_some(sent),
        })
    };
    let ready = attachment(ATTACHMENT, "receipt.png", AttachmentStatus::Ready)?;
    let pending = attachment(PENDING_ATTACHMENT, "screenshot.png", AttachmentStatus::Pending)?;
    store.transact_write(named([attachments::put_new(&ready)?, attachments::put_new(&pending)?])).await?;

    // The site's visitor Grace left her address, asked, got Bob's reply at 11:55 and was gone:
    // the reply is unread, its e-mail due at 12:00 (the sweep fixture fires at 12:01).
    let grace = Visitor {
        user_id: user(VISITOR)?,
        site_id: id(SITE)?,
        name: Some("Grace".into()),
        email: Some("grace@example.com".into()),
        resume_hash: String::new(),
        created_at: opened,
    };
    sites::put_visitor(store, &grace).await?;
    let visit = Session {
        customer_name: Some("Grace".into()),
        agent_id: Some(user(AGENT)?),
        status: SessionStatus::Closed,
        assigned_at: Some(assigned),
        closed_at: Some(datetime!(2026-01-01 11:56 UTC)),
        closed_by: Some(user(AGENT)?),
        last_message_at: Some(sent),
        message_count: 1,
        last_sender_role: Some(Role::Agent),
        messages_agent: 1,
        ..Session::opened(
            id(VISITOR_SESSION)?,
            grace.user_id.clone(),
            "Shipping to Spain?".into(),
            Priority::Normal,
            opened,
        )
    };
    let visit_customer = Participant {
        session_id: visit.id,
        user_id: grace.user_id.clone(),
        role: Role::Customer,
        name: Some("Grace".into()),
        joined_at: opened,
    };
    let reply = Message {
        id: id(VISITOR_REPLY)?,
        session_id: visit.id,
        sender_id: user(AGENT)?,
        sender_role: Role::Agent,
        body: Some("Yes, we ship to Spain in 3 to 5 days.".into()),
        client_message_id: None,
        created_at: sent,
        edited_at: None,
        deleted: false,
        attachments: Vec::new(),
        channel: None,
    };
    store
        .transact_write(named([
            sessions::put_new(&visit)?,
            sessions::put_participant(&visit_customer)?,
            messages::put_new(&reply)?,
        ]))
        .await?;
    let due = PendingEmail::new(visit.id, grace.user_id, reply.id, datetime!(2026-01-01 12:00 UTC));
    email::start(store, &due).await?;
    email::put_link_key(store, EMAIL_LINK_KEY).await?;
    Ok(())
}

/// Stores the fixture world's daily report ([`DAILY_REPORT`]: a day without activity, as the
/// seeded world logged no event) in `reports`, for the report download fixture.
pub async fn seed_reports(reports: &dyn ReportStore) -> Result<(), ApiError> {
    let id: ReportId = id(DAILY_REPORT)?;
    let start = datetime!(2026-01-01 00:00 UTC);
    let built_at = datetime!(2026-01-02 00:15 UTC);
    let day = DayRollup {
        day: id.day(),
        built_at,
        figures: Summary::new(start, start + Duration::DAY, built_at).report(),
        messages: RoleCounts::default(),
        hours: Vec::new(),
    };
    reports.put(&id, render(&day), PDF_CONTENT_TYPE).await?;
    Ok(())
}
