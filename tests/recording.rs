//! What each function calls in AWS, recorded while the tests run: ports that pass every call on
//! and note the IAM action AWS authorizes it by and the resource it names, as the adapters make
//! the calls (`shared/src/store/dynamo.rs`, `push/sns.rs`, `reports/s3.rs`, `realtime/apigw.rs`,
//! `mail/ses.rs`, `attachments/bucket.rs` for the inbound e-mail bucket).
//! Each process appends what it saw once to a file in [`records_dir`]; after the tests,
//! `scripts/test.sh` runs the `iam-check` binary, which compares them with the functions'
//! policies in `infra/template.yaml` (`switchboard_local::iam`).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_trait::async_trait;
use switchboard_local::iam::{Access, Resource};
use switchboard_notifications::{BULK_SEND, BULK_WORKER};
use switchboard_shared::attachments::store::{AttachmentObjects, AttachmentStoreError};
use switchboard_shared::domain::ConnectionId;
use switchboard_shared::jobs::local::InProcessJobQueue;
use switchboard_shared::mail::{Email, MailError, Mailer};
use switchboard_shared::ops::email::Mailing;
use switchboard_shared::push::{DeviceToken, EndpointState, Platform, Push, PushError};
use switchboard_shared::realtime::{PostError, Realtime};
use switchboard_shared::reports::{DownloadLink, ReportId, ReportStore, ReportStoreError, StoredReport};
use switchboard_shared::store::{
    Condition, Item, ItemStore, Key, NamedTxOp, Page, Query, RawPage, StoreError, TxOp, UpdateAction,
};
use switchboard_shared::App;
use time::OffsetDateTime;

/// Environment variable naming the folder the records go to (`scripts/test.sh` sets it and
/// empties the folder before the tests).
pub const RECORDS: &str = "SWITCHBOARD_IAM_RECORDS";

/// The folder of the records: [`RECORDS`], or `tmp/iam-records` in the cargo target folder
/// the running binary was built in.
pub fn records_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(RECORDS) {
        return dir.into();
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("tmp").join("iam-records")
}

/// Every access recorded in `dir` (one JSON [`Access`] a line, in any number of files).
pub fn read_records(dir: &Path) -> Result<BTreeSet<Access>, String> {
    let mut accesses = BTreeSet::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            let access =
                serde_json::from_str(&line).map_err(|e| format!("{}: {line}: {e}", path.display()))?;
            accesses.insert(access);
        }
    }
    Ok(accesses)
}

/// This process's records file, and what it already holds.
struct RecordsFile {
    file: File,
    written: BTreeSet<Access>,
}

fn append(access: &Access) {
    static FILE: OnceLock<Mutex<RecordsFile>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = records_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create the IAM records folder {}: {e}", dir.display()));
        let stem = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let path = dir.join(format!("{stem}-{}.jsonl", std::process::id()));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open the IAM records file {}: {e}", path.display()));
        Mutex::new(RecordsFile { file, written: BTreeSet::new() })
    });
    let mut records = file.lock().unwrap_or_else(PoisonError::into_inner);
    if records.written.insert(access.clone()) {
        let line = serde_json::to_string(access).expect("an access is JSON");
        writeln!(records.file, "{line}").expect("append to the IAM records file");
    }
}

/// The accesses of one gateway's functions; each is also appended to this process's records.
#[derive(Debug, Default)]
pub struct AccessLog {
    seen: Mutex<BTreeSet<Access>>,
}

impl AccessLog {
    fn record(&self, function: &str, action: &str, resource: Resource) {
        let access = Access::new(function, action, resource);
        let new = self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(access.clone());
        if new {
            append(&access);
        }
    }

