//! One customer and one agent hold a whole support session through the public HTTP API, from
//! the room the customer picks to the closed session in their history, on each storage backend.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::Role;
use switchboard_tests::{id_of, ids, Backend, TestApi};

const ADMIN: &str = "admin-ada";
const CUSTOMER: &str = "customer-carla";
const AGENT: &str = "agent-alex";

#[tokio::test]
async fn a_customer_and_an_agent_hold_a_session_on_sqlite() {
    let api = TestApi::start(Backend::Sqlite).await;
    walkthrough(&api).await;
}

#[tokio::test]
async fn a_customer_and_an_agent_hold_a_session_on_dynamodb() {
    let api = TestApi::start(Backend::DynamoDb).await;
    walkthrough(&api).await;
}

async fn send(api: &TestApi, sender: &str, role: Role, session: &str, body: Value) -> (u16, Value) {
    let mut request = body;
    request["session_id"] = json!(session);
    let reply = api.as_user(sender, role, Method::POST, "/chat/messages", Some(request)).await;
    (reply.status, reply.body)
}

/// Sends a message that must be stored now; returns its id.
async fn say(api: &TestApi, sender: &str, role: Role, session: &str, body: Value) -> String {
    let (status, message) = send(api, sender, role, session, body).await;
    assert_eq!(status, 201, "{sender} sends a message: {message}");
    assert_eq!(message["sender_id"], sender);
    message["id"].as_str().expect("a message has an id").to_owned()
}

