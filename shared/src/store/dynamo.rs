//! DynamoDB adapter of the item store.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason, ConditionCheck, Delete,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ReturnValue, ScalarAttributeType, Select, StreamSpecification, StreamViewType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use super::validate::{check_index_keys, check_key, check_query};
use super::{
    Condition, Cursor, Item, ItemStore, Key, KeyRange, NamedTxOp, Page, Query, StoreError, TxOp,
    UpdateAction, INDEXES, MAX_TRANSACTION_OPS, PK, SK,
};

/// Most keys in one `BatchGetItem`.
const BATCH_GET_KEYS: usize = 100;
/// Calls of `BatchGetItem` for one batch of keys before its unprocessed keys are given up on
/// (the first, then retries after a doubling pause, as AWS advises).
const BATCH_GET_ATTEMPTS: u32 = 6;
/// The pause before the first retry of unprocessed keys.
const BATCH_GET_BACKOFF_MS: u64 = 20;

/// Retries of a transaction cancelled only because another one touched the same item.
const MAX_CONFLICT_RETRIES: u32 = 3;
/// First backoff before such a retry, doubled each time (20, 40, 80 ms).
const CONFLICT_BACKOFF_MS: u64 = 10;

/// DynamoDB's Limit counts items before the filter, so a selective filter can need many reads to
/// fill one page; past this many the page is returned short, with a cursor, to bound latency.
const MAX_READS_PER_PAGE: usize = 20;

/// How long `create_table` waits for a new table to become usable.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// The table's stream: both images of every change, for the change feed's reactions.
fn stream_specification() -> Result<StreamSpecification, StoreError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(build_error)
}

/// Attribute values as the SDK carries them.
type Attributes = HashMap<String, AttributeValue>;

/// The item store on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoItemStore {
    client: Client,
    table: String,
}

impl DynamoItemStore {
    /// A Query request for `query`'s partition, range and filter (its page and order are the
    /// caller's), with only the key attributes when `keys_only`; `keys` are the queried key
    /// attributes, as `check_query` gave them.
    fn query_request(
        &self,
        query: &Query,
        (pk_name, sk_name): (&str, &str),
        keys_only: bool,
    ) -> Result<aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder, StoreError> {
        let mut expression = Expression::default();
        let key_condition = expression.key_condition(pk_name, sk_name, &query.partition, &query.range);
        let filter = expression.optional_condition(query.filter.as_ref())?;
        let projection = keys_only.then(|| {
            query
                .key_attributes()
                .into_iter()
                .map(|name| expression.name(name))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let (names, values) = expression.into_parts();
        Ok(self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            // Indexes only offer eventually consistent reads; asking for more is a ValidationException.
            .consistent_read(query.index.is_none()))
    }
    /// A store on `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its key schema and indexes and waits until it is active. Production
    /// tables come from the SAM template (which also sets TTL and PITR); this is for tests and
    /// local setups.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key_schema = |pk: &str, sk: &str| -> Result<Vec<KeySchemaElement>, StoreError> {
            Ok(vec![
                KeySchemaElement::builder()
                    .attribute_name(pk)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build_error)?,
                KeySchemaElement::builder()
                    .attribute_name(sk)
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(build_error)?,
            ])
        };

