//! Notification preferences over real HTTP, on SQLite and on DynamoDB (moto): defaults, replace,
//! per-user isolation, and every kind of bad input refused with nothing written.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_tests::{Backend, Caller, TestApi};

const PATH: &str = "/notifications/preferences";

fn defaults() -> Value {
    json!({"chat_message": true, "session_update": true, "announcement": true, "quiet_hours": null, "muted_sessions": []})
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::DynamoDb).await;
                }
            )*
        }
    };
}

on_both_backends!(
    registering_a_device_is_idempotent_and_a_moved_token_is_re_owned,
    bad_device_requests_are_refused_and_change_nothing,
    a_user_who_never_chose_gets_the_defaults,
    preferences_are_replaced_and_read_back_per_user,
    bad_preferences_are_refused_and_change_nothing,
);

async fn a_user_who_never_chose_gets_the_defaults(backend: Backend) {
    let api = TestApi::start(backend).await;
    for caller in Caller::ALL {
        let reply = caller.call(&api, Method::GET, PATH, None).await;
        assert_eq!((reply.status, &reply.body), (200, &defaults()), "{caller:?}");
    }
}

async fn preferences_are_replaced_and_read_back_per_user(backend: Backend) {
    let api = TestApi::start(backend).await;
    let chosen = json!({
        "chat_message": true,
        "session_update": false,
        "announcement": true,
        "quiet_hours": {"start": "22:30", "end": "06:45", "time_zone": "America/Sao_Paulo"},
        "muted_sessions": ["01JD0000000000000000000004", "01JD0000000000000000000002"],
    });
    let put = Caller::AgentX.call(&api, Method::PUT, PATH, Some(chosen.clone())).await;
    assert_eq!((put.status, &put.body), (200, &chosen));
    assert_eq!(Caller::AgentX.call(&api, Method::GET, PATH, None).await.body, chosen);
    // Someone else's are untouched.
    assert_eq!(Caller::AgentY.call(&api, Method::GET, PATH, None).await.body, defaults());

    // A PUT replaces: what it leaves out takes the default; a repeated mute is kept once.
    let partial = json!({"announcement": false, "muted_sessions": ["01JD0000000000000000000004", "01JD0000000000000000000004"]});
    let put = Caller::AgentX.call(&api, Method::PUT, PATH, Some(partial)).await;
    let expected = json!({"chat_message": true, "session_update": true, "announcement": false, "quiet_hours": null,
        "muted_sessions": ["01JD0000000000000000000004"]});
    assert_eq!((put.status, &put.body), (200, &expected));
    assert_eq!(Caller::AgentX.call(&api, Method::GET, PATH, None).await.body, expected);
}

async fn bad_preferences_are_refused_and_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let chosen = json!({"announcement": false});
    assert_eq!(Caller::CustomerA.call(&api, Method::PUT, PATH, Some(chosen)).await.status, 200);
    let before = Caller::CustomerA.call(&api, Method::GET, PATH, None).await.body;
    let too_many: Vec<String> = (0..201).map(|n| format!("01JD{n:022}")).collect();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Mars/Olympus_Mons"}}),
            422,
            "validation_failed",
        ),
        (
            json!({"quiet_hours": {"start": "24:00", "end": "07:00", "time_zone": "UTC"}}),
            422,
            "validation_failed",
        ),
        (
            json!({"quiet_hours": {"start": "10pm", "end": "07:00", "time_zone": "UTC"}}),
            422,
            "validation_failed",
        ),
        (json!({"quiet_hours": {"start": "22:00", "end": "07:00"}}), 422, "validation_failed"),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "UTC", "days": "weekdays"}}),
            422,
            "validation_failed",
        ),
        (json!({"sms": true}), 422, "validation_failed"),
        (json!({"chat_message": "yes"}), 422, "validation_failed"),
        (json!({"muted_sessions": ["not-a-session"]}), 422, "validation_failed"),
        (json!({"muted_sessions": too_many}), 422, "validation_failed"),
        (json!(["chat_message"]), 422, "validation_failed"),
    ];
    for (body, status, code) in cases {
        let reply = Caller::CustomerA.call(&api, Method::PUT, PATH, Some(body.clone())).await;
        assert_eq!((reply.status, reply.error_code()), (status, code), "{body} → {:?}", reply.body);
    }
    let malformed = api
        .call_with_header(Method::PUT, PATH, Some(&format!("Bearer {}", Caller::CustomerA.token(&api))), None)
        .await;
    assert_eq!(malformed.status, 400, "{:?}", malformed.body);
    assert_eq!(
        Caller::CustomerA.call(&api, Method::GET, PATH, None).await.body,
        before,
        "a refused PUT wrote"
    );
}

