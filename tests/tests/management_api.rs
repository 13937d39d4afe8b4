//! The Management API, both ways: the production `Realtime` adapter (aws-sdk-apigatewaymanagement)
//! against moto's `apigatewaymanagementapi` (which proves what it signs and sends), and the local
//! gateway's own `/@connections/{id}` against that same client (which proves it answers as the
//! real service does, 410 Gone included, which moto never answers).

use base64::Engine;
use serde_json::{json, Value};
use switchboard_shared::config::TEST_DYNAMODB_ENDPOINT;
use switchboard_shared::domain::ConnectionId;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::realtime::{PostError, Realtime};
use switchboard_tests::{Backend, Caller, Ended, TestApi};

fn moto_endpoint() -> String {
    std::env::var(TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
        panic!("{TEST_DYNAMODB_ENDPOINT} is not set: run the tests with scripts/test.sh, which starts a moto server")
    })
}

/// The requests moto recorded while `during` ran (moto's request recorder).
async fn recorded(endpoint: &str, during: impl std::future::Future<Output = ()>) -> Vec<Value> {
    let http = reqwest::Client::new();
    http.post(format!("{endpoint}/moto-api/recorder/start-recording")).send().await.expect("start recording");
    during.await;
    http.post(format!("{endpoint}/moto-api/recorder/stop-recording")).send().await.expect("stop recording");
    let text = http
        .get(format!("{endpoint}/moto-api/recorder/download-recording"))
        .send()
        .await
        .expect("download the recording")
        .text()
        .await
        .expect("the recording");
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_adapter_posts_signed_frames_to_moto() {
    let endpoint = moto_endpoint();
    let realtime = ApiGatewayRealtime::for_endpoint(&endpoint);
    // API Gateway ids are base64: `+` and `=` must survive the path. (moto's router cannot take
    // an encoded `/`; the local gateway's test below covers that one.)
    let suffix = ulid::Ulid::new().to_string();
    let id = ConnectionId::parse(&format!("a+b{suffix}=")).expect("a connection id");
    let frame = json!({"type": "pong", "at": "2026-11-25T10:00:00.000Z"}).to_string();
    let requests = recorded(&endpoint, async {
        realtime.post(&id, frame.as_bytes()).await.expect("moto accepts the post");
    })
    .await;
    let ours: Vec<&Value> =
        requests.iter().filter(|r| r["url"].as_str().is_some_and(|u| u.contains(&suffix))).collect();
    assert_eq!(ours.len(), 1, "one request for the connection: {requests:?}");
    let request = ours[0];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], format!("{endpoint}/@connections/a%2Bb{suffix}%3D"));
    let authorization = request["headers"]["Authorization"].as_str().unwrap_or_default();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 "), "{authorization}");
    assert!(authorization.contains("/us-east-1/execute-api/aws4_request"), "{authorization}");
    let body = request["body"].as_str().unwrap_or_default();
    let body = if request["body_encoded"] == true {
        base64::engine::general_purpose::STANDARD.decode(body).expect("base64 body")
    } else {
        body.as_bytes().to_vec()
    };
    assert_eq!(body, frame.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_failure_not_gone() {
    // A port that was just free: nothing listens, the connection is refused.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let realtime = ApiGatewayRealtime::for_endpoint(&format!("http://127.0.0.1:{port}"));
    let id = ConnectionId::parse("L0SM9cOFvHcCIhw=").expect("a connection id");
    match realtime.post(&id, b"{}").await {
        Err(PostError::Failed(_)) => {}
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_management_api_answers_the_production_client_like_the_service() {
    let api = TestApi::start(Backend::Sqlite).await;
    let realtime = ApiGatewayRealtime::for_endpoint(&api.root);
    let mut socket = api.connect(&Caller::CustomerA.token(&api)).await;
    // The connection id is only known to the server: find it in the store.
    let connections = switchboard_shared::repo::connections::of_user(
        api.store.as_ref(),
        &switchboard_shared::domain::UserId::parse("cust-ada").expect("id"),
        10,
        switchboard_shared::domain::now(),
    )
    .await
    .expect("query");
    assert_eq!(connections.len(), 1);
    let id = connections[0].connection_id.clone();

    // POST delivers the frame as one text message.
    let frame = json!({"type": "pong", "at": "2026-11-25T10:00:00Z"});
    realtime.post(&id, frame.to_string().as_bytes()).await.expect("post to a live connection");
    assert_eq!(socket.expect("pong").await, frame);

    // GET describes it.
    let client = realtime.client().expect("client");
    let described = client.get_connection().connection_id(id.as_str()).send().await.expect("get");
    assert!(described.connected_at().is_some());
    assert!(described.last_active_at().is_some());
    assert_eq!(described.identity().and_then(|i| i.source_ip()), Some("127.0.0.1"));

    // Over 128 KB is refused, and the connection stays.
    let big = vec![b'x'; 129 * 1024];
    match realtime.post(&id, &big).await {
        Err(PostError::Failed(reason)) => assert!(reason.contains("PayloadTooLarge"), "{reason}"),
        other => panic!("expected 413, got {other:?}"),
    }

    // DELETE closes the socket; afterwards the id is gone.
    client.delete_connection().connection_id(id.as_str()).send().await.expect("delete");
    assert_eq!(socket.ended().await, Ended::Closed(1000));
    assert_eq!(realtime.post(&id, b"{}").await, Err(PostError::Gone));
    let gone = client.get_connection().connection_id(id.as_str()).send().await;
    assert!(gone.err().and_then(|e| e.into_service_error().is_gone_exception().then_some(())).is_some());

    // Unknown ids (with base64's `+/=`) are 410, not 404.
    let unknown = ConnectionId::parse("no+such/conn=").expect("id");
    assert_eq!(realtime.post(&unknown, b"{}").await, Err(PostError::Gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_management_api_refuses_unsigned_requests() {
    let api = TestApi::start(Backend::Sqlite).await;
    let reply = reqwest::Client::new()
        .post(format!("{}/@connections/L0SM9cOFvHcCIhw=", api.root))
        .body("{}")
        .send()
        .await
        .expect("a response");
    assert_eq!(reply.status().as_u16(), 403);
    assert_eq!(
        reply.headers().get("x-amzn-errortype").and_then(|v| v.to_str().ok()),
        Some("ForbiddenException")
    );
}