    /// Everything recorded so far.
    pub fn accesses(&self) -> BTreeSet<Access> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// `app` as the function `function` runs it: every port records its calls in `log`.
pub fn recording_app(app: &App, function: &'static str, log: &Arc<AccessLog>) -> App {
    let by = || Recorder { function, log: Arc::clone(log) };
    let recorded = App::new(
        Arc::new(RecordingStore { inner: Arc::clone(&app.store), by: by() }),
        Arc::new(RecordingRealtime { inner: Arc::clone(&app.realtime), by: by() }),
    )
    .with_push(Arc::new(RecordingPush { inner: Arc::clone(&app.push), by: by() }));
    // A bulk send's chunks are the worker function's calls in AWS (SQS hands them over), not
    // the calls of the function that enqueued them.
    let recorded = if function == BULK_SEND.name {
        let worker = recording_app(app, BULK_WORKER.name, log);
        recorded.with_jobs(Arc::new(InProcessJobQueue::with_worker(worker)))
    } else {
        recorded
    };
    // Signing widget tokens and attachment links calls nothing outside the function; storing
    // attachment files calls the attachments bucket.
    let recorded = App {
        widget_tokens: app.widget_tokens.clone(),
        widget_token_limit: app.widget_token_limit,
        attachment_links: app.attachment_links.clone(),
        attachment_limits: app.attachment_limits.clone(),
        attachment_objects: app.attachment_objects.clone().map(|objects| {
            Arc::new(RecordingObjects::attachments(objects, function, log)) as Arc<dyn AttachmentObjects>
        }),
        ..recorded
    };
    // The e-mail sweep's sends are SES calls of its own.
    let recorded = match &app.mailing {
        Some(mailing) => recorded.with_mailing(Arc::new(Mailing {
            mailer: Arc::new(RecordingMailer::new(Arc::clone(&mailing.mailer), function, log)),
            from_address: mailing.from_address.clone(),
            api_base_url: mailing.api_base_url.clone(),
            inbound_domain: mailing.inbound_domain.clone(),
        })),
        None => recorded,
    };
    match &app.reports {
        Some(reports) => {
            recorded.with_reports(Arc::new(RecordingReports { inner: Arc::clone(reports), by: by() }))
        }
        None => recorded,
    }
}

struct Recorder {
    function: &'static str,
    log: Arc<AccessLog>,
}

impl Recorder {
    fn note(&self, action: &str, resource: Resource) {
        self.log.record(self.function, action, resource);
    }
}

/// The table or the index a query reads.
fn queried(query: &Query) -> Resource {
    match query.index {
        Some(index) => Resource::Index(index.to_owned()),
        None => Resource::Table,
    }
}

struct RecordingStore {
    inner: Arc<dyn ItemStore>,
    by: Recorder,
}

#[async_trait]
impl ItemStore for RecordingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.by.note("dynamodb:GetItem", Resource::Table);
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.by.note("dynamodb:PutItem", Resource::Table);
        self.inner.put(item, condition).await
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.by.note("dynamodb:UpdateItem", Resource::Table);
        self.inner.update(key, actions, condition).await
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        self.by.note("dynamodb:DeleteItem", Resource::Table);
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.by.note("dynamodb:Query", queried(&query));
        self.inner.query(query).await
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.by.note("dynamodb:Query", queried(&query));
        self.inner.count(query).await
    }

    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        if !keys.is_empty() {
            self.by.note("dynamodb:BatchGetItem", Resource::Table);
        }
        self.inner.get_many(keys).await
    }

    // DynamoDB runs these as one Query each (and `put_many` as PutItems): the actions of the
    // calls underneath.
    async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
        queries.iter().for_each(|query| self.by.note("dynamodb:Query", queried(query)));
        self.inner.query_many(queries).await
    }

    async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
        queries.iter().for_each(|query| self.by.note("dynamodb:Query", queried(query)));
        self.inner.query_many_raw(queries).await
    }

    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        if !items.is_empty() {
            self.by.note("dynamodb:PutItem", Resource::Table);
        }
        self.inner.put_many(items).await
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        // TransactWriteItems is authorized by the action of each of its operations.
        for NamedTxOp { op, .. } in &ops {
            let action = match op {
                TxOp::Put { .. } => "dynamodb:PutItem",
                TxOp::Update { .. } => "dynamodb:UpdateItem",
                TxOp::Delete { .. } => "dynamodb:DeleteItem",
                TxOp::Check { .. } => "dynamodb:ConditionCheckItem",
            };
            self.by.note(action, Resource::Table);
        }
        self.inner.transact_write(ops).await
    }
}

