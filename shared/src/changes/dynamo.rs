//! A table's DynamoDB Stream read through the streams API (`DescribeStream`, `GetShardIterator`,
//! `GetRecords`) as a [`ChangeFeed`]: the local gateway on a DynamoDB-compatible server (moto)
//! consumes the same records Lambda's event-source mapping hands `changes-process` in AWS.
//!
//! Positions are kept per shard in memory: a restarted gateway reads the stream again from its
//! oldest record (`TRIM_HORIZON`), which the reactions' idempotency makes harmless.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Region};
use aws_sdk_dynamodbstreams::error::DisplayErrorContext;
use aws_sdk_dynamodbstreams::types::{AttributeValue, OperationType, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use serde_json::{Number, Value};
use tokio::sync::Mutex;

use crate::config::{https_client, local_environment, AwsLimits};
use crate::store::changes::{ChangeKind, ChangeRecord};
use crate::store::{Item, StoreError, PK, SK};

use super::ChangeFeed;

/// How often an idle consumer asks the stream for new records: as often as Lambda's batching
/// window lets a reaction wait (a drain asks at once). moto answers one request at a time, so
/// every gateway on it polling faster would slow every other client of the server.
const POLL: Duration = Duration::from_secs(1);

/// One shard of the stream and where the consumer is in it.
#[derive(Debug, Default)]
struct Shard {
    id: String,
    /// The iterator to read next with; `None`: get one after `last`.
    iterator: Option<String>,
    /// The sequence of the last record checkpointed.
    last: Option<String>,
    /// The shard is closed and read to its end.
    finished: bool,
}

#[derive(Debug, Default)]
struct Position {
    shards: Vec<Shard>,
    /// The shard the last batch came from.
    current: Option<usize>,
}

/// The stream of one table, read by one consumer.
#[derive(Debug)]
pub struct StreamFeed {
    client: Client,
    stream_arn: String,
    position: Mutex<Position>,
}

impl StreamFeed {
    /// The stream `stream_arn` on the server at `endpoint` (credentials and region from the
    /// environment, as the other local clients).
    pub fn for_endpoint(endpoint: &str, stream_arn: &str) -> Result<Self, StoreError> {
        let (region, credentials) = local_environment();
        let limits = AwsLimits::from_env().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let http =
            https_client(endpoint.starts_with("https://")).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let config = aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(credentials)
            .timeout_config(limits.timeout_config())
            .retry_config(limits.retry_config())
            .http_client(http)
            .endpoint_url(endpoint)
            .build();
        Ok(Self {
            client: Client::from_conf(config),
            stream_arn: stream_arn.to_owned(),
            position: Mutex::default(),
        })
    }

    /// Learns the stream's shards (new ones appear as DynamoDB splits them).
    async fn describe(&self, position: &mut Position) -> Result<(), StoreError> {
        let mut start: Option<String> = None;
        loop {
            let described = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(unavailable)?;
            let Some(description) = described.stream_description() else { return Ok(()) };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if !position.shards.iter().any(|known| known.id == id) {
                    position.shards.push(Shard { id: id.to_owned(), ..Shard::default() });
                }
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => return Ok(()),
            }
        }
    }

    /// An iterator at the shard's position.
    async fn iterator(&self, shard: &Shard) -> Result<Option<String>, StoreError> {
        let request = self.client.get_shard_iterator().stream_arn(&self.stream_arn).shard_id(&shard.id);
        let request = match &shard.last {
            Some(last) => {
                request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(last)
            }
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        Ok(request.send().await.map_err(unavailable)?.shard_iterator().map(str::to_owned))
    }
}

fn unavailable(error: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(format!("dynamodb streams: {}", DisplayErrorContext(&error)))
}

#[async_trait]
impl ChangeFeed for StreamFeed {
    async fn next_batch(&self, limit: usize) -> Result<Vec<ChangeRecord>, StoreError> {
        let mut position = self.position.lock().await;
        if position.shards.iter().all(|shard| shard.finished) {
            self.describe(&mut position).await?;
        }
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        for index in 0..position.shards.len() {
            if position.shards[index].finished {
                continue;
            }
            let iterator = match position.shards[index].iterator.take() {
                Some(iterator) => Some(iterator),
                None => self.iterator(&position.shards[index]).await?,
            };
            let Some(iterator) = iterator else {
                position.shards[index].finished = true;
                continue;
            };
            let got = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(limit)
                .send()
                .await
                .map_err(unavailable)?;
            let shard = &mut position.shards[index];
            match got.next_shard_iterator() {
                Some(next) => shard.iterator = Some(next.to_owned()),
                None => shard.finished = true,
            }
            if !got.records().is_empty() {
                position.current = Some(index);
                let shard = &position.shards[index].id;
                return got.records().iter().map(|record| change_record(shard, record)).collect();
            }
        }
        Ok(Vec::new())
    }

    async fn checkpoint(&self, record: &ChangeRecord) -> Result<(), StoreError> {
        let mut position = self.position.lock().await;
        if let Some(index) = position.current {
            position.shards[index].last = Some(record.sequence.clone());
        }
        Ok(())
    }

    async fn rewind(&self) {
        let mut position = self.position.lock().await;
        if let Some(index) = position.current {
            let shard = &mut position.shards[index];
            shard.iterator = None;
            shard.finished = false;
        }
    }

    async fn changed(&self, idle: Duration) {
        tokio::time::sleep(idle.min(POLL)).await;
    }
}

/// A stream record of `shard` as the feed's record.
fn change_record(shard: &str, record: &Record) -> Result<ChangeRecord, StoreError> {
    let invalid = |what: &str| StoreError::Backend(format!("a stream record without {what}"));
    let kind = match record.event_name() {
        Some(OperationType::Insert) => ChangeKind::Insert,
        Some(OperationType::Modify) => ChangeKind::Modify,
        Some(OperationType::Remove) => ChangeKind::Remove,
        _ => return Err(invalid("a known event name")),
    };
    let change = record.dynamodb().ok_or_else(|| invalid("its change"))?;
    let keys = change.keys().map(item).transpose()?.ok_or_else(|| invalid("keys"))?;
    let key =
        |name: &str| keys.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| invalid(name));
    Ok(ChangeRecord {
        sequence: change.sequence_number().ok_or_else(|| invalid("a sequence number"))?.to_owned(),
        shard: shard.to_owned(),
        kind,
        pk: key(PK)?,
        sk: key(SK)?,
        old: change.old_image().map(item).transpose()?,
        new: change.new_image().map(item).transpose()?,
        at_ms: change.approximate_creation_date_time().map_or(0, |at| at.secs() * 1000),
    })
}

/// A stream's attribute values as an item.
fn item(attributes: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    attributes.iter().map(|(name, value)| Ok((name.clone(), json(value)?))).collect()
}

/// One attribute value as JSON, as the item store's DynamoDB adapter reads it.
fn json(value: &AttributeValue) -> Result<Value, StoreError> {
    let number = |text: &str| -> Result<Value, StoreError> {
        let parsed = text
            .parse::<i64>()
            .map(Number::from)
            .or_else(|_| text.parse::<u64>().map(Number::from))
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64));
        parsed.map(Value::Number).ok_or_else(|| StoreError::Backend(format!("a stream number {text:?}")))
    };
    Ok(match value {
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(text) => number(text)?,
        AttributeValue::Bool(flag) => Value::Bool(*flag),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::M(map) => Value::Object(item(map)?),
        AttributeValue::L(list) => Value::Array(list.iter().map(json).collect::<Result<_, _>>()?),
        AttributeValue::Ss(texts) => Value::Array(texts.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(texts) => Value::Array(texts.iter().map(|t| number(t)).collect::<Result<_, _>>()?),
        other => {
            return Err(StoreError::Backend(format!("a stream attribute the store never writes: {other:?}")))
        }
    })
}
