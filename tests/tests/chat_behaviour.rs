//! Chat behaviours one at a time through the public HTTP API: the waiting queue, taking
//! sessions, idempotent and ordered messages, paging, read markers, blocks, edits and deletes,
//! validation and who sees which sessions. The storage-sensitive ones (retries, paging) run on
//! both backends; the races run on SQLite only (see the note on the first of them).

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::Role;
use switchboard_tests::{id_of, ids, Backend, Reply, TestApi};
use tokio::task::JoinSet;

const CUSTOMER: &str = "customer-carla";
const OTHER_CUSTOMER: &str = "customer-otto";
const AGENT: &str = "agent-alex";
const OTHER_AGENT: &str = "agent-bea";
const ADMIN: &str = "admin-ada";

/// Runs a scenario as two tests, one per storage backend.
macro_rules! on_both_backends {
    ($scenario:ident => $on_sqlite:ident, $on_dynamodb:ident) => {
        #[tokio::test]
        async fn $on_sqlite() {
            $scenario(TestApi::start(Backend::Sqlite).await).await;
        }

        #[tokio::test]
        async fn $on_dynamodb() {
            $scenario(TestApi::start(Backend::DynamoDb).await).await;
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Steps the tests share
// ---------------------------------------------------------------------------------------------

async fn open_session_with(api: &TestApi, customer: &str, request: Value) -> Reply {
    api.as_user(customer, Role::Customer, Method::POST, "/chat/sessions", Some(request)).await
}

/// A customer opens a session at a priority; returns its id.
async fn open_session(api: &TestApi, customer: &str, priority: &str) -> String {
    let opened = open_session_with(
        api,
        customer,
        json!({"subject": format!("help at {priority}"), "priority": switchboard_tests::customer_priority(priority)}),
    )
    .await;
    assert_eq!(opened.status, 201, "{customer} opens a session: {:?}", opened.body);
    if priority == "urgent" {
        switchboard_tests::raise_to_urgent(api, &opened.body).await;
    }
    id_of(&opened)
}

async fn take(api: &TestApi, agent: &str, session: &str) -> Reply {
    switchboard_tests::on_duty(api, agent).await;
    api.as_user(
        agent,
        Role::Agent,
        Method::POST,
        &format!("/admin/chat-dashboard/sessions/{session}/assign"),
        Some(json!({})),
    )
    .await
}

/// A session of `CUSTOMER` that `AGENT` has taken.
async fn active_session(api: &TestApi) -> String {
    let session = open_session(api, CUSTOMER, "normal").await;
    let taken = take(api, AGENT, &session).await;
    assert_eq!(taken.status, 200, "the agent takes the session: {:?}", taken.body);
    session
}

async fn send(api: &TestApi, sender: &str, role: Role, session: &str, body: &str) -> Reply {
    api.as_user(
        sender,
        role,
        Method::POST,
        "/chat/messages",
        Some(json!({"session_id": session, "body": body})),
    )
    .await
}

/// `CUSTOMER` sends a message that must be stored; returns its id.
async fn customer_says(api: &TestApi, session: &str, body: &str) -> String {
    let sent = send(api, CUSTOMER, Role::Customer, session, body).await;
    assert_eq!(sent.status, 201, "the customer sends a message: {:?}", sent.body);
    id_of(&sent)
}

/// `CUSTOMER` sends `count` messages one after another; returns their ids in the order sent.
async fn customer_says_many(api: &TestApi, session: &str, count: usize) -> Vec<String> {
    let mut sent = Vec::with_capacity(count);
    for n in 1..=count {
        sent.push(customer_says(api, session, &format!("message {n}")).await);
    }
    sent
}

/// Most messages a test sends while waiting for sends stamped in one millisecond.
const MAX_SENDS: usize = 3000;

/// `CUSTOMER` sends messages one after another until `wanted` consecutive pairs were stamped
/// within one millisecond, or [`MAX_SENDS`] were sent; returns the ids in the order sent.
async fn send_until_pairs_share_a_millisecond(api: &TestApi, session: &str, wanted: usize) -> Vec<String> {
    let mut sent = Vec::new();
    let mut previous: Option<String> = None;
    let mut pairs = 0;
    while pairs < wanted && sent.len() < MAX_SENDS {
        let reply =
            send(api, CUSTOMER, Role::Customer, session, &format!("message {}", sent.len() + 1)).await;
        assert_eq!(reply.status, 201, "the customer sends a message: {:?}", reply.body);
        let stamp = millisecond_of(reply.body["created_at"].as_str().expect("a message has created_at"));
        if previous.as_ref() == Some(&stamp) {
            pairs += 1;
        }
        previous = Some(stamp);
        sent.push(id_of(&reply));
    }
    sent
}

/// An RFC 3339 UTC time to the millisecond: `2025-01-02T03:04:05.678901Z` → `2025-01-02T03:04:05.678`.
fn millisecond_of(stamp: &str) -> String {
    let (seconds, fraction) = stamp.split_once('.').unwrap_or((stamp.trim_end_matches('Z'), ""));
    let digits: String =
        fraction.chars().take_while(char::is_ascii_digit).chain(std::iter::repeat('0')).take(3).collect();
    format!("{seconds}.{digits}")
}

async fn list_messages(api: &TestApi, session: &str, query: &str) -> Reply {
    let listed = api
        .as_user(CUSTOMER, Role::Customer, Method::GET, &format!("/chat/messages/{session}?{query}"), None)
        .await;
    assert_eq!(listed.status, 200, "the customer lists messages ({query}): {:?}", listed.body);
    listed
}

/// Every message of a session, following `next_cursor` page by page; returns the ids in the
/// order listed and the number of pages read.
async fn page_through(api: &TestApi, session: &str, query: &str, limit: usize) -> (Vec<String>, usize) {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1..=50 {
        let page_query = match &cursor {
            Some(cursor) => format!("{query}&limit={limit}&cursor={cursor}"),
            None => format!("{query}&limit={limit}"),
        };
        let page = list_messages(api, session, &page_query).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= limit, "a page holds at most {limit}: {page_ids:?}");
        listed.extend(page_ids);
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return (listed, pages);
        }
    }
    panic!("paging did not end after 50 pages");
}

async fn mark_read(api: &TestApi, session: &str, message: &str) -> Reply {
    api.as_user(
        CUSTOMER,
        Role::Customer,
        Method::POST,
        &format!("/chat/sessions/{session}/read"),
        Some(json!({"message_id": message})),
    )
    .await
}

async fn block(api: &TestApi, by: &str, user: &str) -> Reply {
    api.as_user(
        by,
        Role::Agent,
        Method::POST,
        &format!("/chat/users/{user}/block"),
        Some(json!({"reason": "abuse"})),
    )
    .await
}

async fn unblock(api: &TestApi, user: &str) -> Reply {
    api.as_user(AGENT, Role::Agent, Method::POST, &format!("/chat/users/{user}/unblock"), None).await
}

async fn edit(api: &TestApi, editor: &str, role: Role, session: &str, message: &str, body: &str) -> Reply {
    api.as_user(
        editor,
        role,
        Method::PATCH,
        &format!("/chat/messages/{session}/{message}"),
        Some(json!({"body": body})),
    )
    .await
}

async fn delete(api: &TestApi, session: &str, message: &str) -> Reply {
    api.as_user(
        CUSTOMER,
        Role::Customer,
        Method::DELETE,
        &format!("/chat/messages/{session}/{message}"),
        None,
    )
    .await
}

async fn list_sessions(api: &TestApi, user: &str, role: Role, query: &str) -> Reply {
    let listed = api.as_user(user, role, Method::GET, &format!("/chat/sessions{query}"), None).await;
    assert_eq!(listed.status, 200, "{user} lists sessions ({query}): {:?}", listed.body);
    listed
}

// ---------------------------------------------------------------------------------------------
// The waiting queue and taking sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_waiting_queue_serves_higher_priorities_first_then_older_sessions() {
    // Arrange: sessions of one priority are never opened back to back, so each is clearly older.
    let api = TestApi::start(Backend::Sqlite).await;
    let low_first = open_session(&api, "customer-1", "low").await;
    let urgent_first = open_session(&api, "customer-2", "urgent").await;
    let normal = open_session(&api, "customer-3", "normal").await;
    let low_second = open_session(&api, "customer-4", "low").await;
    let high = open_session(&api, "customer-5", "high").await;
    let urgent_second = open_session(&api, "customer-6", "urgent").await;

    // Act
    let queue = list_sessions(&api, AGENT, Role::Agent, "?status=waiting").await;

    // Assert
    assert_eq!(ids(&queue), [urgent_first, urgent_second, high, normal, low_first, low_second]);
}