        let mut definitions = vec![string_attribute(PK)?, string_attribute(SK)?];
        let mut indexes = Vec::with_capacity(INDEXES.len());
        for def in INDEXES {
            definitions.push(string_attribute(def.pk)?);
            definitions.push(string_attribute(def.sk)?);
            indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(def.name)
                    .set_key_schema(Some(key_schema(def.pk, def.sk)?))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .map_err(build_error)?,
            );
        }

        self.client
            .create_table()
            .table_name(&self.table)
            .set_attribute_definitions(Some(definitions))
            .set_key_schema(Some(key_schema(PK, SK)?))
            .set_global_secondary_indexes(Some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(stream_specification()?)
            .send()
            .await
            .map_err(|e| store_error(&e, |_| false))?;

        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(TABLE_ACTIVE_TIMEOUT)
            .await
            .map_err(|e| StoreError::Backend(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    /// The ARN of the table's stream (`NEW_AND_OLD_IMAGES`, as the template declares it),
    /// turning the stream on first when a table made before it has none.
    pub async fn stream_arn(&self) -> Result<String, StoreError> {
        let described = self.client.describe_table().table_name(&self.table).send().await;
        let table = described.map_err(|e| store_error(&e, |_| false))?.table;
        if let Some(arn) = table.and_then(|t| t.latest_stream_arn) {
            return Ok(arn);
        }
        let updated = self
            .client
            .update_table()
            .table_name(&self.table)
            .stream_specification(stream_specification()?)
            .send()
            .await
            .map_err(|e| store_error(&e, |_| false))?;
        updated
            .table_description
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| StoreError::Backend(format!("table {} has no stream", self.table)))
    }

    /// Creates the table unless it exists (the local gateway on a DynamoDB-compatible server).
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
                self.create_table().await
            }
            Err(e) => Err(store_error(&e, |_| false)),
        }
    }

    fn transact_item(&self, op: TxOp) -> Result<TransactWriteItem, StoreError> {
        let mut expression = Expression::default();
        let builder = TransactWriteItem::builder();
        let builder = match op {
            TxOp::Put { item, condition } => {
                check_item_key(&item)?;
                let condition = expression.optional_condition(condition.as_ref())?;
                let (names, values) = expression.into_parts();
                builder.put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attributes(item)?))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TxOp::Update { key, actions, condition } => {
                let update = expression.update(&actions)?;
                let condition = expression.optional_condition(condition.as_ref())?;
                let (names, values) = expression.into_parts();
                builder.update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(&key)))
                        .update_expression(update)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TxOp::Delete { key, condition } => {
                let condition = expression.optional_condition(condition.as_ref())?;
                let (names, values) = expression.into_parts();
                builder.delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(&key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TxOp::Check { key, condition } => {
                let condition = expression.condition(&condition)?;
                let (names, values) = expression.into_parts();
                builder.condition_check(
                    ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(key_attributes(&key)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
        };
        Ok(builder.build())
    }
}

#[async_trait]
impl ItemStore for DynamoItemStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&e, |_| false))?;
        output.item.map(from_attributes).transpose()
    }

    async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
        keys.iter().try_for_each(check_key)?;
        // BatchGetItem refuses a key asked twice in one call.
        let mut seen = HashSet::new();
        let distinct: Vec<&Key> =
            keys.iter().filter(|k| seen.insert((k.pk.as_str(), k.sk.as_str()))).collect();
        let mut found: HashMap<(String, String), Item> = HashMap::with_capacity(distinct.len());
        for batch in distinct.chunks(BATCH_GET_KEYS) {
            let mut pending: Vec<Attributes> = batch.iter().map(|key| key_attributes(key)).collect();
            for attempt in 0..BATCH_GET_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(BATCH_GET_BACKOFF_MS << attempt)).await;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| store_error(&e, |_| false))?;
                let items = output.responses.and_then(|mut tables| tables.remove(&self.table));
                for item in items.unwrap_or_default() {
                    let item = from_attributes(item)?;
                    let (pk, sk) = check_item_key(&item)?;
                    found.insert((pk.to_owned(), sk.to_owned()), item);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.table))
                    .map(|unprocessed| unprocessed.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(format!(
                    "{} keys were still unprocessed after {BATCH_GET_ATTEMPTS} BatchGetItem calls",
                    pending.len()
                )));
            }
        }
        Ok(keys.iter().map(|key| found.get(&(key.pk.clone(), key.sk.clone())).cloned()).collect())
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        check_item_key(&item)?;
        check_index_keys(&item)?;
        let mut expression = Expression::default();
        let condition = expression.optional_condition(condition.as_ref())?;
        let (names, values) = expression.into_parts();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)?))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(|e| store_error(&e, PutItemError::is_conditional_check_failed_exception))?;
        Ok(())
    }

    async fn update(
        &self,
        key: &Key,
        actions: Vec<UpdateAction>,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        check_key(key)?;
        let mut expression = Expression::default();
        let update = expression.update(&actions)?;
        let condition = expression.optional_condition(condition.as_ref())?;
        let (names, values) = expression.into_parts();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| store_error(&e, UpdateItemError::is_conditional_check_failed_exception))?;
        let attributes =
            output.attributes.ok_or_else(|| StoreError::Backend("update returned no item".to_owned()))?;
        from_attributes(attributes)
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
        check_key(key)?;
        let mut expression = Expression::default();
        let condition = expression.optional_condition(condition.as_ref())?;
        let (names, values) = expression.into_parts();
        let output = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| store_error(&e, DeleteItemError::is_conditional_check_failed_exception))?;
        output.attributes.filter(|a| !a.is_empty()).map(from_attributes).transpose()
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let (pk_name, sk_name) = check_query(&query)?;
        let mut start_key = match &query.cursor {
            Some(cursor) => {
                cursor.check_fits(&query)?;
                Some(to_attributes(cursor.attributes().clone())?)
            }
            None => None,
        };

        let request = self
            .query_request(&query, (pk_name, sk_name), query.keys_only)?
            .scan_index_forward(query.ascending);

        let mut items = Vec::with_capacity(query.limit);
        for _ in 0..MAX_READS_PER_PAGE {
            // limit <= MAX_QUERY_LIMIT, so the cast cannot truncate.
            let wanted = (query.limit - items.len()) as i32;
            let output = request
                .clone()
                .limit(wanted)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| store_error(&e, |_| false))?;
            for attributes in output.items.unwrap_or_default() {
                items.push(from_attributes(attributes)?);
            }
            start_key = output.last_evaluated_key.filter(|k| !k.is_empty());
            if start_key.is_none() || items.len() >= query.limit {
                break;
            }
        }
        let next = start_key.map(from_attributes).transpose()?.map(Cursor::from_attributes);
        Ok(Page { items, next })
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        let query = query.cursor(None);
        let keys = check_query(&query)?;
        let request = self.query_request(&query, keys, false)?.select(Select::Count);
        // Each call counts up to 1 MB of the partition read; the last says where to go on.
        let mut count = 0;
        let mut start_key = None;
        loop {
            let output = request
                .clone()
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| store_error(&e, |_| false))?;
            count += u64::try_from(output.count).unwrap_or(0);
            start_key = output.last_evaluated_key.filter(|k| !k.is_empty());
            if start_key.is_none() {
                return Ok(count);
            }
        }
    }

    async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
        if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
            return Err(StoreError::Invalid(format!(
                "a transaction takes 1..={MAX_TRANSACTION_OPS} operations"
            )));
        }
        // DynamoDB refuses this too, but checking here keeps the error the same on every backend.
        let mut keys = HashSet::with_capacity(ops.len());
        for NamedTxOp { op, .. } in &ops {
            let key = match op {
                TxOp::Put { item, .. } => {
                    check_index_keys(item)?;
                    check_item_key(item)?
                }
                TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => {
                    check_key(key)?;
                    (key.pk.as_str(), key.sk.as_str())
                }
            };
            if !keys.insert(key) {
                return Err(StoreError::Invalid(format!("transaction touches {key:?} more than once")));
            }
        }
        // DynamoDB reports cancellation reasons by position: the names map them back.
        let names: Vec<&'static str> = ops.iter().map(|named| named.name).collect();
        let items =
            ops.into_iter().map(|named| self.transact_item(named.op)).collect::<Result<Vec<_>, _>>()?;

        // DynamoDB cancels one of two transactions that touch the same item at once
        // (`TransactionConflict`), e.g. two messages sent to one session: that is contention, not
        // a refusal, so it is retried with a short backoff before it counts as a failure.
        let mut attempt = 0;
        loop {
            let result =
                self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) =
                err.as_service_error()
            else {
                return Err(store_error(&err, |_| false));
            };
            let reasons = canceled.cancellation_reasons();
            let conflict_only = reasons.iter().any(|r| r.code() == Some("TransactionConflict"))
                && reasons.iter().all(|r| matches!(r.code(), None | Some("None" | "TransactionConflict")));
            if conflict_only && attempt < MAX_CONFLICT_RETRIES {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(CONFLICT_BACKOFF_MS << attempt)).await;
                continue;
            }
            return Err(cancellation_error(reasons, &names, &DisplayErrorContext(&err).to_string()));
        }
    }
}