struct RecordingRealtime {
    inner: Arc<dyn Realtime>,
    by: Recorder,
}

#[async_trait]
impl Realtime for RecordingRealtime {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        self.by.note("execute-api:ManageConnections", Resource::Connection);
        self.inner.post(connection, frame).await
    }
}

struct RecordingPush {
    inner: Arc<dyn Push>,
    by: Recorder,
}

#[async_trait]
impl Push for RecordingPush {
    async fn create_endpoint(
        &self,
        platform: Platform,
        token: &DeviceToken,
        user_data: &str,
    ) -> Result<String, PushError> {
        self.by
            .note("sns:CreatePlatformEndpoint", Resource::PlatformApplication(platform.as_str().to_owned()));
        self.inner.create_endpoint(platform, token, user_data).await
    }

    async fn endpoint(&self, arn: &str) -> Result<EndpointState, PushError> {
        self.by.note("sns:GetEndpointAttributes", Resource::PlatformEndpoint);
        self.inner.endpoint(arn).await
    }

    async fn enable_endpoint(&self, arn: &str, token: &DeviceToken) -> Result<(), PushError> {
        self.by.note("sns:SetEndpointAttributes", Resource::PlatformEndpoint);
        self.inner.enable_endpoint(arn, token).await
    }

    async fn delete_endpoint(&self, arn: &str) -> Result<(), PushError> {
        self.by.note("sns:DeleteEndpoint", Resource::PlatformEndpoint);
        self.inner.delete_endpoint(arn).await
    }

    fn keeps_payloads(&self) -> bool {
        self.inner.keeps_payloads()
    }

    async fn publish(&self, arn: &str, message: &str) -> Result<String, PushError> {
        self.by.note("sns:Publish", Resource::PlatformEndpoint);
        self.inner.publish(arn, message).await
    }
}

/// The mailer of the function `function`: passes each e-mail on to `inner` and records the
/// `ses:SendEmail` SES authorizes it by, on the identity of the function's sender.
pub struct RecordingMailer {
    inner: Arc<dyn Mailer>,
    by: Recorder,
}

impl RecordingMailer {
    /// `inner` as `function` uses it, its sends recorded in `log`.
    pub fn new(inner: Arc<dyn Mailer>, function: &'static str, log: &Arc<AccessLog>) -> Self {
        Self { inner, by: Recorder { function, log: Arc::clone(log) } }
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        // In AWS the sweep sends with the template's configuration set (`EMAIL_CONFIGURATION_SET`).
        self.by.note("ses:SendEmail", Resource::EmailIdentity);
        self.by.note("ses:SendEmail", Resource::EmailConfigurationSet);
        self.inner.send(email).await
    }
}

/// A bucket's objects as the function `function` reaches them (the inbound e-mail bucket, the
/// attachments bucket): passes each call on to `inner` and records the S3 action it is authorized
/// by, on the object it names.
pub struct RecordingObjects {
    inner: Arc<dyn AttachmentObjects>,
    by: Recorder,
    /// The resource of an object, by key.
    object: fn(String) -> Resource,
    /// The resource of the bucket itself.
    bucket: Resource,
}

impl RecordingObjects {
    /// The inbound e-mail bucket `inner` as `function` uses it, its calls recorded in `log`.
    pub fn inbound_mail(
        inner: Arc<dyn AttachmentObjects>,
        function: &'static str,
        log: &Arc<AccessLog>,
    ) -> Self {
        let by = Recorder { function, log: Arc::clone(log) };
        Self { inner, by, object: Resource::InboundMail, bucket: Resource::InboundMailBucket }
    }