// Only on SQLite: moto applies a transaction's operations one by one without isolating it from
// concurrent requests, so a race on moto tests moto, not this code.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_five_agents_taking_one_session_at_once_exactly_one_wins() {
    // Arrange
    let api = Arc::new(TestApi::start(Backend::Sqlite).await);
    let session = open_session(&api, CUSTOMER, "normal").await;
    let mut takers = JoinSet::new();
    for n in 1..=5 {
        let (api, session) = (api.clone(), session.clone());
        takers.spawn(async move {
            let agent = format!("agent-{n}");
            let reply = take(&api, &agent, &session).await;
            (agent, reply)
        });
    }

    // Act
    let outcomes = takers.join_all().await;

    // Assert
    let winners: Vec<&String> = outcomes.iter().filter(|(_, r)| r.status == 200).map(|(a, _)| a).collect();
    let refusals: Vec<(u16, &str)> =
        outcomes.iter().filter(|(_, r)| r.status != 200).map(|(_, r)| (r.status, r.error_code())).collect();
    assert_eq!(winners.len(), 1, "exactly one taker wins: {outcomes:?}");
    assert_eq!(refusals, [(409, "session_not_waiting"); 4], "the others are told it is taken");
    let stored =
        api.as_user(CUSTOMER, Role::Customer, Method::GET, &format!("/chat/sessions/{session}"), None).await;
    assert_eq!(stored.body["agent_id"], winners[0].as_str(), "the session is the winner's");
    assert_eq!(stored.body["status"], "active");
}

