//! Transcripts over real HTTP, on SQLite and on DynamoDB (moto): JSON, text and CSV (read back
//! with a CSV reader), who may have one, and private notes — in the support side's transcript
//! when asked, never in a customer's, nor in one made to be shared.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{arranged, assigned_session, send, Backend, Caller, TestApi};

switchboard_tests::on_both_backends!(
    notes_reach_the_support_sides_transcript_and_never_a_customers,
    every_format_carries_every_message_exactly,
    transcripts_are_for_the_sessions_readers_and_bad_parameters_are_refused,
);

const NOTE: &str = "Customer is **angry**; refund approved by Zoe";

fn path(session: &str, query: &str) -> String {
    format!("/admin/chat-dashboard/sessions/{session}/transcript{query}")
}

async fn notes_reach_the_support_sides_transcript_and_never_a_customers(backend: Backend) {
    // Arrange: a conversation with a private note, and the customer watching it live.
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    customer.subscribe(&world.session).await;
    let note_path = format!("/chat/sessions/{}/notes", world.session);
    arranged(
        Caller::AgentX.call(&api, Method::POST, &note_path, Some(json!({"body": NOTE}))).await,
        201,
        "a note",
    );
    send(&api, Caller::AgentX, &world.session, "after the note").await;

    // Act
    let support = Caller::Admin.call(&api, Method::GET, &path(&world.session, ""), None).await;
    let agent_text = api.fetch(&path(&world.session, "?format=text"), &Caller::AgentX.token(&api)).await;
    let shared =
        api.fetch(&path(&world.session, "?format=csv&include_notes=false"), &Caller::Admin.token(&api)).await;
    let mut mine = Vec::new();
    for query in
        ["", "?include_notes=true", "?format=text&include_notes=true", "?format=csv&include_notes=true"]
    {
        mine.push(api.fetch(&path(&world.session, query), &Caller::CustomerA.token(&api)).await);
    }

    // Assert: the support side sees the note, a transcript to share and the customer's never do.
    assert_eq!(support.status, 200, "{support:?}");
    assert_eq!(support.body["notes"][0]["body"], NOTE);
    assert!(agent_text.text.contains("[private note]: Customer is **angry**"), "{}", agent_text.text);
    assert_eq!(shared.status, 200);
    assert!(!shared.text.contains("angry"), "{}", shared.text);
    for fetched in &mine {
        assert_eq!(fetched.status, 200, "{fetched:?}");
        assert!(
            !fetched.text.contains("angry") && !fetched.text.contains("private note"),
            "{}",
            fetched.text
        );
        assert!(fetched.text.contains("after the note"), "the customer's transcript has the messages");
    }
    assert!(!serde_json::from_str::<Value>(&mine[0].text).is_ok_and(|t| t.get("notes").is_some()));
    // Nor did the note reach the customer's socket: only the message after it did.
    customer.barrier().await;
    let frames = customer.take_all();
    assert!(frames.iter().all(|f| !f.to_string().contains("angry")), "{frames:?}");
    assert!(frames.iter().any(|f| f["type"] == "message.created"));
}

async fn every_format_carries_every_message_exactly(backend: Backend) {
    // Arrange: texts a naive CSV or a spreadsheet would get wrong, and a deleted message.
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let tricky = ["says \"hi\", then leaves", "two\nlines", "=HYPERLINK(\"http://x\")", "ünïcødé ✓"];
    for body in tricky {
        send(&api, Caller::CustomerA, &world.session, body).await;
    }
    let deleted = format!("/chat/messages/{}/{}", world.session, world.agent_message);
    arranged(Caller::AgentX.call(&api, Method::DELETE, &deleted, None).await, 200, "delete a message");
    let token = Caller::Admin.token(&api);

    // Act
    let csv = api.fetch(&path(&world.session, "?format=csv"), &token).await;
    let text = api.fetch(&path(&world.session, "?format=text"), &token).await;
    let listed = Caller::Admin
        .call(&api, Method::GET, &format!("/chat/messages/{}?limit=200", world.session), None)
        .await;

    // Assert: CSV, read back, has one row per message with each text as sent.
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    assert_eq!(csv.disposition, format!("attachment; filename=\"transcript-{}.csv\"", world.session));
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let header: Vec<String> = reader.headers().expect("a header row").iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "kind",
            "id",
            "session_id",
            "at",
            "author_id",
            "author_role",
            "author_name",
            "body",
            "edited_at",
            "deleted",
            "attachments"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a well-formed row")).collect();
    let messages = listed.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), messages.len(), "one row per message");
    for (row, message) in rows.iter().zip(&messages) {
        assert_eq!(row.get(1), message["id"].as_str(), "rows in message order");
        let body = message["body"].as_str().unwrap_or_default();
        let shown = if body.starts_with('=') { format!("'{body}") } else { body.to_owned() };
        assert_eq!(row.get(7), Some(shown.as_str()), "the text of {}", message["id"]);
        assert_eq!(row.get(9), Some(if message["deleted"] == true { "true" } else { "false" }));
    }
    assert!(text.content_type.starts_with("text/plain"));
    for body in ["says \"hi\", then leaves", "two\n    lines", "ünïcødé ✓", "[deleted]"] {
        assert!(text.text.contains(body), "the text transcript lacks {body:?}:\n{}", text.text);
    }
}

async fn transcripts_are_for_the_sessions_readers_and_bad_parameters_are_refused(backend: Backend) {
    let api = TestApi::start(backend).await;
    let world = assigned_session(&api).await;
    let cases = [
        (Caller::CustomerB, path(&world.session, ""), 404, "session_not_found"),
        (Caller::AgentY, path(&world.session, ""), 404, "session_not_found"),
        (Caller::Admin, path(&world.session, "?format=pdf"), 400, "invalid_parameter"),
        (Caller::Admin, path(&world.session, "?include_notes=maybe"), 400, "invalid_parameter"),
        (Caller::Admin, path("01JD0000000000000000000099", ""), 404, "session_not_found"),
        (Caller::Admin, path("not-an-id", ""), 400, "invalid_id"),
    ];
    for (caller, path, status, code) in cases {
        let reply = caller.call(&api, Method::GET, &path, None).await;
        assert_eq!((reply.status, reply.error_code()), (status, code), "{caller:?} {path}: {reply:?}");
    }
    let unauthenticated = api.call(Method::GET, &path(&world.session, ""), None, None).await;
    assert_eq!(unauthenticated.status, 401);
}