async fn walkthrough(api: &TestApi) {
    // An admin opens a room for billing questions.
    let room = api
        .as_user(
            ADMIN,
            Role::Admin,
            Method::POST,
            "/chat/rooms",
            Some(json!({"name": "Billing", "description": "Invoices and refunds"})),
        )
        .await;
    assert_eq!(room.status, 201, "admin creates a room: {:?}", room.body);
    let room_id = id_of(&room);

    // The customer finds the room and opens a session in it.
    let rooms = api.as_user(CUSTOMER, Role::Customer, Method::GET, "/chat/rooms", None).await;
    assert_eq!(rooms.status, 200);
    assert_eq!(ids(&rooms), [room_id.as_str()], "the customer sees the one room");

    let opened = api
        .as_user(
            CUSTOMER,
            Role::Customer,
            Method::POST,
            "/chat/sessions",
            Some(json!({"subject": "I was charged twice", "priority": "high", "room_id": room_id})),
        )
        .await;
    assert_eq!(opened.status, 201, "customer opens a session: {:?}", opened.body);
    assert_eq!(opened.body["status"], "waiting");
    assert_eq!(opened.body["room_id"], room_id.as_str());
    assert_eq!(opened.body["customer_id"], CUSTOMER);
    assert_eq!(opened.body["agent_id"], Value::Null);
    let session = id_of(&opened);

    // The agent finds it in the waiting queue and takes it.
    let queue = api.as_user(AGENT, Role::Agent, Method::GET, "/chat/sessions?status=waiting", None).await;
    assert_eq!(queue.status, 200);
    assert_eq!(ids(&queue), [session.as_str()], "the queue holds the new session");

    switchboard_tests::on_duty(api, AGENT).await;
    let taken = api
        .as_user(
            AGENT,
            Role::Agent,
            Method::POST,
            &format!("/admin/chat-dashboard/sessions/{session}/assign"),
            Some(json!({})),
        )
        .await;
    assert_eq!(taken.status, 200, "agent takes the session: {:?}", taken.body);
    assert_eq!(taken.body["status"], "active");
    assert_eq!(taken.body["agent_id"], AGENT);

    // They talk; the customer's app retries one send after a dropped connection.
    let mut sent = vec![
        say(
            api,
            CUSTOMER,
            Role::Customer,
            &session,
            json!({"body": "Hello, I was charged twice for March", "client_message_id": "carla-1"}),
        )
        .await,
    ];
    sent.push(say(api, AGENT, Role::Agent, &session, json!({"body": "Sorry about that, let me look"})).await);
    sent.push(
        say(
            api,
            CUSTOMER,
            Role::Customer,
            &session,
            json!({"body": "The invoice is INV-1042", "client_message_id": "carla-2"}),
        )
        .await,
    );
    let (retry_status, retried) = send(
        api,
        CUSTOMER,
        Role::Customer,
        &session,
        json!({"body": "The invoice is INV-1042", "client_message_id": "carla-2"}),
    )
    .await;
    assert_eq!(retry_status, 200, "a retried send is answered with the original: {retried}");
    assert_eq!(retried["id"], sent[2].as_str(), "the retry returns the original message");
    sent.push(say(api, AGENT, Role::Agent, &session, json!({"body": "Found it, refunding now"})).await);
    sent.push(
        say(
            api,
            CUSTOMER,
            Role::Customer,
            &session,
            json!({"body": "Oops, wrong window", "client_message_id": "carla-3"}),
        )
        .await,
    );
    sent.push(say(api, AGENT, Role::Agent, &session, json!({"body": "The refund is on its way"})).await);

    // The agent pages through the conversation two at a time and sees each message once, in the
    // order of the whole list.
    let whole = api
        .as_user(AGENT, Role::Agent, Method::GET, &format!("/chat/messages/{session}?limit=200"), None)
        .await;
    assert_eq!(whole.status, 200);
    let listed = ids(&whole);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=sent.len() {
        let path = match &cursor {
            Some(cursor) => format!("/chat/messages/{session}?limit=2&cursor={cursor}"),
            None => format!("/chat/messages/{session}?limit=2"),
        };
        let page = api.as_user(AGENT, Role::Agent, Method::GET, &path, None).await;
        assert_eq!(page.status, 200, "agent reads a page: {:?}", page.body);
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2, "a page holds at most its limit");
        paged.extend(page_ids);
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "paging ends");
    assert_eq!(paged, listed, "the pages together are the whole list, in its order");
    let mut each_once = paged.clone();
    each_once.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(each_once, expected, "every message once, the retry not among them");

    // The customer corrects one message and takes back another.
    let edited = api
        .as_user(
            CUSTOMER,
            Role::Customer,
            Method::PATCH,
            &format!("/chat/messages/{session}/{}", sent[2]),
            Some(json!({"body": "The invoice is INV-1043"})),
        )
        .await;
    assert_eq!(edited.status, 200, "customer edits their message: {:?}", edited.body);
    assert_eq!(edited.body["body"], "The invoice is INV-1043");
    assert!(edited.body["edited_at"].is_string(), "an edit is stamped");

    let deleted = api
        .as_user(
            CUSTOMER,
            Role::Customer,
            Method::DELETE,
            &format!("/chat/messages/{session}/{}", sent[4]),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "customer deletes their message: {:?}", deleted.body);
    assert_eq!(deleted.body["deleted"], true);
    assert_eq!(deleted.body["body"], Value::Null);

    // The agent reconnects and resyncs from the first message.
    let first = listed.iter().position(|id| *id == sent[0]).expect("the first message is listed");
    let resync = api
        .as_user(
            AGENT,
            Role::Agent,
            Method::GET,
            &format!("/chat/messages/{session}?after={}", sent[0]),
            None,
        )
        .await;
    assert_eq!(resync.status, 200);
    assert_eq!(ids(&resync), listed[first + 1..], "only the messages listed after the one given");
    let resynced = |id: &str| {
        resync.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|m| m["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} is in the resync: {:?}", resync.body))
    };
    assert_eq!(resynced(&sent[2])["body"], "The invoice is INV-1043", "the resync shows the edit");
    let tombstone = resynced(&sent[4]);
    assert_eq!(tombstone["deleted"], true, "the resync shows the tombstone");
    assert_eq!(tombstone["body"], Value::Null, "a tombstone has no body");

    // Both mark the conversation read.
    let last = sent.last().expect("messages were sent");
    for (user, role) in [(CUSTOMER, Role::Customer), (AGENT, Role::Agent)] {
        let read = api
            .as_user(
                user,
                role,
                Method::POST,
                &format!("/chat/sessions/{session}/read"),
                Some(json!({"message_id": last})),
            )
            .await;
        assert_eq!(read.status, 200, "{user} marks read: {:?}", read.body);
        assert_eq!(read.body["last_read_message_id"], last.as_str());
        assert_eq!(read.body["user_id"], user);
    }

    // Both take part.
    let participants = api
        .as_user(
            CUSTOMER,
            Role::Customer,
            Method::GET,
            &format!("/chat/sessions/{session}/participants"),
            None,
        )
        .await;
    assert_eq!(participants.status, 200);
    let mut who: Vec<(String, String)> = participants.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            (p["user_id"].as_str().unwrap_or_default().into(), p["role"].as_str().unwrap_or_default().into())
        })
        .collect();
    who.sort();
    assert_eq!(who, [(AGENT.into(), "agent".into()), (CUSTOMER.into(), "customer".into())]);

    // The customer closes the session; nothing more can be said in it.
    let closed = api
        .as_user(CUSTOMER, Role::Customer, Method::POST, &format!("/chat/sessions/{session}/close"), None)
        .await;
    assert_eq!(closed.status, 200, "customer closes: {:?}", closed.body);
    assert_eq!(closed.body["status"], "closed");
    assert!(closed.body["closed_at"].is_string(), "a closed session says when");

    let (late_status, late) =
        send(api, AGENT, Role::Agent, &session, json!({"body": "Anything else?"})).await;
    assert_eq!(late_status, 409, "no messages after closing: {late}");
    assert_eq!(late["error"]["code"], "session_closed");

    // The customer's history shows the session, closed.
    let history = api.as_user(CUSTOMER, Role::Customer, Method::GET, "/chat/sessions", None).await;
    assert_eq!(history.status, 200);
    let items = history.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "one session in the history: {:?}", history.body);
    assert_eq!(items[0]["id"], session.as_str());
    assert_eq!(items[0]["status"], "closed");
}
