//! The production `Push` adapter (aws-sdk-sns) against moto's SNS: platform applications made
//! through the same client, endpoints created, read, re-enabled and deleted, and the exact
//! message moto recorded for a `MessageStructure=json` publish. moto's state is shared by every
//! test: each test makes its own platform applications and tokens.

use serde_json::{json, Value};
use switchboard_shared::config::TEST_DYNAMODB_ENDPOINT;
use switchboard_shared::push::sns::{PlatformApplications, SnsPush};
use switchboard_shared::push::{DeviceToken, EndpointState, Platform, Push, PushError};
use switchboard_tests::recording::{recording_app, AccessLog};
use ulid::Ulid;

fn moto_endpoint() -> String {
    std::env::var(TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
        panic!("{TEST_DYNAMODB_ENDPOINT} is not set: run the tests with scripts/test.sh, which starts a moto server")
    })
}

/// A token no other test uses (moto keeps tokens unique across all applications).
fn fresh_token(prefix: &str) -> DeviceToken {
    DeviceToken::parse(&format!("{prefix}:{}", Ulid::new())).expect("a valid token")
}

/// An APNs-shaped token: 64 hexadecimal characters.
fn fresh_apns_token() -> DeviceToken {
    DeviceToken::parse(&format!("{:032x}{:032x}", Ulid::new().0, Ulid::new().0)).expect("a valid token")
}

/// A platform application of its own in moto; returns its ARN.
async fn platform_application(admin: &SnsPush, platform: &str, name: &str) -> String {
    let request = admin
        .client()
        .expect("the SNS client")
        .create_platform_application()
        .name(format!("{name}-{}", Ulid::new()))
        .platform(platform)
        .attributes("PlatformCredential", "test-credential");
    let request = if platform.starts_with("APNS") {
        request.attributes("PlatformPrincipal", "test-certificate")
    } else {
        request
    };
    let output = request.send().await.expect("CreatePlatformApplication");
    output.platform_application_arn().expect("a platform application ARN").to_owned()
}

/// An adapter on moto with fresh Android (GCM), iOS (APNS) and web (GCM) applications, and a
/// second adapter on the same server, without applications, for raw SNS calls.
async fn sns_push(name: &str) -> (SnsPush, SnsPush) {
    let endpoint = moto_endpoint();
    let admin = SnsPush::for_endpoint(&endpoint, PlatformApplications::default());
    let applications = PlatformApplications {
        android: Some(platform_application(&admin, "GCM", &format!("{name}-android")).await),
        ios: Some(platform_application(&admin, "APNS", &format!("{name}-ios")).await),
        web: Some(platform_application(&admin, "GCM", &format!("{name}-web")).await),
    };
    (SnsPush::for_endpoint(&endpoint, applications), admin)
}

/// Disables the endpoint the way SNS does when the platform rejects its token.
async fn disable(admin: &SnsPush, arn: &str) {
    admin
        .client()
        .expect("the SNS client")
        .set_endpoint_attributes()
        .endpoint_arn(arn)
        .attributes("Enabled", "false")
        .send()
        .await
        .expect("SetEndpointAttributes Enabled=false");
}

/// Everything moto holds, from its `/moto-api/data.json`.
async fn moto_data() -> Value {
    reqwest::get(format!("{}/moto-api/data.json", moto_endpoint()))
        .await
        .expect("GET /moto-api/data.json")
        .json()
        .await
        .expect("moto's data as JSON")
}

/// The messages moto recorded for the endpoint `arn`: `sns.PlatformEndpoint` is a list of
/// endpoints (`arn`, `token`, `attributes`, `custom_user_data`, `enabled`, `region`, `messages`),
/// whose `messages` is `{message id: raw message}`.
fn recorded_messages(data: &Value, arn: &str) -> serde_json::Map<String, Value> {
    let endpoints = data["sns"]["PlatformEndpoint"].as_array().expect("sns.PlatformEndpoint in data.json");
    let endpoint = endpoints
        .iter()
        .find(|endpoint| endpoint["arn"] == arn)
        .unwrap_or_else(|| panic!("endpoint {arn} is not in moto's data: {data}"));
    endpoint["messages"].as_object().expect("the endpoint's messages").clone()
}