const REGISTER: &str = "/notifications/devices/register";
const UNREGISTER: &str = "/notifications/devices/unregister";

async fn registering_a_device_is_idempotent_and_a_moved_token_is_re_owned(backend: Backend) {
    let api = TestApi::start(backend).await;
    let phone = json!({"token": "fcm-token-shared-tablet", "platform": "android", "app_version": "1.4.0"});
    let first = Caller::CustomerA.call(&api, Method::POST, REGISTER, Some(phone.clone())).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        (first.body["user_id"].as_str(), first.body["platform"].as_str()),
        (Some("cust-ada"), Some("android"))
    );
    assert_eq!(first.body["enabled"], true);
    let endpoint = first.body["endpoint_arn"].clone();
    assert!(endpoint.as_str().is_some_and(|arn| !arn.is_empty()));

    // Again: the same endpoint, the same registration time.
    let again = Caller::CustomerA.call(&api, Method::POST, REGISTER, Some(phone.clone())).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["endpoint_arn"], endpoint);
    assert_eq!(again.body["registered_at"], first.body["registered_at"]);
    assert_eq!(again.body["device_id"], first.body["device_id"]);

    // The tablet changes hands: the token is now customer B's, on the same endpoint.
    let moved = Caller::CustomerB.call(&api, Method::POST, REGISTER, Some(phone)).await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["user_id"], "cust-bob");
    assert_eq!(moved.body["endpoint_arn"], endpoint);
    let gone = Caller::CustomerA
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!((gone.status, gone.error_code()), (404, "device_not_found"));

    let removed = Caller::CustomerB
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!((removed.status, &removed.body["device_id"]), (200, &first.body["device_id"]));
    let twice = Caller::CustomerB
        .call(&api, Method::POST, UNREGISTER, Some(json!({"token": "fcm-token-shared-tablet"})))
        .await;
    assert_eq!(twice.status, 404);
}

async fn bad_device_requests_are_refused_and_change_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let long = "x".repeat(4097);
    let cases: Vec<(&str, Value, &str)> = vec![
        (REGISTER, json!({"token": "", "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": long, "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": "has space", "platform": "android"}), "validation_failed"),
        (REGISTER, json!({"token": "fcm-ok", "platform": "blackberry"}), "validation_failed"),
        (REGISTER, json!({"token": "fcm-ok"}), "validation_failed"),
        (
            REGISTER,
            json!({"token": "fcm-ok", "platform": "ios", "app_version": "v".repeat(65)}),
            "validation_failed",
        ),
        (REGISTER, json!({"token": "fcm-ok", "platform": "ios", "push": true}), "validation_failed"),
        (UNREGISTER, json!({}), "validation_failed"),
        (UNREGISTER, json!({"token": ""}), "validation_failed"),
    ];
    for (path, body, code) in cases {
        api.store.reset();
        let reply = Caller::CustomerA.call(&api, Method::POST, path, Some(body.clone())).await;
        assert_eq!((reply.status, reply.error_code()), (422, code), "{path} {body} → {:?}", reply.body);
        assert_eq!(api.store.total(), 0, "{path} {body}: the store was called");
    }
}
