//! Least privilege over real HTTP, on SQLite and on DynamoDB (moto): what the functions call
//! for a session still waiting in the queue is granted by their policies in
//! `infra/template.yaml`, so none of them answers 500 (AccessDenied) in AWS. The whole suite's
//! calls are compared by `scripts/test.sh` (the `iam-check` binary); this test keeps the
//! waiting-session case in front of everyone who runs the notes and canned-response tests.

use reqwest::Method;
use serde_json::json;
use switchboard_local::iam::compare;
use switchboard_local::template::TEMPLATE;
use switchboard_tests::{arranged, id_of, on_duty, open_session, Backend, Caller, TestApi};

switchboard_tests::on_both_backends!(reading_a_waiting_session_for_notes_and_canned_responses_is_granted);

async fn reading_a_waiting_session_for_notes_and_canned_responses_is_granted(backend: Backend) {
    // Arrange: agent X on duty but away, so routing leaves the new session waiting.
    let api = TestApi::start(backend).await;
    on_duty(&api, Caller::AgentX.id()).await;
    let session = open_session(&api, Caller::CustomerA, "my parcel is late").await;
    let notes = format!("/chat/sessions/{session}/notes");
    let reply =
        Caller::Admin.call(&api, Method::POST, &notes, Some(json!({"body": "Check the courier."}))).await;
    let note = id_of(&arranged(reply, 201, "the admin notes the waiting session"));
    let canned =
        json!({"scope": "global", "shortcode": "hello", "title": "Hello", "body": "Hi {{customer.name}}"});
    let reply = Caller::Admin.call(&api, Method::POST, "/agent/canned-responses", Some(canned)).await;
    let canned = id_of(&arranged(reply, 201, "the admin writes a canned response"));
    let waiting = Caller::AgentX.call(&api, Method::GET, &format!("/chat/sessions/{session}"), None).await;
    assert_eq!(waiting.body["status"], "waiting", "the session waits: {waiting:?}");

    // Act
    // (A waiting session's notes are for admins and agents who handled it: the admin reads and
    // edits its own note; agent X, who may pick the session up, renders a reply for it.)
    let listed = Caller::Admin.call(&api, Method::GET, &notes, None).await;
    let edited = Caller::Admin
        .call(&api, Method::PATCH, &format!("{notes}/{note}"), Some(json!({"body": "Courier called."})))
        .await;
    let rendered = Caller::AgentX
        .call(
            &api,
            Method::POST,
            &format!("/agent/canned-responses/{canned}/render"),
            Some(json!({"session_id": session})),
        )
        .await;

    // Assert
    for (what, reply) in [("list notes", &listed), ("edit a note", &edited), ("render", &rendered)] {
        assert_eq!(reply.status, 200, "{what}: {reply:?}");
    }
    let comparison = compare(TEMPLATE, &api.accesses.accesses()).expect("the template evaluates");
    let denied: Vec<String> = comparison.not_granted.iter().map(ToString::to_string).collect();
    assert_eq!(denied, Vec::<String>::new(), "calls AWS would deny (500 to the caller)");
}
