//! The production `JobQueue` adapter (aws-sdk-sqs) against moto's SQS: a bulk send's chunks,
//! more than one `SendMessageBatch` of them, arrive on the queue as the messages the worker
//! reads. Each test makes its own queue (moto's state is shared).

use std::collections::BTreeSet;
use std::sync::Arc;

use switchboard_shared::domain::push::Category;
use switchboard_shared::domain::{Principal, Role, UserId};
use switchboard_shared::jobs::sqs::SqsJobQueue;
use switchboard_shared::jobs::{BulkChunk, JobQueue};
use switchboard_shared::ops::bulk::{get_bulk_job, start_bulk_send, IdempotencyKey};
use switchboard_shared::ops::Notification;
use switchboard_shared::realtime::apigw::ApiGatewayRealtime;
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::App;
use switchboard_tests::moto_endpoint;
use ulid::Ulid;

/// A queue of its own on moto: an adapter sending to it, and its URL.
async fn fresh_queue() -> (SqsJobQueue, String) {
    let endpoint = moto_endpoint();
    let setup = SqsJobQueue::for_endpoint(&endpoint, "unused");
    let created = setup
        .client()
        .expect("the SQS client")
        .create_queue()
        .queue_name(format!("bulk-{}", Ulid::new()))
        .send()
        .await
        .expect("create a queue");
    let url = created.queue_url().expect("a queue URL").to_owned();
    (SqsJobQueue::for_endpoint(&endpoint, &url), url)
}

#[tokio::test]
async fn every_chunk_of_a_bulk_send_arrives_as_one_message_the_worker_reads() {
    // Arrange
    let (queue, url) = fresh_queue().await;
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = Arc::new(SqliteItemStore::open(&dir.path().join("jobs.db")).expect("a SQLite store"));
    let app = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")));
    let chunks: Vec<BulkChunk> = (0..23)
        .map(|n| BulkChunk {
            job_id: "01JD0000000000000000000009".to_owned(),
            user_ids: vec![UserId::parse(&format!("user-{n}")).expect("a user id")],
        })
        .collect();

    // Act
    queue.enqueue(&app, chunks.clone()).await.expect("enqueue 23 chunks (3 batches)");

    // Assert
    let client = queue.client().expect("the SQS client");
    let mut received = BTreeSet::new();
    for _ in 0..10 {
        let page = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive messages");
        for message in page.messages() {
            let chunk: BulkChunk =
                serde_json::from_str(message.body().expect("a body")).expect("a message is a chunk");
            received.insert(chunk.user_ids[0].to_string());
        }
        if received.len() == chunks.len() {
            break;
        }
    }
    let sent: BTreeSet<String> = chunks.iter().map(|c| c.user_ids[0].to_string()).collect();
    assert_eq!(received, sent);
}

#[tokio::test]
async fn a_bulk_send_the_queue_refuses_is_503_and_its_retry_with_the_key_starts_the_same_job() {
    // Arrange: an app whose queue does not exist on the SQS server, and one with a working queue.
    let endpoint = moto_endpoint();
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    let store = Arc::new(SqliteItemStore::open(&dir.path().join("jobs.db")).expect("a SQLite store"));
    let working = App::new(store, Arc::new(ApiGatewayRealtime::for_endpoint("http://127.0.0.1:9")));
    let missing = format!("{endpoint}/123456789012/no-such-queue-{}", Ulid::new());
    let broken = working.clone().with_jobs(Arc::new(SqsJobQueue::for_endpoint(&endpoint, &missing)));
    let admin =
        Principal { user_id: UserId::parse("admin-eve").expect("a user id"), role: Role::Admin, name: None };
    let recipients = vec![UserId::parse("cust-ada").expect("a user id")];
    let notification = || Notification {
        category: Category::Announcement,
        title: "Maintenance".into(),
        body: "Tonight".into(),
        session_id: None,
        data: Default::default(),
    };
    let key = || Some(IdempotencyKey::parse("announce-1").expect("a key"));

    // Act
    let refused = start_bulk_send(&broken, &admin, key(), recipients.clone(), notification()).await;
    let retried = start_bulk_send(&working, &admin, key(), recipients, notification()).await;

    // Assert: 503 `queue_unavailable` with Retry-After, not a 500; the retry answers the job the
    // refused request stored, and runs it.
    let error = refused.expect_err("the queue refused the job");
    assert_eq!((error.status().as_u16(), error.code()), (503, "queue_unavailable"));
    let response = switchboard_shared::http::error_response(&error, None);
    assert!(response.headers().contains_key("retry-after"));
    let (job, created) = retried.expect("the retry");
    assert!(!created, "the retry answers the stored job");
    let mut progress = get_bulk_job(&working, &admin, &job.job_id).await.expect("the job");
    for _ in 0..400 {
        if progress.done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        progress = get_bulk_job(&working, &admin, &job.job_id).await.expect("the job");
    }
    assert_eq!((progress.done, progress.skipped), (true, 1), "{progress:?}");
}