/// Builds condition, update and key-condition expressions, replacing every attribute name and
/// value with a placeholder so reserved words (`status`, `name`, `role`...) need no special care.
#[derive(Debug, Default)]
struct Expression {
    /// Attribute name → its `#n` placeholder; one placeholder per distinct name.
    names: HashMap<String, String>,
    /// `:v` placeholder → value.
    values: Attributes,
}

impl Expression {
    fn name(&mut self, attribute: &str) -> String {
        let next = self.names.len();
        self.names.entry(attribute.to_owned()).or_insert_with(|| format!("#n{next}")).clone()
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn json_value(&mut self, value: &Value) -> Result<String, StoreError> {
        let value = serde_dynamo::to_attribute_value(value)
            .map_err(|e| StoreError::Invalid(format!("value not storable: {e}")))?;
        Ok(self.value(value))
    }

    fn optional_condition(&mut self, condition: Option<&Condition>) -> Result<Option<String>, StoreError> {
        condition.map(|c| self.condition(c)).transpose()
    }

    /// Compound conditions come back wrapped in parentheses, so they nest without regard to
    /// DynamoDB's operator precedence.
    fn condition(&mut self, condition: &Condition) -> Result<String, StoreError> {
        Ok(match condition {
            Condition::NotExists => format!("attribute_not_exists({})", self.name(PK)),
            Condition::Exists => format!("attribute_exists({})", self.name(PK)),
            Condition::AttributeExists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::AttributeNotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            // `attribute_exists` and `attribute_type` guards change nothing on DynamoDB, which
            // already answers false for a missing attribute or another type; they keep
            // DynamoDB-compatible servers that compare loosely (moto) to the same answer.
            Condition::Equals(a, v) => {
                let name = self.name(a);
                format!("(attribute_exists({name}) AND {name} = {})", self.json_value(v)?)
            }
            Condition::NotEquals(a, v) => format!("{} <> {}", self.name(a), self.json_value(v)?),
            Condition::LessThan(a, v) => self.ordering(a, "<", v)?,
            Condition::GreaterThan(a, v) => self.ordering(a, ">", v)?,
            Condition::BeginsWith(a, prefix) => {
                // DynamoDB would hold `begins_with(a, "")` true for any string: refused as on
                // every backend.
                if prefix.is_empty() {
                    return Err(StoreError::Invalid("begins_with needs a prefix".into()));
                }
                let name = self.name(a);
                format!("begins_with({name}, {})", self.s(prefix))
            }
            Condition::And(conditions) => self.junction(conditions, "AND")?,
            Condition::Or(conditions) => self.junction(conditions, "OR")?,
            Condition::Not(inner) => match inner.as_ref() {
                // These already come back parenthesised; DynamoDB refuses redundant parentheses.
                Condition::And(_)
                | Condition::Or(_)
                | Condition::Not(_)
                | Condition::Equals(..)
                | Condition::LessThan(..)
                | Condition::GreaterThan(..) => {
                    format!("(NOT {})", self.condition(inner)?)
                }
                _ => format!("(NOT ({}))", self.condition(inner)?),
            },
        })
    }

    fn ordering(&mut self, attribute: &str, operator: &str, value: &Value) -> Result<String, StoreError> {
        let name = self.name(attribute);
        let operand = self.comparable_value(value)?;
        let kind = self.s(if value.is_number() { "N" } else { "S" });
        Ok(format!("(attribute_type({name}, {kind}) AND {name} {operator} {operand})"))
    }

    /// DynamoDB rejects `<`/`>` against anything but a string, number or binary operand, so such
    /// a value is a caller bug, reported as such instead of as a backend failure.
    fn comparable_value(&mut self, value: &Value) -> Result<String, StoreError> {
        if !(value.is_string() || value.is_number()) {
            return Err(StoreError::Invalid(format!("cannot order by comparing with {value}")));
        }
        self.json_value(value)
    }

    fn junction(&mut self, conditions: &[Condition], operator: &str) -> Result<String, StoreError> {
        if conditions.is_empty() {
            return Err(StoreError::Invalid(format!("empty {operator} condition")));
        }
        if let [only] = conditions {
            // One condition: wrapping what is parenthesised already would be redundant
            // parentheses, which DynamoDB refuses.
            let text = self.condition(only)?;
            return Ok(if is_parenthesised(&text) { text } else { format!("({text})") });
        }
        let parts = conditions.iter().map(|c| self.condition(c)).collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(&format!(" {operator} "))))
    }

    fn update(&mut self, actions: &[UpdateAction]) -> Result<String, StoreError> {
        if actions.is_empty() {
            return Err(StoreError::Invalid("update without actions".to_owned()));
        }
        let (mut set, mut add, mut remove) = (Vec::new(), Vec::new(), Vec::new());
        for action in actions {
            match action {
                UpdateAction::Set(a, v) => set.push(format!("{} = {}", self.name(a), self.json_value(v)?)),
                // ADD treats a missing attribute as 0, which is exactly the counter semantics.
                UpdateAction::Add(a, n) => {
                    add.push(format!("{} {}", self.name(a), self.value(AttributeValue::N(n.to_string()))))
                }
                UpdateAction::Remove(a) => remove.push(self.name(a)),
            }
        }
        let clauses = [("SET", set), ("ADD", add), ("REMOVE", remove)];
        let clauses = clauses
            .into_iter()
            .filter(|(_, parts)| !parts.is_empty())
            .map(|(keyword, parts)| format!("{keyword} {}", parts.join(", ")));
        Ok(clauses.collect::<Vec<_>>().join(" "))
    }

    /// The key condition for one partition and sort-key range (already checked by `check_query`).
    fn key_condition(&mut self, pk: &str, sk: &str, partition: &str, range: &KeyRange) -> String {
        let partition = format!("{} = {}", self.name(pk), self.s(partition));
        let sort = match range {
            KeyRange::All => return partition,
            KeyRange::BeginsWith(prefix) => format!("begins_with({}, {})", self.name(sk), self.s(prefix)),
            KeyRange::Between(low, high) => {
                format!("{} BETWEEN {} AND {}", self.name(sk), self.s(low), self.s(high))
            }
            KeyRange::After(low) => format!("{} > {}", self.name(sk), self.s(low)),
            KeyRange::Before(high) => format!("{} < {}", self.name(sk), self.s(high)),
        };
        format!("{partition} AND {sort}")
    }

    fn s(&mut self, value: &str) -> String {
        self.value(AttributeValue::S(value.to_owned()))
    }

    /// The placeholder maps for the request; `None` when empty, because DynamoDB rejects empty maps.
    fn into_parts(self) -> (Option<HashMap<String, String>>, Option<Attributes>) {
        let names: HashMap<_, _> =
            self.names.into_iter().map(|(name, placeholder)| (placeholder, name)).collect();
        ((!names.is_empty()).then_some(names), (!self.values.is_empty()).then_some(self.values))
    }
}