#[tokio::test]
async fn a_second_agent_taking_a_taken_session_is_told_it_is_not_waiting() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;

    // Act
    let second = take(&api, OTHER_AGENT, &session).await;

    // Assert
    assert_eq!((second.status, second.error_code()), (409, "session_not_waiting"), "{:?}", second.body);
}

// ---------------------------------------------------------------------------------------------
// Sending: idempotent retries
// ---------------------------------------------------------------------------------------------

async fn a_retried_send_returns_the_original(api: TestApi) {
    // Arrange
    let session = active_session(&api).await;
    let request = json!({"session_id": session, "body": "Is anyone there?", "client_message_id": "retry-1"});
    let first =
        api.as_user(CUSTOMER, Role::Customer, Method::POST, "/chat/messages", Some(request.clone())).await;
    assert_eq!(first.status, 201, "{:?}", first.body);

    // Act
    let retry = api.as_user(CUSTOMER, Role::Customer, Method::POST, "/chat/messages", Some(request)).await;

    // Assert
    assert_eq!(retry.status, 200, "a retry is not stored again: {:?}", retry.body);
    assert_eq!(retry.body, first.body, "the retry returns the original message");
    assert_eq!(ids(&list_messages(&api, &session, "").await), [id_of(&first)]);
}
on_both_backends!(a_retried_send_returns_the_original =>
    a_retried_send_returns_the_original_message_on_sqlite,
    a_retried_send_returns_the_original_message_on_dynamodb);