#[tokio::test]
async fn a_created_endpoint_holds_its_token_enabled_and_a_known_token_keeps_its_endpoint() {
    let (push, _) = sns_push("create").await;
    let token = fresh_token("fcm");
    let arn = push.create_endpoint(Platform::Android, &token, "user-1").await.expect("create_endpoint");
    assert!(arn.contains(":endpoint/GCM/create-android-"), "{arn}");
    assert_eq!(
        push.endpoint(&arn).await.expect("endpoint"),
        EndpointState { token: token.as_str().to_owned(), enabled: true }
    );

    // The same token again: the same endpoint, whether SNS returns it as is (same attributes) or
    // refuses it under other attributes and names it in the message (another CustomUserData).
    assert_eq!(push.create_endpoint(Platform::Android, &token, "user-1").await, Ok(arn.clone()));
    assert_eq!(push.create_endpoint(Platform::Android, &token, "user-2").await, Ok(arn.clone()));

    let ios_token = fresh_apns_token();
    let ios = push.create_endpoint(Platform::Ios, &ios_token, "user-1").await.expect("create_endpoint ios");
    assert!(ios.contains(":endpoint/APNS/create-ios-"), "{ios}");
    assert_ne!(ios, arn);
    assert_eq!(push.endpoint(&ios).await.expect("endpoint").token, ios_token.as_str());

    let web = push.create_endpoint(Platform::Web, &fresh_token("web"), "").await.expect("create web");
    assert!(web.contains(":endpoint/GCM/create-web-"), "{web}");
}

#[tokio::test]
async fn enable_endpoint_re_enables_a_disabled_endpoint_and_replaces_its_token() {
    let (push, admin) = sns_push("enable").await;
    let token = fresh_token("fcm");
    let arn = push.create_endpoint(Platform::Android, &token, "user-1").await.expect("create_endpoint");

    disable(&admin, &arn).await;
    assert_eq!(
        push.endpoint(&arn).await.expect("endpoint"),
        EndpointState { token: token.as_str().to_owned(), enabled: false }
    );

    push.enable_endpoint(&arn, &token).await.expect("enable_endpoint");
    assert_eq!(
        push.endpoint(&arn).await.expect("endpoint"),
        EndpointState { token: token.as_str().to_owned(), enabled: true }
    );

    disable(&admin, &arn).await;
    let refreshed = fresh_token("fcm-refreshed");
    push.enable_endpoint(&arn, &refreshed).await.expect("enable_endpoint with a new token");
    assert_eq!(
        push.endpoint(&arn).await.expect("endpoint"),
        EndpointState { token: refreshed.as_str().to_owned(), enabled: true }
    );
}

#[tokio::test]
async fn publish_sends_the_json_structured_message_moto_records_as_is() {
    let (push, _) = sns_push("publish").await;
    let arn = push
        .create_endpoint(Platform::Android, &fresh_token("fcm"), "user-1")
        .await
        .expect("create_endpoint");

    let gcm = json!({
        "fcmV1Message": {
            "message": {
                "notification": { "title": "Acme Support", "body": "Ana: Your refund is on its way" },
                "data": { "conversation_id": "01JD0000000000000000000000", "kind": "message" },
                "android": { "priority": "high", "collapse_key": "01JD0000000000000000000000" }
            }
        }
    });
    let apns = json!({
        "aps": {
            "alert": { "title": "Acme Support", "body": "Ana: Your refund is on its way" },
            "sound": "default",
            "thread-id": "01JD0000000000000000000000"
        },
        "conversation_id": "01JD0000000000000000000000"
    });
    let message = json!({
        "default": "Ana: Your refund is on its way",
        "GCM": gcm.to_string(),
        "APNS": apns.to_string(),
    })
    .to_string();

    let message_id = push.publish(&arn, &message).await.expect("publish");
    assert!(!message_id.is_empty());

    let messages = recorded_messages(&moto_data().await, &arn);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages.get(&message_id), Some(&Value::String(message.clone())));
    let recorded: Value =
        serde_json::from_str(messages[&message_id].as_str().expect("a raw message")).expect("JSON");
    let recorded_gcm: Value = serde_json::from_str(recorded["GCM"].as_str().expect("GCM")).expect("JSON");
    assert_eq!(recorded_gcm, gcm);
}