    /// The attachments bucket `inner` as `function` uses it, its calls recorded in `log`.
    pub fn attachments(
        inner: Arc<dyn AttachmentObjects>,
        function: &'static str,
        log: &Arc<AccessLog>,
    ) -> Self {
        let by = Recorder { function, log: Arc::clone(log) };
        Self { inner, by, object: Resource::AttachmentObject, bucket: Resource::AttachmentsBucket }
    }

    fn note(&self, action: &str, key: &str) {
        self.by.note(action, (self.object)(key.to_owned()));
    }
}

#[async_trait]
impl AttachmentObjects for RecordingObjects {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, AttachmentStoreError> {
        let found = self.inner.get(key).await;
        self.note("s3:GetObject", key);
        // S3 answers a read of a missing object 404 only to a caller that may list the bucket.
        if matches!(found, Ok(None)) {
            self.by.note("s3:ListBucket", self.bucket.clone());
        }
        found
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AttachmentStoreError> {
        self.note("s3:PutObject", key);
        self.inner.put(key, bytes, content_type).await
    }

    async fn put_unchecked(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), AttachmentStoreError> {
        // A PutObject with x-amz-tagging is authorized by both actions.
        self.note("s3:PutObject", key);
        self.note("s3:PutObjectTagging", key);
        self.inner.put_unchecked(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.note("s3:DeleteObject", key);
        self.inner.delete(key).await
    }

    async fn clear_tags(&self, key: &str) -> Result<(), AttachmentStoreError> {
        self.note("s3:DeleteObjectTagging", key);
        self.inner.clear_tags(key).await
    }

    async fn scan_verdict(&self, key: &str) -> Result<Option<String>, AttachmentStoreError> {
        self.note("s3:GetObjectTagging", key);
        self.inner.scan_verdict(key).await
    }
}

struct RecordingReports {
    inner: Arc<dyn ReportStore>,
    by: Recorder,
}

impl RecordingReports {
    /// A read of an object; S3 answers a missing one 404 only to a caller that may list the
    /// bucket (403 otherwise), so a miss needs `s3:ListBucket` too.
    fn read<T>(&self, id: &ReportId, found: &Result<Option<T>, ReportStoreError>) {
        self.by.note("s3:GetObject", Resource::ReportObject(id.object_name()));
        if matches!(found, Ok(None)) {
            self.by.note("s3:ListBucket", Resource::ReportBucket { prefix: None });
        }
    }
}

#[async_trait]
impl ReportStore for RecordingReports {
    async fn put(&self, id: &ReportId, bytes: Vec<u8>, content_type: &str) -> Result<(), ReportStoreError> {
        self.by.note("s3:PutObject", Resource::ReportObject(id.object_name()));
        self.inner.put(id, bytes, content_type).await
    }

    async fn get(&self, id: &ReportId) -> Result<Option<Vec<u8>>, ReportStoreError> {
        let found = self.inner.get(id).await;
        self.read(id, &found);
        found
    }

    async fn info(&self, id: &ReportId) -> Result<Option<StoredReport>, ReportStoreError> {
        let found = self.inner.info(id).await;
        self.read(id, &found);
        found
    }

    async fn list(
        &self,
        limit: usize,
        after: Option<ReportId>,
    ) -> Result<(Vec<StoredReport>, Option<ReportId>), ReportStoreError> {
        // S3ReportStore lists the daily reports' prefix.
        self.by.note("s3:ListBucket", Resource::ReportBucket { prefix: Some("daily/".into()) });
        self.inner.list(limit, after).await
    }

    async fn download_link(
        &self,
        id: &ReportId,
        now: OffsetDateTime,
    ) -> Result<DownloadLink, ReportStoreError> {
        // A presigned GET is authorized as this function's GetObject when it is used.
        self.by.note("s3:GetObject", Resource::ReportObject(id.object_name()));
        self.inner.download_link(id, now).await
    }
}