// Only on SQLite, like the race to take a session above.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_sends_with_one_client_message_id_store_one_message() {
    // Arrange
    let api = Arc::new(TestApi::start(Backend::Sqlite).await);
    let session = active_session(&api).await;
    let mut senders = JoinSet::new();
    for _ in 0..10 {
        let (api, session) = (api.clone(), session.clone());
        senders.spawn(async move {
            let request = json!({"session_id": session, "body": "Hello?", "client_message_id": "twin-1"});
            api.as_user(CUSTOMER, Role::Customer, Method::POST, "/chat/messages", Some(request)).await
        });
    }

    // Act
    let replies = senders.join_all().await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "one send stores it: {replies:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 9, "the others replay it: {replies:?}");
    let returned: BTreeSet<String> = replies.iter().map(id_of).collect();
    assert_eq!(returned.len(), 1, "every send returns the same message: {returned:?}");
    assert_eq!(ids(&list_messages(&api, &session, "").await), returned.into_iter().collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Listing messages: order, resync, pages
// ---------------------------------------------------------------------------------------------

// The two tests below send until enough consecutive sends were stamped within one millisecond:
// ids made in one millisecond must still sort in the order they were made, and only such pairs
// show whether they do. On a slow machine the sends may run out first; the tests then check
// fewer such pairs, but still every pair sent.

#[tokio::test]
async fn messages_sent_one_after_another_are_listed_in_the_order_sent() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let sent = send_until_pairs_share_a_millisecond(&api, &session, 12).await;

    // Act
    let (listed, _) = page_through(&api, &session, "order=asc", 200).await;

    // Assert
    let out_of_order: Vec<(usize, &String, &String)> = listed
        .iter()
        .zip(&sent)
        .enumerate()
        .filter(|(_, (l, s))| l != s)
        .map(|(n, (l, s))| (n, l, s))
        .collect();
    assert_eq!(listed.len(), sent.len(), "every message is listed");
    assert!(
        out_of_order.is_empty(),
        "{} of {} listed out of the order sent; the first (position, listed, sent): {:?}",
        out_of_order.len(),
        sent.len(),
        &out_of_order[..out_of_order.len().min(4)]
    );
}

#[tokio::test]
async fn resync_after_a_message_returns_the_message_sent_next() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let sent = send_until_pairs_share_a_millisecond(&api, &session, 12).await;

    // Act
    let mut missed = Vec::new();
    for pair in sent.windows(2) {
        let next = ids(&list_messages(&api, &session, &format!("after={}&limit=1", pair[0])).await);
        if next != [pair[1].as_str()] {
            missed.push((pair[0].clone(), pair[1].clone(), next));
        }
    }

    // Assert
    assert!(
        missed.is_empty(),
        "{} of {} resyncs did not return the message sent next; the first (after, sent next, listed instead): {:?}",
        missed.len(),
        sent.len() - 1,
        &missed[..missed.len().min(4)]
    );
}

#[tokio::test]
async fn listing_after_a_message_returns_only_the_messages_after_it() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    customer_says_many(&api, &session, 5).await;
    let all = ids(&list_messages(&api, &session, "").await);

    // Act
    let after = list_messages(&api, &session, &format!("after={}", all[1])).await;

    // Assert
    assert_eq!(ids(&after), all[2..], "the messages after the second one, and only those");
}

async fn pages_of_three_cover_seven_messages_once(api: TestApi) {
    // Arrange
    let session = active_session(&api).await;
    let sent: BTreeSet<String> = customer_says_many(&api, &session, 7).await.into_iter().collect();
    let in_one_page = ids(&list_messages(&api, &session, "limit=200").await);

    // Act
    let (paged, pages) = page_through(&api, &session, "order=asc", 3).await;

    // Assert
    assert_eq!(paged, in_one_page, "the pages together are the whole list, in its order");
    assert_eq!(paged.iter().cloned().collect::<BTreeSet<_>>(), sent, "every message is listed");
    assert!((3..=4).contains(&pages), "7 messages take 3 pages (a 4th may come back empty), took {pages}");
}
on_both_backends!(pages_of_three_cover_seven_messages_once =>
    pages_of_three_cover_seven_messages_exactly_once_on_sqlite,
    pages_of_three_cover_seven_messages_exactly_once_on_dynamodb);