/// Maps the reasons of a cancelled transaction, one per operation in order: failed conditions
/// are the caller's business (`TransactionCanceled`, with the names of their operations), a
/// validation error is a bad request, anything else (conflicts, throttling, capacity) is the
/// backend's.
fn cancellation_error(reasons: &[CancellationReason], names: &[&'static str], message: &str) -> StoreError {
    let has_code = |reason: &CancellationReason, code: &str| reason.code() == Some(code);
    if let Some(reason) = reasons.iter().find(|r| has_code(r, "ValidationError")) {
        return StoreError::Invalid(reason.message().unwrap_or(message).to_owned());
    }
    let failed: Vec<&'static str> = reasons
        .iter()
        .zip(names)
        .filter(|(r, _)| has_code(r, "ConditionalCheckFailed"))
        .map(|(_, &name)| name)
        .collect();
    if failed.is_empty() {
        // What is left is contention or capacity (`TransactionConflict`, `ThrottlingError`,
        // `ProvisionedThroughputExceeded`): nothing was written, and a later retry may pass.
        StoreError::Unavailable(message.to_owned())
    } else {
        StoreError::TransactionCanceled { failed }
    }
}

/// Error codes with which DynamoDB says "not now": throttling, capacity, its own outage. The
/// SDK's retries have already been spent when one reaches the adapter.
const UNAVAILABLE_CODES: [&str; 7] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// Maps an SDK error; `condition_failed` recognises the operation's ConditionalCheckFailed.
/// Timeouts, connections that fail or break, and throttling are [`StoreError::Unavailable`]:
/// the client's timeouts and retries (see `config`) bound how long that takes.
fn store_error<E>(err: &SdkError<E, HttpResponse>, condition_failed: impl FnOnce(&E) -> bool) -> StoreError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let detail = || DisplayErrorContext(err).to_string();
    if matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)) {
        return StoreError::Unavailable(detail());
    }
    match err.as_service_error() {
        Some(service) if condition_failed(service) => StoreError::ConditionFailed,
        // Not a modelled error: DynamoDB reports bad requests only through the error code.
        Some(service) if service.code() == Some("ValidationException") => {
            StoreError::Invalid(service.message().map_or_else(detail, str::to_owned))
        }
        Some(service) if service.code().is_some_and(|code| UNAVAILABLE_CODES.contains(&code)) => {
            StoreError::Unavailable(detail())
        }
        _ => StoreError::Backend(detail()),
    }
}