#[tokio::test]
async fn publishing_to_a_disabled_endpoint_is_endpoint_disabled() {
    let (push, admin) = sns_push("disabled").await;
    let arn =
        push.create_endpoint(Platform::Ios, &fresh_apns_token(), "user-1").await.expect("create_endpoint");
    disable(&admin, &arn).await;
    let message = json!({ "default": "hello", "APNS": r#"{"aps":{"alert":"hello"}}"# }).to_string();
    assert_eq!(push.publish(&arn, &message).await, Err(PushError::EndpointDisabled));
}

#[tokio::test]
async fn a_deleted_endpoint_is_not_found_and_deleting_it_again_succeeds() {
    let (push, _) = sns_push("delete").await;
    let token = fresh_token("fcm");
    let arn = push.create_endpoint(Platform::Web, &token, "user-1").await.expect("create_endpoint");

    push.delete_endpoint(&arn).await.expect("delete_endpoint");
    assert_eq!(push.endpoint(&arn).await, Err(PushError::NotFound));
    assert_eq!(push.delete_endpoint(&arn).await, Ok(()));
    assert_eq!(push.enable_endpoint(&arn, &token).await, Err(PushError::NotFound));
    let message = json!({ "default": "hello" }).to_string();
    assert_eq!(push.publish(&arn, &message).await, Err(PushError::NotFound));
}

#[tokio::test]
async fn a_platform_without_an_application_or_with_a_missing_one_cannot_register_devices() {
    let endpoint = moto_endpoint();
    let admin = SnsPush::for_endpoint(&endpoint, PlatformApplications::default());
    let android = platform_application(&admin, "GCM", "unconfigured-android").await;
    let missing = android.replace(":app/GCM/unconfigured-android-", ":app/GCM/missing-android-");
    let push = SnsPush::for_endpoint(
        &endpoint,
        PlatformApplications { android: Some(android), ios: None, web: Some(missing) },
    );

    assert_eq!(
        push.create_endpoint(Platform::Ios, &fresh_apns_token(), "user-1").await,
        Err(PushError::Invalid("no platform application is configured for ios".into()))
    );
    assert_eq!(
        push.create_endpoint(Platform::Web, &fresh_token("web"), "user-1").await,
        Err(PushError::NotFound)
    );
    assert!(push.create_endpoint(Platform::Android, &fresh_token("fcm"), "user-1").await.is_ok());
}

/// The registration routine of `POST /notifications/devices/register`, with the production
/// adapter on moto: a new token gets an endpoint; a disabled endpoint is re-enabled; a deleted
/// one is recreated; unregistering deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_registration_follows_the_endpoint_routine_on_sns() {
    use std::sync::Arc;
    use switchboard_shared::domain::{Principal, Role, UserId};
    use switchboard_shared::ops::{self, RegisterDevice, UnregisterDevice};
    use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
    use switchboard_shared::store::sqlite::SqliteItemStore;
    use switchboard_shared::App;

    let (push, admin) = sns_push("routine").await;
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = Arc::new(SqliteItemStore::open(&dir.path().join("s.db")).expect("a SQLite store"));
    let push = Arc::new(push);
    let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")))
        .with_push(push.clone());
    // The operations as the functions that run them would, their SNS calls recorded.
    let log = Arc::new(AccessLog::default());
    let registering = recording_app(&app, "notifications-register-device", &log);
    let unregistering = recording_app(&app, "notifications-unregister-device", &log);
    let ada = Principal { user_id: UserId::parse("cust-ada").expect("id"), role: Role::Customer, name: None };
    let token = fresh_token("routine");
    let register = || RegisterDevice { token: token.clone(), platform: Platform::Android, app_version: None };

    let device = ops::register_device(&registering, &ada, register()).await.expect("register");
    let state = push.endpoint(&device.endpoint_arn).await.expect("the endpoint exists in SNS");
    assert_eq!(state, EndpointState { token: token.as_str().to_owned(), enabled: true });

    disable(&admin, &device.endpoint_arn).await;
    let again = ops::register_device(&registering, &ada, register()).await.expect("register again");
    assert_eq!(again.endpoint_arn, device.endpoint_arn);
    assert!(push.endpoint(&device.endpoint_arn).await.expect("endpoint").enabled, "re-enabled");

    push.delete_endpoint(&device.endpoint_arn).await.expect("SNS deletes the endpoint");
    let recreated =
        ops::register_device(&registering, &ada, register()).await.expect("register after a delete");
    assert_ne!(recreated.endpoint_arn, device.endpoint_arn);
    assert!(push.endpoint(&recreated.endpoint_arn).await.expect("the new endpoint").enabled);

    ops::unregister_device(&unregistering, &ada, UnregisterDevice { token: token.clone() })
        .await
        .expect("unregister");
    assert_eq!(push.endpoint(&recreated.endpoint_arn).await, Err(PushError::NotFound));
}

/// An admin's send through the production adapter: moto records exactly the FCM v1 + APNs
/// message for the enabled device; a disabled endpoint is logged `endpoint_disabled` and the
/// device marked disabled, so it is not tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_publishes_the_platform_message_and_disables_rejected_devices() {
    use std::sync::Arc;
    use switchboard_shared::domain::{Principal, Role, UserId};
    use switchboard_shared::ops::{self, Notification, RegisterDevice};
    use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
    use switchboard_shared::repo::deliveries::{self, DeliveryStatus, LogListing};
    use switchboard_shared::repo::devices;
    use switchboard_shared::store::sqlite::SqliteItemStore;
    use switchboard_shared::App;

    let (push, admin_client) = sns_push("send").await;
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = Arc::new(SqliteItemStore::open(&dir.path().join("s.db")).expect("a SQLite store"));
    let push = Arc::new(push);
    let app = App::new(store.clone(), Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")))
        .with_push(push.clone());
    // The operations as the functions that run them would, their SNS calls recorded.
    let log = Arc::new(AccessLog::default());
    let registering = recording_app(&app, "notifications-register-device", &log);
    let sending = recording_app(&app, "notifications-send", &log);
    let ada = Principal { user_id: UserId::parse("cust-ada").expect("id"), role: Role::Customer, name: None };
    let eve = Principal { user_id: UserId::parse("admin-eve").expect("id"), role: Role::Admin, name: None };
    let phone = ops::register_device(
        &registering,
        &ada,
        RegisterDevice { token: fresh_token("send-phone"), platform: Platform::Android, app_version: None },
    )
    .await
    .expect("register the phone");
    let tablet = ops::register_device(
        &registering,
        &ada,
        RegisterDevice { token: fresh_apns_token(), platform: Platform::Ios, app_version: None },
    )
    .await
    .expect("register the tablet");
    disable(&admin_client, &tablet.endpoint_arn).await;

    let notification = || Notification {
        category: switchboard_shared::domain::push::Category::Announcement,
        title: "Maintenance".into(),
        body: "Sunday 02:00 UTC".into(),
        session_id: None,
        data: Default::default(),
    };
    let summary = ops::send_notification(&sending, &eve, vec![ada.user_id.clone()], notification())
        .await
        .expect("send");
    assert_eq!((summary.sent, summary.endpoint_disabled, summary.failed), (1, 1, 0));

    let expected = ops::platform_message(&summary.job_id, &notification()).expect("the message");
    let recorded = recorded_messages(&moto_data().await, &phone.endpoint_arn);
    let messages: Vec<&str> = recorded.values().filter_map(Value::as_str).collect();
    assert_eq!(messages, vec![expected.as_str()], "moto recorded another message");
    let (logs, _) = deliveries::list(store.as_ref(), &LogListing::Job(summary.job_id.clone()), 10, None)
        .await
        .expect("the job's logs");
    let sent = logs.iter().find(|l| l.status == DeliveryStatus::Sent).expect("a sent log");
    assert!(
        recorded.contains_key(sent.message_id.as_deref().unwrap_or_default()),
        "the log's message id is moto's"
    );
    assert!(sent.payload.is_none(), "SNS sends: the payload is not kept");
    let stored =
        devices::get(store.as_ref(), &ada.user_id, &tablet.device_id).await.expect("read").expect("tablet");
    assert!(!stored.enabled, "the rejected device was not marked disabled");

    // The disabled device is not tried again: a second send logs it without publishing.
    let again = ops::send_notification(&sending, &eve, vec![ada.user_id.clone()], notification())
        .await
        .expect("send");
    assert_eq!((again.sent, again.endpoint_disabled), (1, 1));
    assert_eq!(recorded_messages(&moto_data().await, &tablet.endpoint_arn).len(), 0);
}