async fn descending_pages_reverse_the_list(api: TestApi) {
    // Arrange
    let session = active_session(&api).await;
    customer_says_many(&api, &session, 7).await;
    let (ascending, _) = page_through(&api, &session, "order=asc", 3).await;

    // Act
    let (descending, _) = page_through(&api, &session, "order=desc", 3).await;

    // Assert
    assert_eq!(descending, ascending.into_iter().rev().collect::<Vec<_>>());
}
on_both_backends!(descending_pages_reverse_the_list =>
    descending_order_pages_through_the_messages_newest_first_on_sqlite,
    descending_order_pages_through_the_messages_newest_first_on_dynamodb);

// ---------------------------------------------------------------------------------------------
// Read markers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_read_marker_never_moves_back() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    customer_says_many(&api, &session, 3).await;
    let listed = ids(&list_messages(&api, &session, "").await);
    let newest = listed.last().expect("three messages");
    assert_eq!(mark_read(&api, &session, newest).await.status, 200);

    // Act
    let back = mark_read(&api, &session, &listed[0]).await;

    // Assert
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body["last_read_message_id"], newest.as_str(), "the marker stays at the newest");
}

// ---------------------------------------------------------------------------------------------
// Blocking
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_blocked_customer_cannot_open_a_session() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    assert_eq!(block(&api, AGENT, CUSTOMER).await.status, 200);

    // Act
    let opened = open_session_with(&api, CUSTOMER, json!({"subject": "let me in"})).await;

    // Assert
    assert_eq!((opened.status, opened.error_code()), (403, "user_blocked"), "{:?}", opened.body);
    assert!(ids(&list_sessions(&api, CUSTOMER, Role::Customer, "").await).is_empty(), "nothing was opened");
}

#[tokio::test]
async fn a_blocked_customer_cannot_send_a_message() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    assert_eq!(block(&api, AGENT, CUSTOMER).await.status, 200);

    // Act
    let sent = send(&api, CUSTOMER, Role::Customer, &session, "you cannot stop me").await;

    // Assert
    assert_eq!((sent.status, sent.error_code()), (403, "user_blocked"), "{:?}", sent.body);
    assert!(ids(&list_messages(&api, &session, "").await).is_empty(), "nothing was stored");
}

#[tokio::test]
async fn an_unblocked_customer_can_open_a_session_and_send_again() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    assert_eq!(block(&api, AGENT, CUSTOMER).await.status, 200);

    // Act
    let unblocked = unblock(&api, CUSTOMER).await;

    // Assert
    assert_eq!((unblocked.status, &unblocked.body["blocked"]), (200, &json!(false)), "{:?}", unblocked.body);
    assert_eq!(send(&api, CUSTOMER, Role::Customer, &session, "thanks").await.status, 201);
    assert_eq!(open_session_with(&api, CUSTOMER, json!({"subject": "again"})).await.status, 201);
}

#[tokio::test]
async fn blocking_a_blocked_customer_again_keeps_the_first_block() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let first = block(&api, AGENT, CUSTOMER).await;
    assert_eq!(first.status, 200, "{:?}", first.body);

    // Act
    let again = block(&api, OTHER_AGENT, CUSTOMER).await;

    // Assert
    assert_eq!(again.status, 200, "blocking again is not an error: {:?}", again.body);
    assert_eq!(again.body, first.body, "the first block stands, unchanged");
    assert_eq!(unblock(&api, CUSTOMER).await.status, 200);
    let opened = open_session_with(&api, CUSTOMER, json!({"subject": "one unblock lifts it"})).await;
    assert_eq!(opened.status, 201, "one unblock lifts the block: {:?}", opened.body);
}