fn build_error(err: BuildError) -> StoreError {
    StoreError::Invalid(DisplayErrorContext(&err).to_string())
}

/// Checks that an item carries a string key; returns it.
fn check_item_key(item: &Item) -> Result<(&str, &str), StoreError> {
    let string = |name: &str| {
        item.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::Invalid(format!("item lacks a string {name}")))
    };
    let (pk, sk) = (string(PK)?, string(SK)?);
    check_key(&Key::new(pk, sk))?;
    Ok((pk, sk))
}

fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn to_attributes(item: Item) -> Result<Attributes, StoreError> {
    serde_dynamo::to_item(item).map_err(|e| StoreError::Invalid(format!("item not storable: {e}")))
}

fn from_attributes(attributes: Attributes) -> Result<Item, StoreError> {
    serde_dynamo::from_item(attributes).map_err(|e| StoreError::Backend(format!("unreadable item: {e}")))
}

/// Whether an expression is one parenthesised whole: `(a AND b)`, not `(a) AND (b)`.
fn is_parenthesised(text: &str) -> bool {
    if !text.starts_with('(') {
        return false;
    }
    let mut depth = 0usize;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return index == text.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(expression: Expression) -> HashMap<String, String> {
        expression.into_parts().0.unwrap_or_default()
    }

    #[test]
    fn reserved_words_become_placeholders() {
        let mut expression = Expression::default();
        let condition = Condition::And(vec![
            Condition::Equals("status".into(), json!("open")),
            Condition::Equals("name".into(), json!("x")),
            Condition::AttributeExists("role".into()),
        ]);
        let text = expression.condition(&condition).unwrap();
        assert_eq!(
            text,
            "((attribute_exists(#n0) AND #n0 = :v0) AND (attribute_exists(#n1) AND #n1 = :v1) AND attribute_exists(#n2))"
        );
        assert_eq!(expression.values[":v0"], AttributeValue::S("open".into()));
        let names = names(expression);
        assert_eq!(names["#n0"], "status");
        assert_eq!(names["#n1"], "name");
        assert_eq!(names["#n2"], "role");
    }

    #[test]
    fn a_repeated_attribute_reuses_its_placeholder() {
        let mut expression = Expression::default();
        let condition = Condition::Or(vec![
            Condition::AttributeNotExists("version".into()),
            Condition::LessThan("version".into(), json!(3)),
        ]);
        assert_eq!(
            expression.condition(&condition).unwrap(),
            "(attribute_not_exists(#n0) OR (attribute_type(#n0, :v1) AND #n0 < :v0))"
        );
        assert_eq!(expression.values[":v1"], AttributeValue::S("N".into()));
        assert_eq!(expression.values[":v0"], AttributeValue::N("3".into()));
        assert_eq!(names(expression).len(), 1);
    }

    #[test]
    fn nested_conditions_are_parenthesised() {
        let mut expression = Expression::default();
        let condition = Condition::Or(vec![
            Condition::And(vec![Condition::Exists, Condition::GreaterThan("n".into(), json!(1))]),
            Condition::Not(Box::new(Condition::Or(vec![
                Condition::NotExists,
                Condition::Equals("a".into(), json!(true)),
            ]))),
            Condition::Not(Box::new(Condition::Equals("a".into(), json!(null)))),
        ]);
        assert_eq!(
            expression.condition(&condition).unwrap(),
            "((attribute_exists(#n0) AND (attribute_type(#n1, :v1) AND #n1 > :v0)) OR (NOT (attribute_not_exists(#n0) \
             OR (attribute_exists(#n2) AND #n2 = :v2))) OR (NOT (attribute_exists(#n2) AND #n2 = :v3)))"
        );
        assert_eq!(expression.values[":v3"], AttributeValue::Null(true));
    }

    #[test]
    fn a_junction_of_one_condition_adds_no_redundant_parentheses() {
        let one_equals = Condition::And(vec![Condition::Equals("a".into(), json!(1))]);
        assert_eq!(
            Expression::default().condition(&one_equals).unwrap(),
            "(attribute_exists(#n0) AND #n0 = :v0)"
        );
        let nested = Condition::And(vec![Condition::Or(vec![Condition::AttributeExists("a".into())])]);
        assert_eq!(Expression::default().condition(&nested).unwrap(), "(attribute_exists(#n0))");
        let bare = Condition::Not(Box::new(Condition::And(vec![Condition::NotEquals("a".into(), json!(1))])));
        assert_eq!(Expression::default().condition(&bare).unwrap(), "(NOT (#n0 <> :v0))");
        assert!(is_parenthesised("(a AND (b))"));
        assert!(!is_parenthesised("(a) AND (b)"));
    }

    #[test]
    fn not_equals_is_dynamodbs_inequality() {
        let mut expression = Expression::default();
        let text = expression.condition(&Condition::NotEquals("status".into(), json!("closed"))).unwrap();
        assert_eq!(text, "#n0 <> :v0");
    }

    #[test]
    fn empty_junctions_and_unordered_comparisons_are_invalid() {
        for condition in [
            Condition::And(vec![]),
            Condition::Or(vec![]),
            Condition::Not(Box::new(Condition::And(vec![]))),
            Condition::LessThan("a".into(), json!(true)),
            Condition::GreaterThan("a".into(), json!({"x": 1})),
        ] {
            let result = Expression::default().condition(&condition);
            assert!(matches!(result, Err(StoreError::Invalid(_))), "{condition:?}");
        }
    }

    #[test]
    fn an_update_builds_set_add_and_remove_clauses() {
        let mut expression = Expression::default();
        let text = expression
            .update(&[
                UpdateAction::Remove("draft".into()),
                UpdateAction::Set("status".into(), json!("closed")),
                UpdateAction::Add("unread".into(), -2),
                UpdateAction::Set("meta".into(), json!({"a": [1, "b"]})),
            ])
            .unwrap();
        assert_eq!(text, "SET #n1 = :v0, #n3 = :v2 ADD #n2 :v1 REMOVE #n0");
        assert_eq!(expression.values[":v1"], AttributeValue::N("-2".into()));
        assert_eq!(names(expression)["#n1"], "status");
    }

    #[test]
    fn an_update_without_actions_is_invalid() {
        assert!(matches!(Expression::default().update(&[]), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn key_conditions_cover_every_range() {
        let cases = [
            (KeyRange::All, "#n0 = :v0"),
            (KeyRange::BeginsWith("MSG#".into()), "#n0 = :v0 AND begins_with(#n1, :v1)"),
            (KeyRange::Between("a".into(), "b".into()), "#n0 = :v0 AND #n1 BETWEEN :v1 AND :v2"),
            (KeyRange::After("a".into()), "#n0 = :v0 AND #n1 > :v1"),
            (KeyRange::Before("b".into()), "#n0 = :v0 AND #n1 < :v1"),
        ];
        for (range, expected) in cases {
            let mut expression = Expression::default();
            let text = expression.key_condition("gsi1pk", "gsi1sk", "P", &range);
            assert_eq!(text, expected, "{range:?}");
        }
    }

    #[test]
    fn placeholder_maps_are_omitted_when_empty() {
        assert_eq!(Expression::default().into_parts(), (None, None));
    }

    #[test]
    fn cancellation_reasons_map_to_store_errors() {
        let reason = |code: &str| CancellationReason::builder().code(code).build();
        let names = ["session", "not_blocked"];
        let failed = cancellation_error(&[reason("None"), reason("ConditionalCheckFailed")], &names, "m");
        assert!(matches!(failed, StoreError::TransactionCanceled { failed } if failed == ["not_blocked"]));
        let conflict = cancellation_error(&[reason("TransactionConflict"), reason("None")], &names, "m");
        assert!(matches!(conflict, StoreError::Unavailable(_)));
        let throttled = cancellation_error(&[reason("None"), reason("ThrottlingError")], &names, "m");
        assert!(matches!(throttled, StoreError::Unavailable(_)));
        let invalid =
            cancellation_error(&[reason("ConditionalCheckFailed"), reason("ValidationError")], &names, "m");
        assert!(matches!(invalid, StoreError::Invalid(_)));
    }

    #[test]
    fn item_keys_must_be_strings() {
        let Value::Object(good) = json!({"pk": "a", "sk": "b"}) else { unreachable!() };
        assert_eq!(check_item_key(&good).unwrap(), ("a", "b"));
        let Value::Object(bad) = json!({"pk": "a", "sk": 1}) else { unreachable!() };
        assert!(matches!(check_item_key(&bad), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn numbers_round_trip_as_json_numbers() {
        let Value::Object(item) =
            json!({"pk": "a", "sk": "b", "n": 7, "f": 1.5, "big": -9007199254740993_i64})
        else {
            unreachable!()
        };
        assert_eq!(from_attributes(to_attributes(item.clone()).unwrap()).unwrap(), item);
    }
}