// ---------------------------------------------------------------------------------------------
// Editing and deleting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deleted_message_cannot_be_edited() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let message = customer_says(&api, &session, "regrettable").await;
    assert_eq!(delete(&api, &session, &message).await.status, 200);

    // Act
    let edited = edit(&api, CUSTOMER, Role::Customer, &session, &message, "better").await;

    // Assert
    assert_eq!((edited.status, edited.error_code()), (409, "message_deleted"), "{:?}", edited.body);
    let listed = list_messages(&api, &session, "").await;
    assert_eq!(listed.body["items"][0]["body"], Value::Null, "the tombstone keeps no body");
}

#[tokio::test]
async fn deleting_a_deleted_message_again_succeeds() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let message = customer_says(&api, &session, "regrettable").await;
    assert_eq!(delete(&api, &session, &message).await.status, 200);

    // Act
    let again = delete(&api, &session, &message).await;

    // Assert
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!((&again.body["deleted"], &again.body["body"]), (&json!(true), &Value::Null));
    assert_eq!(ids(&list_messages(&api, &session, "").await), [message], "the tombstone is still listed");
}

#[tokio::test]
async fn only_the_sender_may_edit_a_message() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let message = customer_says(&api, &session, "my words").await;

    // Act
    let edited = edit(&api, AGENT, Role::Agent, &session, &message, "the agent's words").await;

    // Assert
    assert_eq!((edited.status, edited.error_code()), (403, "not_message_sender"), "{:?}", edited.body);
    let listed = list_messages(&api, &session, "").await;
    assert_eq!(listed.body["items"][0]["body"], "my words", "the message is unchanged");
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_message_of_4000_characters_is_accepted() {
    // Arrange: two-byte characters, so the limit must be counted in characters.
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;
    let body = "é".repeat(4000);

    // Act
    let sent = send(&api, CUSTOMER, Role::Customer, &session, &body).await;

    // Assert
    assert_eq!(sent.status, 201, "{}", sent.error_code());
    assert_eq!(sent.body["body"], body.as_str());
}

#[tokio::test]
async fn a_message_of_4001_characters_is_refused() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;

    // Act
    let sent = send(&api, CUSTOMER, Role::Customer, &session, &"a".repeat(4001)).await;

    // Assert
    assert_eq!((sent.status, sent.error_code()), (422, "validation_failed"), "{:?}", sent.body);
    assert!(ids(&list_messages(&api, &session, "").await).is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_message_of_only_white_space_is_refused() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = active_session(&api).await;

    // Act
    let sent = send(&api, CUSTOMER, Role::Customer, &session, " \n\t ").await;

    // Assert
    assert_eq!((sent.status, sent.error_code()), (422, "validation_failed"), "{:?}", sent.body);
}

// ---------------------------------------------------------------------------------------------
// Who sees which sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_lists_sessions_by_status() {
    // Arrange: one waiting, one active, one closed.
    let api = TestApi::start(Backend::Sqlite).await;
    let waiting = open_session(&api, CUSTOMER, "normal").await;
    let active = active_session(&api).await;
    let closed = open_session(&api, OTHER_CUSTOMER, "normal").await;
    let closing = api
        .as_user(
            OTHER_CUSTOMER,
            Role::Customer,
            Method::POST,
            &format!("/chat/sessions/{closed}/close"),
            None,
        )
        .await;
    assert_eq!(closing.status, 200, "{:?}", closing.body);

    // Act
    let by_default = list_sessions(&api, ADMIN, Role::Admin, "").await;
    let listed_waiting = list_sessions(&api, ADMIN, Role::Admin, "?status=waiting").await;
    let listed_closed = list_sessions(&api, ADMIN, Role::Admin, "?status=closed").await;

    // Assert
    assert_eq!(ids(&by_default), [active], "active sessions by default");
    assert_eq!(ids(&listed_waiting), [waiting]);
    assert_eq!(ids(&listed_closed), [closed]);
}

/// Closed sessions are spread over several index partitions (so that no partition takes every
/// write): an admin's listing still pages through each of them once, newest first.
async fn pages_of_two_cover_every_closed_session_once_newest_first(api: TestApi) {
    // Arrange: nine sessions opened and closed in turn (more than the partitions they spread over).
    let mut closed = Vec::new();
    for _ in 0..9 {
        let id = open_session(&api, CUSTOMER, "normal").await;
        let path = format!("/chat/sessions/{id}/close");
        let closing = api.as_user(CUSTOMER, Role::Customer, Method::POST, &path, None).await;
        assert_eq!(closing.status, 200, "{:?}", closing.body);
        closed.push(id);
    }

    // Act
    let mut listed = Vec::new();
    let mut query = "?status=closed&limit=2".to_owned();
    loop {
        let page = list_sessions(&api, ADMIN, Role::Admin, &query).await;
        assert!(ids(&page).len() <= 2, "{:?}", page.body);
        listed.extend(ids(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?status=closed&limit=2&cursor={cursor}"),
            None => break,
        }
    }

    // Assert: session ids sort by time.
    closed.reverse();
    assert_eq!(listed, closed);
}

on_both_backends!(pages_of_two_cover_every_closed_session_once_newest_first =>
    pages_of_two_cover_every_closed_session_once_newest_first_on_sqlite,
    pages_of_two_cover_every_closed_session_once_newest_first_on_dynamodb);

#[tokio::test]
async fn a_customer_lists_only_their_own_sessions() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let older = open_session(&api, CUSTOMER, "normal").await;
    open_session(&api, OTHER_CUSTOMER, "urgent").await;
    let newer = open_session(&api, CUSTOMER, "low").await;

    // Act
    let listed = list_sessions(&api, CUSTOMER, Role::Customer, "").await;

    // Assert
    assert_eq!(ids(&listed), [newer, older], "their own, newest first");
}

#[tokio::test]
async fn customer_cannot_read_another_customers_session() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = open_session(&api, OTHER_CUSTOMER, "normal").await;

    // Act
    let read =
        api.as_user(CUSTOMER, Role::Customer, Method::GET, &format!("/chat/sessions/{session}"), None).await;

    // Assert
    assert_eq!((read.status, read.error_code()), (404, "session_not_found"), "{:?}", read.body);
}

#[tokio::test]
async fn an_agent_who_has_not_taken_a_session_cannot_write_to_it() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = open_session(&api, CUSTOMER, "normal").await;

    // Act
    let sent = send(&api, AGENT, Role::Agent, &session, "I am not your agent").await;

    // Assert
    assert_eq!((sent.status, sent.error_code()), (403, "not_a_participant"), "{:?}", sent.body);
}

// ---------------------------------------------------------------------------------------------
// Rooms
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_room_name_is_taken_whatever_its_case() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let create = |name: &'static str| {
        api.as_user(ADMIN, Role::Admin, Method::POST, "/chat/rooms", Some(json!({"name": name})))
    };
    assert_eq!(create("Billing").await.status, 201);

    // Act
    let twin = create("bILLING").await;

    // Assert
    assert_eq!((twin.status, twin.error_code()), (409, "room_name_taken"), "{:?}", twin.body);
}

#[tokio::test]
async fn a_session_in_an_unknown_room_is_refused() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let nowhere = "01JD0000000000000000000002";

    // Act
    let opened = open_session_with(&api, CUSTOMER, json!({"subject": "hello?", "room_id": nowhere})).await;

    // Assert
    assert_eq!((opened.status, opened.error_code()), (404, "room_not_found"), "{:?}", opened.body);
}
