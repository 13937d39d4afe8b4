//! Conformance suite of the item store: every adapter must pass the same tests, test for test.
//!
//! The tests live in [`conformance_suite!`], which each adapter module instantiates with an async
//! expression yielding a [`support::Fixture`] around a fresh, empty store. DynamoDB (moto) is one
//! more module of the same shape:
//!
//! ```ignore
//! mod dynamodb {
//!     use crate::support::Fixture;
//!
//!     /// A new table on the moto server, so tests do not see each other's items.
//!     async fn fresh() -> Fixture {
//!         let store = /* create a uniquely named table, build the DynamoItemStore */;
//!         Fixture::new(std::sync::Arc::new(store), ())
//!     }
//!
//!     conformance_suite!(fresh());
//! }
//! ```

// Without the `sqlite` feature no module instantiates the suite yet; the helpers are not dead.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code, unused_macros, unused_imports))]

/// Helpers the suite shares across adapters.
mod support {
    use std::any::Any;
    use std::fmt::Debug;

    use async_trait::async_trait;

    pub use serde_json::{json, Value};
    pub use std::sync::Arc;
    pub use switchboard_shared::store::{
        Condition, Cursor, Item, ItemStore, Key, KeyRange, NamedTxOp, Page, Query, RawPage, StoreError, TxOp,
        UpdateAction, MAX_ITEM_BYTES, MAX_QUERY_LIMIT, MAX_TRANSACTION_OPS,
    };

    /// A fresh store, plus whatever must live as long as it (a temporary directory, a table).
    pub struct Fixture {
        store: Arc<dyn ItemStore>,
        _keep: Box<dyn Any + Send + Sync>,
    }

    impl Fixture {
        /// Wraps a store and the guard that keeps its backing storage alive.
        pub fn new(store: Arc<dyn ItemStore>, keep: impl Any + Send + Sync) -> Self {
            Self { store, _keep: Box::new(keep) }
        }

        /// A handle to move into concurrent tasks.
        pub fn shared(&self) -> Arc<dyn ItemStore> {
            Arc::clone(&self.store)
        }
    }

    // Delegating (rather than `Deref`) lets `&fixture` coerce to `&dyn ItemStore` in helpers.
    #[async_trait]
    impl ItemStore for Fixture {
        async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
            self.store.get(key).await
        }

        async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
            self.store.put(item, condition).await
        }

        async fn update(
            &self,
            key: &Key,
            actions: Vec<UpdateAction>,
            condition: Option<Condition>,
        ) -> Result<Item, StoreError> {
            self.store.update(key, actions, condition).await
        }

        async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, StoreError> {
            self.store.delete(key, condition).await
        }

        async fn query(&self, query: Query) -> Result<Page, StoreError> {
            self.store.query(query).await
        }

        async fn count(&self, query: Query) -> Result<u64, StoreError> {
            self.store.count(query).await
        }

        async fn get_many(&self, keys: Vec<Key>) -> Result<Vec<Option<Item>>, StoreError> {
            self.store.get_many(keys).await
        }

        // The adapters' own batched calls, not the trait's defaults.
        async fn query_many(&self, queries: Vec<Query>) -> Result<Vec<Page>, StoreError> {
            self.store.query_many(queries).await
        }

        async fn query_many_raw(&self, queries: Vec<Query>) -> Result<Vec<RawPage>, StoreError> {
            self.store.query_many_raw(queries).await
        }

        async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
            self.store.put_many(items).await
        }

        async fn transact_write(&self, ops: Vec<NamedTxOp>) -> Result<(), StoreError> {
            self.store.transact_write(ops).await
        }
    }

    /// An item from a JSON object literal.
    pub fn item(value: Value) -> Item {
        match value {
            Value::Object(map) => map,
            other => panic!("not an item: {other}"),
        }
    }

    /// A table key.
    pub fn key(pk: &str, sk: &str) -> Key {
        Key::new(pk, sk)
    }

    /// Puts an item unconditionally.
    pub async fn put(store: &dyn ItemStore, value: Value) {
        store.put(item(value), None).await.expect("put");
    }

    /// Puts `{pk, sk, n}` for each sort key, `n` counting from 0.
    pub async fn put_all(store: &dyn ItemStore, pk: &str, sort_keys: &[&str]) {
        for (n, sk) in sort_keys.iter().enumerate() {
            put(store, json!({"pk": pk, "sk": sk, "n": n})).await;
        }
    }

    /// Whether a condition holds on the stored item, asked through a transaction's Check.
    pub async fn holds(store: &dyn ItemStore, key: &Key, condition: Condition) -> bool {
        let check = TxOp::Check { key: key.clone(), condition: condition.clone() }.named("check");
        match store.transact_write(vec![check]).await {
            Ok(()) => true,
            Err(StoreError::TransactionCanceled { failed }) => {
                assert_eq!(failed, vec!["check"], "{condition:?}");
                false
            }
            Err(e) => panic!("{condition:?}: {e}"),
        }
    }

    /// Reads every page of a query, carrying the cursor as a client would (as a string).
    /// Returns the items and the size of each page.
    pub async fn all_pages(store: &dyn ItemStore, query: Query) -> (Vec<Item>, Vec<usize>) {
        let mut items = Vec::new();
        let mut sizes = Vec::new();
        let mut cursor = None;
        for _ in 0..100 {
            let page = store.query(query.clone().cursor(cursor)).await.expect("query");
            sizes.push(page.items.len());
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(Cursor::decode(&next.encode()).expect("own cursor decodes")),
                None => return (items, sizes),
            }
        }
        panic!("query did not end within 100 pages");
    }

    /// The values of one string attribute of each item.
    pub fn strings(items: &[Item], name: &str) -> Vec<String> {
        items.iter().map(|i| i[name].as_str().expect("string attribute").to_owned()).collect()
    }

    /// The sort keys of the items.
    pub fn sort_keys(items: &[Item]) -> Vec<String> {
        strings(items, "sk")
    }

    /// Fails unless the result is `StoreError::Invalid`.
    #[track_caller]
    pub fn assert_invalid<T: Debug>(result: Result<T, StoreError>) {
        assert!(matches!(result, Err(StoreError::Invalid(_))), "expected Invalid, got {result:?}");
    }

    /// Fails unless the result is `StoreError::ConditionFailed`.
    #[track_caller]
    pub fn assert_condition_failed<T: Debug>(result: Result<T, StoreError>) {
        assert!(
            matches!(result, Err(StoreError::ConditionFailed)),
            "expected ConditionFailed, got {result:?}"
        );
    }

    /// Fails unless the result is `StoreError::InvalidCursor`.
    #[track_caller]
    pub fn assert_invalid_cursor<T: Debug>(result: Result<T, StoreError>) {
        assert!(matches!(result, Err(StoreError::InvalidCursor)), "expected InvalidCursor, got {result:?}");
    }

    /// `n` strings of `len` bytes.
    pub fn filler(len: usize) -> String {
        "x".repeat(len)
    }
}

/// Every conformance test, for a store built by `$fresh` (an async expression yielding a
/// `Fixture` around a fresh, empty store).
macro_rules! conformance_suite {
    ($fresh:expr) => {
        #[allow(unused_imports)]
        use crate::support::*;

        // ---- get and put -------------------------------------------------------------------

        #[tokio::test]
        async fn get_returns_none_for_a_missing_item() {
            let store = $fresh.await;

            let found = store.get(&key("P", "missing")).await.unwrap();

            assert_eq!(found, None);
        }

        #[tokio::test]
        async fn put_then_get_round_trips_every_json_value_kind() {
            let store = $fresh.await;
            let original = item(json!({
                "pk": "P", "sk": "S",
                "string": "héllo ✓ 😀", "empty_string": "",
                "integer": -42, "big_integer": 9_007_199_254_740_993_i64, "float": 1.5, "negative_float": -0.25,
                "yes": true, "no": false, "nothing": null,
                "list": [1, "two", [3], {"four": 4}, null, false], "empty_list": [],
                "map": {"nested": {"deep": [true, null]}, "n": 0}, "empty_map": {},
            }));

            store.put(original.clone(), None).await.unwrap();
            let found = store.get(&key("P", "S")).await.unwrap();

            assert_eq!(found, Some(original));
        }

        #[tokio::test]
        async fn put_replaces_the_whole_item() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "a": 1, "b": 2})).await;

            put(&store, json!({"pk": "P", "sk": "S", "a": 3})).await;

            let found = store.get(&key("P", "S")).await.unwrap();
            assert_eq!(found, Some(item(json!({"pk": "P", "sk": "S", "a": 3}))));
        }

        #[tokio::test]
        async fn conditional_put_refuses_to_overwrite_an_existing_item() {
            let store = $fresh.await;
            let first = item(json!({"pk": "P", "sk": "S", "writer": "first"}));
            store.put(first.clone(), Some(Condition::NotExists)).await.unwrap();

            let second = store
                .put(item(json!({"pk": "P", "sk": "S", "writer": "second"})), Some(Condition::NotExists))
                .await;

            assert_condition_failed(second);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(first));
        }

        #[tokio::test]
        async fn conditional_put_replaces_the_item_when_the_condition_holds() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "version": 1})).await;

            let result = store
                .put(
                    item(json!({"pk": "P", "sk": "S", "version": 2})),
                    Some(Condition::Equals("version".into(), json!(1))),
                )
                .await;

            result.unwrap();
            assert_eq!(store.get(&key("P", "S")).await.unwrap().unwrap()["version"], json!(2));
        }

        // ---- conditions ---------------------------------------------------------------------

        #[tokio::test]
        async fn equals_holds_only_for_an_equal_value_of_the_same_type() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "open", "count": 5,
                               "tags": ["a", "b"], "meta": {"x": 1}, "nothing": null}))
            .await;
            let k = key("P", "S");
            let eq = |name: &str, value: Value| Condition::Equals(name.into(), value);

            assert!(holds(&store, &k, eq("status", json!("open"))).await);
            assert!(!holds(&store, &k, eq("status", json!("closed"))).await);
            assert!(holds(&store, &k, eq("count", json!(5))).await);
            assert!(!holds(&store, &k, eq("count", json!("5"))).await, "a number never equals a string");
            assert!(holds(&store, &k, eq("tags", json!(["a", "b"]))).await);
            assert!(!holds(&store, &k, eq("tags", json!(["b", "a"]))).await);
            assert!(holds(&store, &k, eq("meta", json!({"x": 1}))).await);
            assert!(holds(&store, &k, eq("nothing", json!(null))).await);
            assert!(!holds(&store, &k, eq("missing", json!("open"))).await);
            assert!(!holds(&store, &k, eq("missing", json!(null))).await, "missing is not null");
        }

        #[tokio::test]
        async fn not_equals_holds_for_a_different_value_and_for_a_missing_attribute() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "open", "count": 5})).await;
            let k = key("P", "S");
            let ne = |name: &str, value: Value| Condition::NotEquals(name.into(), value);

            assert!(holds(&store, &k, ne("status", json!("closed"))).await);
            assert!(!holds(&store, &k, ne("status", json!("open"))).await);
            assert!(holds(&store, &k, ne("count", json!("5"))).await, "a number differs from a string");
            // DynamoDB: `#a <> :v` is true when #a is missing.
            assert!(holds(&store, &k, ne("missing", json!("open"))).await);
            assert!(holds(&store, &key("P", "absent"), ne("status", json!("open"))).await);
        }

        #[tokio::test]
        async fn less_than_and_greater_than_compare_strings_by_utf8_bytes() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "name": "Zed", "symbol": "\u{FFFD}", "accent": "é"}))
                .await;
            let k = key("P", "S");
            let lt = |name: &str, value: Value| Condition::LessThan(name.into(), value);
            let gt = |name: &str, value: Value| Condition::GreaterThan(name.into(), value);

            assert!(holds(&store, &k, lt("name", json!("apple"))).await, "upper case sorts first");
            assert!(holds(&store, &k, gt("name", json!("Z"))).await, "a prefix sorts first");
            assert!(!holds(&store, &k, lt("name", json!("Zed"))).await);
            assert!(!holds(&store, &k, gt("name", json!("Zed"))).await);
            assert!(holds(&store, &k, gt("accent", json!("z"))).await);
            // By UTF-8 bytes U+FFFD (EF ..) sorts before U+1F600 (F0 ..); UTF-16 would disagree.
            assert!(holds(&store, &k, lt("symbol", json!("😀"))).await);
        }

        #[tokio::test]
        async fn less_than_and_greater_than_compare_numbers_numerically() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "count": 9})).await;
            let k = key("P", "S");
            let lt = |value: Value| Condition::LessThan("count".into(), value);
            let gt = |value: Value| Condition::GreaterThan("count".into(), value);

            assert!(holds(&store, &k, lt(json!(10))).await, "9 < 10, though \"9\" > \"10\"");
            assert!(holds(&store, &k, gt(json!(8.5))).await);
            assert!(holds(&store, &k, gt(json!(-1))).await);
            assert!(!holds(&store, &k, lt(json!(9))).await);
            assert!(!holds(&store, &k, gt(json!(9))).await);
        }

        #[tokio::test]
        async fn ordering_comparisons_are_false_for_a_missing_attribute_or_another_type() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "count": 9, "label": "9"})).await;
            let k = key("P", "S");
            let lt = |name: &str, value: Value| Condition::LessThan(name.into(), value);
            let gt = |name: &str, value: Value| Condition::GreaterThan(name.into(), value);

            assert!(!holds(&store, &k, lt("missing", json!(1))).await);
            assert!(!holds(&store, &k, gt("missing", json!(1))).await);
            assert!(!holds(&store, &k, lt("count", json!("10"))).await);
            assert!(!holds(&store, &k, gt("count", json!("10"))).await);
            assert!(!holds(&store, &k, lt("label", json!(10))).await);
            assert!(!holds(&store, &k, gt("label", json!(10))).await);
            assert!(holds(&store, &k, Condition::Not(Box::new(lt("missing", json!(1))))).await);
        }

        #[tokio::test]
        async fn attribute_exists_and_attribute_not_exists_follow_the_attribute() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "open", "nothing": null})).await;
            let k = key("P", "S");
            let exists = |name: &str| Condition::AttributeExists(name.into());
            let not_exists = |name: &str| Condition::AttributeNotExists(name.into());

            assert!(holds(&store, &k, exists("status")).await);
            assert!(!holds(&store, &k, not_exists("status")).await);
            assert!(holds(&store, &k, exists("nothing")).await, "a null attribute is present");
            assert!(!holds(&store, &k, exists("missing")).await);
            assert!(holds(&store, &k, not_exists("missing")).await);
            assert!(holds(&store, &k, exists("pk")).await);
            let absent = key("P", "absent");
            assert!(!holds(&store, &absent, exists("pk")).await);
            assert!(holds(&store, &absent, not_exists("pk")).await);
        }

        #[tokio::test]
        async fn exists_and_not_exists_follow_the_item() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S"})).await;

            assert!(holds(&store, &key("P", "S"), Condition::Exists).await);
            assert!(!holds(&store, &key("P", "S"), Condition::NotExists).await);
            assert!(!holds(&store, &key("P", "absent"), Condition::Exists).await);
            assert!(holds(&store, &key("P", "absent"), Condition::NotExists).await);
        }

        #[tokio::test]
        async fn conditions_on_a_missing_item_treat_every_attribute_as_missing() {
            let store = $fresh.await;
            let absent = key("P", "absent");

            assert!(!holds(&store, &absent, Condition::Equals("status".into(), json!("open"))).await);
            assert!(holds(&store, &absent, Condition::NotEquals("status".into(), json!("open"))).await);
            assert!(!holds(&store, &absent, Condition::LessThan("count".into(), json!(1))).await);
            assert!(!holds(&store, &absent, Condition::GreaterThan("count".into(), json!(1))).await);
            assert!(holds(&store, &absent, Condition::AttributeNotExists("status".into())).await);
        }

        #[tokio::test]
        async fn and_or_not_combine_conditions() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "open"})).await;
            let k = key("P", "S");
            let yes = || Condition::Equals("status".into(), json!("open"));
            let no = || Condition::Equals("status".into(), json!("closed"));

            assert!(holds(&store, &k, Condition::And(vec![yes(), yes()])).await);
            assert!(!holds(&store, &k, Condition::And(vec![yes(), no()])).await);
            assert!(holds(&store, &k, Condition::Or(vec![no(), yes()])).await);
            assert!(!holds(&store, &k, Condition::Or(vec![no(), no()])).await);
            assert!(!holds(&store, &k, Condition::Not(Box::new(yes()))).await);
            assert!(holds(&store, &k, Condition::Not(Box::new(no()))).await);
            let nested =
                Condition::And(vec![Condition::Or(vec![no(), yes()]), Condition::Not(Box::new(no()))]);
            assert!(holds(&store, &k, nested).await);
            // Junctions of one condition, nested: as good as the condition itself.
            let single = Condition::And(vec![Condition::And(vec![yes()]), Condition::Or(vec![Condition::And(vec![yes()])])]);
            assert!(holds(&store, &k, single).await);
            assert!(!holds(&store, &k, Condition::Not(Box::new(Condition::And(vec![yes()])))).await);
        }

        #[tokio::test]
        async fn an_empty_and_or_or_condition_is_invalid() {
            let store = $fresh.await;
            let it = || item(json!({"pk": "P", "sk": "S"}));

            assert_invalid(store.put(it(), Some(Condition::And(vec![]))).await);
            assert_invalid(store.put(it(), Some(Condition::Or(vec![]))).await);
            let nested = Condition::Not(Box::new(Condition::And(vec![])));
            assert_invalid(store.transact_write(vec![TxOp::Check { key: key("P", "S"), condition: nested }.named("nested")]).await);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        // ---- update -------------------------------------------------------------------------

        #[tokio::test]
        async fn update_sets_adds_and_removes_attributes_and_returns_the_new_item() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "open", "count": 5, "draft": true})).await;

            let updated = store
                .update(
                    &key("P", "S"),
                    vec![
                        UpdateAction::Set("status".into(), json!("closed")),
                        UpdateAction::Add("count".into(), 3),
                        UpdateAction::Remove("draft".into()),
                        UpdateAction::Set("tags".into(), json!(["x"])),
                    ],
                    None,
                )
                .await
                .unwrap();

            let expected = item(json!({"pk": "P", "sk": "S", "status": "closed", "count": 8, "tags": ["x"]}));
            assert_eq!(updated, expected);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(expected));
        }

        #[tokio::test]
        async fn update_add_on_a_missing_attribute_starts_from_zero() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S"})).await;

            let first = store.update(&key("P", "S"), vec![UpdateAction::Add("count".into(), 5)], None).await;
            let second = store.update(&key("P", "S"), vec![UpdateAction::Add("count".into(), -7)], None).await;

            assert_eq!(first.unwrap()["count"], json!(5));
            assert_eq!(second.unwrap()["count"], json!(-2));
        }

        #[tokio::test]
        async fn update_creates_the_item_when_absent() {
            let store = $fresh.await;

            let created = store
                .update(
                    &key("P", "S"),
                    vec![UpdateAction::Set("status".into(), json!("open")), UpdateAction::Add("count".into(), 1)],
                    None,
                )
                .await
                .unwrap();

            let expected = item(json!({"pk": "P", "sk": "S", "status": "open", "count": 1}));
            assert_eq!(created, expected);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(expected));
        }

        #[tokio::test]
        async fn update_with_a_failed_condition_writes_nothing() {
            let store = $fresh.await;
            let original = item(json!({"pk": "P", "sk": "S", "status": "open"}));
            store.put(original.clone(), None).await.unwrap();
            let close = || vec![UpdateAction::Set("status".into(), json!("closed"))];

            let on_existing = store
                .update(&key("P", "S"), close(), Some(Condition::Equals("status".into(), json!("archived"))))
                .await;
            let on_absent = store.update(&key("P", "absent"), close(), Some(Condition::Exists)).await;

            assert_condition_failed(on_existing);
            assert_condition_failed(on_absent);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(original));
            assert_eq!(store.get(&key("P", "absent")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn update_with_a_holding_condition_applies_the_actions() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "version": 1})).await;

            let updated = store
                .update(
                    &key("P", "S"),
                    vec![UpdateAction::Add("version".into(), 1)],
                    Some(Condition::Equals("version".into(), json!(1))),
                )
                .await;

            assert_eq!(updated.unwrap()["version"], json!(2));
        }

        #[tokio::test]
        async fn update_add_on_a_non_number_is_invalid_and_writes_nothing() {
            let store = $fresh.await;
            let original = item(json!({"pk": "P", "sk": "S", "status": "open"}));
            store.put(original.clone(), None).await.unwrap();

            let result = store.update(&key("P", "S"), vec![UpdateAction::Add("status".into(), 1)], None).await;

            assert_invalid(result);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(original));
        }

        #[tokio::test]
        async fn update_of_a_key_attribute_is_invalid() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S"})).await;
            let k = key("P", "S");

            assert_invalid(store.update(&k, vec![UpdateAction::Set("pk".into(), json!("Q"))], None).await);
            assert_invalid(store.update(&k, vec![UpdateAction::Remove("sk".into())], None).await);
            assert_invalid(store.update(&k, vec![UpdateAction::Add("sk".into(), 1)], None).await);
            assert_eq!(store.get(&k).await.unwrap(), Some(item(json!({"pk": "P", "sk": "S"}))));
        }

        #[tokio::test]
        async fn update_without_actions_is_invalid() {
            let store = $fresh.await;

            let result = store.update(&key("P", "S"), vec![], None).await;

            assert_invalid(result);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        // ---- concurrency --------------------------------------------------------------------

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_adds_to_a_counter_are_all_counted() {
            let store = $fresh.await;
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let store = store.shared();
                    tokio::spawn(async move {
                        store.update(&key("P", "counter"), vec![UpdateAction::Add("n".into(), 1)], None).await
                    })
                })
                .collect();

            for task in tasks {
                task.await.unwrap().unwrap();
            }

            assert_eq!(store.get(&key("P", "counter")).await.unwrap().unwrap()["n"], json!(20));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn exactly_one_of_concurrent_conditional_creates_succeeds() {
            let store = $fresh.await;
            let tasks: Vec<_> = (0..10)
                .map(|writer| {
                    let store = store.shared();
                    tokio::spawn(async move {
                        let it = item(json!({"pk": "P", "sk": "S", "writer": writer}));
                        (writer, store.put(it, Some(Condition::NotExists)).await)
                    })
                })
                .collect();

            let mut winners = Vec::new();
            for task in tasks {
                match task.await.unwrap() {
                    (writer, Ok(())) => winners.push(writer),
                    (_, Err(StoreError::ConditionFailed)) => {}
                    (_, Err(e)) => panic!("unexpected error {e}"),
                }
            }

            assert_eq!(winners.len(), 1, "{winners:?}");
            let stored = store.get(&key("P", "S")).await.unwrap().unwrap();
            assert_eq!(stored["writer"], json!(winners[0]));
        }

        // ---- delete -------------------------------------------------------------------------

        #[tokio::test]
        async fn delete_returns_the_deleted_item_and_removes_it() {
            let store = $fresh.await;
            let original = item(json!({"pk": "P", "sk": "S", "status": "open"}));
            store.put(original.clone(), None).await.unwrap();

            let deleted = store.delete(&key("P", "S"), None).await.unwrap();

            assert_eq!(deleted, Some(original));
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn delete_of_a_missing_item_returns_none() {
            let store = $fresh.await;

            let deleted = store.delete(&key("P", "absent"), None).await.unwrap();

            assert_eq!(deleted, None);
        }

        #[tokio::test]
        async fn delete_with_a_failed_condition_keeps_the_item() {
            let store = $fresh.await;
            let original = item(json!({"pk": "P", "sk": "S", "status": "open"}));
            store.put(original.clone(), None).await.unwrap();

            let result =
                store.delete(&key("P", "S"), Some(Condition::Equals("status".into(), json!("closed")))).await;

            assert_condition_failed(result);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(original));
        }

        #[tokio::test]
        async fn delete_with_a_holding_condition_removes_the_item() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "status": "closed"})).await;

            let result =
                store.delete(&key("P", "S"), Some(Condition::Equals("status".into(), json!("closed")))).await;

            assert!(result.unwrap().is_some());
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn delete_of_a_missing_item_with_exists_condition_fails() {
            let store = $fresh.await;

            let result = store.delete(&key("P", "absent"), Some(Condition::Exists)).await;

            assert_condition_failed(result);
        }

        // ---- query on the table ---------------------------------------------------------------

        #[tokio::test]
        async fn query_returns_the_whole_partition_in_ascending_sort_key_order() {
            let store = $fresh.await;
            put_all(&store, "P", &["c", "a", "b"]).await;
            put_all(&store, "PX", &["a"]).await;
            put_all(&store, "Q", &["a"]).await;

            let page = store.query(Query::table("P")).await.unwrap();

            assert_eq!(sort_keys(&page.items), ["a", "b", "c"]);
            assert!(page.items.iter().all(|i| i["pk"] == json!("P")));
            assert_eq!(page.next, None);
        }

        #[tokio::test]
        async fn query_of_an_empty_partition_returns_an_empty_last_page() {
            let store = $fresh.await;
            put_all(&store, "Q", &["a"]).await;

            let page = store.query(Query::table("P")).await.unwrap();

            assert!(page.items.is_empty());
            assert_eq!(page.next, None);
        }

        #[tokio::test]
        async fn query_begins_with_returns_only_sort_keys_with_the_prefix() {
            let store = $fresh.await;
            put_all(&store, "P", &["MSF#9", "MSG", "MSG#", "MSG#1", "MSG#2", "MSG#~", "MSG#😀", "MSG$", "MSH", "READ#1"])
                .await;

            let page = store.query(Query::table("P").range(KeyRange::BeginsWith("MSG#".into()))).await.unwrap();

            assert_eq!(sort_keys(&page.items), ["MSG#", "MSG#1", "MSG#2", "MSG#~", "MSG#😀"]);
        }

        #[tokio::test]
        async fn query_between_includes_both_bounds() {
            let store = $fresh.await;
            put_all(&store, "P", &["a", "b", "c", "d", "d0", "e"]).await;

            let page =
                store.query(Query::table("P").range(KeyRange::Between("b".into(), "d".into()))).await.unwrap();

            assert_eq!(sort_keys(&page.items), ["b", "c", "d"]);
        }

        #[tokio::test]
        async fn query_after_and_before_exclude_the_bound() {
            let store = $fresh.await;
            put_all(&store, "P", &["a", "b", "c", "d"]).await;

            let after = store.query(Query::table("P").range(KeyRange::After("b".into()))).await.unwrap();
            let before = store.query(Query::table("P").range(KeyRange::Before("c".into()))).await.unwrap();

            assert_eq!(sort_keys(&after.items), ["c", "d"]);
            assert_eq!(sort_keys(&before.items), ["a", "b"]);
        }

        #[tokio::test]
        async fn query_descending_returns_the_highest_sort_keys_first() {
            let store = $fresh.await;
            put_all(&store, "P", &["MSG#1", "MSG#3", "MSG#2", "READ#1"]).await;

            let all = store.query(Query::table("P").ascending(false)).await.unwrap();
            let messages = store
                .query(Query::table("P").range(KeyRange::BeginsWith("MSG#".into())).ascending(false))
                .await
                .unwrap();

            assert_eq!(sort_keys(&all.items), ["READ#1", "MSG#3", "MSG#2", "MSG#1"]);
            assert_eq!(sort_keys(&messages.items), ["MSG#3", "MSG#2", "MSG#1"]);
        }

        #[tokio::test]
        async fn query_orders_sort_keys_by_utf8_bytes() {
            let store = $fresh.await;
            put_all(&store, "P", &["😀", "a", "é", "B", "\u{FFFD}", "~", "Z0"]).await;

            let page = store.query(Query::table("P")).await.unwrap();

            assert_eq!(sort_keys(&page.items), ["B", "Z0", "a", "~", "é", "\u{FFFD}", "😀"]);
        }

        #[tokio::test]
        async fn paging_through_seven_items_with_limit_three_returns_each_once_in_order() {
            let store = $fresh.await;
            let all = ["1", "2", "3", "4", "5", "6", "7"];
            put_all(&store, "P", &all).await;

            let (items, sizes) = all_pages(&store, Query::table("P").limit(3)).await;

            assert_eq!(sort_keys(&items), all);
            assert_eq!(sizes, [3, 3, 1]);
        }

        #[tokio::test]
        async fn paging_descending_returns_each_item_once_highest_first() {
            let store = $fresh.await;
            put_all(&store, "P", &["1", "2", "3", "4", "5", "6", "7"]).await;

            let (items, sizes) = all_pages(&store, Query::table("P").ascending(false).limit(3)).await;

            assert_eq!(sort_keys(&items), ["7", "6", "5", "4", "3", "2", "1"]);
            assert_eq!(sizes, [3, 3, 1]);
        }

        #[tokio::test]
        async fn paging_a_key_range_stays_inside_the_range() {
            let store = $fresh.await;
            put_all(&store, "P", &["A", "MSG#1", "MSG#2", "MSG#3", "MSG#4", "MSG#5", "READ#1"]).await;

            let query = Query::table("P").range(KeyRange::BeginsWith("MSG#".into())).limit(2);
            let (items, sizes) = all_pages(&store, query).await;

            assert_eq!(sort_keys(&items), ["MSG#1", "MSG#2", "MSG#3", "MSG#4", "MSG#5"]);
            assert_eq!(sizes, [2, 2, 1]);
        }

        // ---- query on an index ----------------------------------------------------------------

        #[tokio::test]
        async fn query_on_an_index_returns_only_items_with_both_index_attributes() {
            let store = $fresh.await;
            let march = item(json!({"pk": "SESSION#1", "sk": "META", "gsi1pk": "TENANT#t", "gsi1sk": "2024-03"}));
            let january = item(json!({"pk": "SESSION#2", "sk": "META", "gsi1pk": "TENANT#t", "gsi1sk": "2024-01"}));
            store.put(march.clone(), None).await.unwrap();
            store.put(january.clone(), None).await.unwrap();
            put(&store, json!({"pk": "SESSION#3", "sk": "META", "gsi1pk": "TENANT#t"})).await;
            put(&store, json!({"pk": "SESSION#4", "sk": "META", "gsi1sk": "2024-02"})).await;
            put(&store, json!({"pk": "SESSION#5", "sk": "META", "gsi1pk": "TENANT#u", "gsi1sk": "2024-02"})).await;
            put(&store, json!({"pk": "SESSION#6", "sk": "META", "gsi2pk": "TENANT#t", "gsi2sk": "2024-02"})).await;
            put(&store, json!({"pk": "TENANT#t", "sk": "2024-02"})).await;

            let page = store.query(Query::index("gsi1", "TENANT#t")).await.unwrap();

            assert_eq!(page.items, [january, march], "whole items, in index sort key order");
            assert_eq!(page.next, None);
        }

        #[tokio::test]
        async fn get_many_answers_each_key_in_order_beyond_one_batch() {
            let store = $fresh.await;
            for i in (0..150).step_by(2) {
                put(&store, json!({"pk": format!("U#{i}"), "sk": "PREFS", "n": i})).await;
            }
            let mut keys: Vec<Key> = (0..150).map(|i| Key::new(format!("U#{i}"), "PREFS")).collect();
            keys.push(Key::new("U#0", "PREFS"));

            let items = store.get_many(keys.clone()).await.unwrap();

            assert_eq!(items.len(), 151);
            for (key, item) in keys.iter().zip(&items) {
                let one = store.get(key).await.unwrap();
                assert_eq!(item, &one, "{key:?} as get reads it");
            }
            assert_eq!(items.iter().filter(|i| i.is_some()).count(), 76, "the 75 stored, one asked twice");
            assert!(store.get_many(Vec::new()).await.unwrap().is_empty());
            let bad = store.get_many(vec![Key::new("U#0", "PREFS"), Key::new("", "x")]).await;
            assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        }

        #[tokio::test]
        async fn query_many_gives_each_querys_first_page_in_order() {
            let store = $fresh.await;
            for (partition, n) in [("A", 3), ("B", 1), ("C", 2)] {
                for i in 0..n {
                    put(&store, json!({"pk": partition, "sk": format!("E#{i}"), "n": i})).await;
                }
            }
            let queries = vec![
                Query::table("C"),
                Query::table("A").limit(2),
                Query::table("EMPTY"),
                Query::table("B").range(KeyRange::BeginsWith("E#".into())),
            ];
            let one_by_one = {
                let mut pages = Vec::new();
                for query in queries.clone() {
                    pages.push(store.query(query).await.unwrap());
                }
                pages
            };

            let pages = store.query_many(queries).await.unwrap();

            assert_eq!(pages, one_by_one);
            assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [2, 2, 0, 1]);
            assert!(pages[1].next.is_some(), "the limited page says where to continue");
            let bad = store.query_many(vec![Query::table("A"), Query::table("")]).await;
            assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        }

        #[tokio::test]
        async fn query_many_raw_gives_the_same_pages_and_items() {
            let store = $fresh.await;
            for n in 0..3 {
                let body = json!({"pk": "A", "sk": format!("E#{n}"), "gsi1pk": "DAY", "gsi1sk": format!("{n}"),
                    "text": "quote \" and ünïcode", "n": n, "nested": {"list": [1, 2.5, null, true]}});
                put(&store, body).await;
            }
            let queries = || {
                vec![
                    Query::table("A").limit(2),
                    Query::table("EMPTY"),
                    Query::index("gsi1", "DAY").keys_only().ascending(false),
                    Query::table("A").filter(Condition::Equals("n".into(), json!(1))),
                ]
            };
            let decoded = |page: RawPage| {
                let items = page.items.into_iter().map(|raw| raw.decode::<Item>().unwrap()).collect();
                Page { items, next: page.next }
            };

            let expected = store.query_many(queries()).await.unwrap();
            let pages = store.query_many_raw(queries()).await.unwrap();
            let rest = store.query_many_raw(vec![Query::table("A").limit(2).cursor(pages[0].next.clone())]).await.unwrap();

            assert_eq!(pages.into_iter().map(decoded).collect::<Vec<_>>(), expected);
            assert_eq!(expected[0].items.len(), 2);
            assert_eq!(expected[2].items[0], item(json!({"pk": "A", "sk": "E#2", "gsi1pk": "DAY", "gsi1sk": "2"})));
            assert_eq!(strings(&decoded(rest[0].clone()).items, "sk"), ["E#2"], "its cursor continues the page");
            #[derive(Debug, serde::Deserialize)]
            struct Record {
                n: i64,
                text: String,
            }
            let mut typed = store.query_many_raw(vec![Query::table("A")]).await.unwrap();
            let typed: Vec<Record> =
                typed.remove(0).items.into_iter().map(|raw| raw.decode().unwrap()).collect();
            assert_eq!(typed.iter().map(|record| record.n).collect::<Vec<_>>(), [0, 1, 2], "decoded into a type");
            assert_eq!(typed[0].text, "quote \" and ünïcode");
            let bad = store.query_many_raw(vec![Query::table("")]).await;
            assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
        }

        #[tokio::test]
        async fn put_many_writes_and_replaces_every_item_and_refuses_a_key_twice() {
            let store = $fresh.await;
            put(&store, json!({"pk": "B", "sk": "00", "old": true})).await;
            let items: Vec<Item> = (0..30)
                .map(|n| item(json!({"pk": "B", "sk": format!("{n:02}"), "n": n, "gsi1pk": "G", "gsi1sk": format!("{n:02}")})))
                .collect();

            store.put_many(items.clone()).await.unwrap();
            store.put_many(Vec::new()).await.unwrap();
            let twice = store.put_many(vec![items[0].clone(), items[0].clone()]).await;
            let keyless = store.put_many(vec![item(json!({"pk": "B"}))]).await;

            let table = store.query(Query::table("B").limit(100)).await.unwrap();
            let index = store.query(Query::index("gsi1", "G").limit(100)).await.unwrap();
            assert_eq!(table.items, items, "the item of key 00 replaced, not merged");
            assert_eq!(index.items, items, "in the index too");
            assert!(matches!(twice, Err(StoreError::Invalid(_))), "{twice:?}");
            assert!(matches!(keyless, Err(StoreError::Invalid(_))), "{keyless:?}");
        }

        #[tokio::test]
        async fn a_keys_only_query_returns_only_the_keys_page_by_page_and_after_its_filter() {
            let store = $fresh.await;
            for (n, kind) in [(1, "a"), (2, "b"), (3, "a"), (4, "a"), (5, "b")] {
                let body = json!({"pk": format!("S#{n}"), "sk": "E", "gsi1pk": "DAY", "gsi1sk": format!("{n}"),
                    "kind": kind, "details": {"text": "x".repeat(100)}});
                put(&store, body).await;
            }
            let keys = |n: u32| json!({"pk": format!("S#{n}"), "sk": "E", "gsi1pk": "DAY", "gsi1sk": format!("{n}")});

            let first = store.query(Query::index("gsi1", "DAY").keys_only().limit(3)).await.unwrap();
            let rest = store.query(Query::index("gsi1", "DAY").keys_only().limit(3).cursor(first.next.clone())).await.unwrap();
            let filtered = store
                .query(Query::index("gsi1", "DAY").keys_only().filter(Condition::Equals("kind".into(), json!("b"))))
                .await
                .unwrap();
            let table = store.query(Query::table("S#2").keys_only()).await.unwrap();

            assert_eq!(first.items, [1, 2, 3].map(|n| item(keys(n))));
            assert_eq!(rest.items, [4, 5].map(|n| item(keys(n))));
            assert_eq!(rest.next, None);
            assert_eq!(filtered.items, [2, 5].map(|n| item(keys(n))), "the filter sees the whole item");
            assert_eq!(table.items, [item(json!({"pk": "S#2", "sk": "E"}))]);
        }

        #[tokio::test]
        async fn a_count_counts_every_page_of_the_range_that_passes_the_filter() {
            let store = $fresh.await;
            // 1,203 index entries of the day (over a page of 1,000), in partitions S#… and A#…,
            // and one of another day.
            let mut items = Vec::new();
            for n in 0..1203 {
                let pk = if n % 4 == 0 { format!("A#{n}") } else { format!("S#{n}") };
                items.push(item(json!({"pk": pk, "sk": "E", "gsi1pk": "DAY", "gsi1sk": format!("{n:05}"),
                    "kind": if n % 2 == 0 { "even" } else { "odd" }})));
            }
            items.push(item(json!({"pk": "S#x", "sk": "E", "gsi1pk": "OTHER", "gsi1sk": "1"})));
            for chunk in items.chunks(100) {
                store.put_many(chunk.to_vec()).await.unwrap();
            }
            let day = || Query::index("gsi1", "DAY").keys_only();

            let all = store.count(day().limit(10)).await.unwrap();
            let sessions = store.count(day().filter(Condition::BeginsWith("pk".into(), "S#".into()))).await.unwrap();
            let odd = store.count(day().filter(Condition::Equals("kind".into(), json!("odd")))).await.unwrap();
            let both = store
                .count(day().filter(Condition::And(vec![
                    Condition::BeginsWith("pk".into(), "S#".into()),
                    Condition::Not(Box::new(Condition::BeginsWith("kind".into(), "ev".into()))),
                ])))
                .await
                .unwrap();
            let ranged = store.count(day().range(KeyRange::BeginsWith("0000".into()))).await.unwrap();
            let empty = store.count(Query::index("gsi1", "NONE")).await.unwrap();

            assert_eq!(all, 1203, "every page, whatever the query's limit");
            assert_eq!(sessions, 902, "the entries of S# partitions");
            assert_eq!(odd, 601, "a filter on another attribute");
            assert_eq!(both, 601, "S# and not even: every odd one is in S#");
            assert_eq!(ranged, 10, "the sort-key range");
            assert_eq!(empty, 0);
        }

        #[tokio::test]
        async fn begins_with_holds_for_strings_with_the_prefix_only() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "name": "switchboard", "n": 5})).await;
            let on = |name: &str, prefix: &str| Some(Condition::BeginsWith(name.into(), prefix.into()));

            let refused = [on("name", "board"), on("n", "5"), on("missing", "s")];
            for condition in refused {
                let outcome = store.put(item(json!({"pk": "P", "sk": "S", "name": "x"})), condition.clone()).await;
                assert_condition_failed(outcome);
            }
            let empty_prefix = store.put(item(json!({"pk": "P", "sk": "S"})), on("name", "")).await;
            store.put(item(json!({"pk": "P", "sk": "S", "name": "written"})), on("name", "switch")).await.unwrap();

            assert_invalid(empty_prefix);
            assert_eq!(store.get(&key("P", "S")).await.unwrap().and_then(|i| i.get("name").cloned()), Some(json!("written")));
        }

        #[tokio::test]
        async fn an_item_leaves_and_joins_an_index_as_its_index_attributes_change() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "S", "gsi1pk": "G", "gsi1sk": "1"})).await;
            let k = key("P", "S");

            store.update(&k, vec![UpdateAction::Remove("gsi1sk".into())], None).await.unwrap();
            let after_remove = store.query(Query::index("gsi1", "G")).await.unwrap();
            store.update(&k, vec![UpdateAction::Set("gsi1sk".into(), json!("2"))], None).await.unwrap();
            let after_set = store.query(Query::index("gsi1", "G")).await.unwrap();
            store.delete(&k, None).await.unwrap();
            let after_delete = store.query(Query::index("gsi1", "G")).await.unwrap();

            assert!(after_remove.items.is_empty());
            assert_eq!(strings(&after_set.items, "gsi1sk"), ["2"]);
            assert!(after_delete.items.is_empty());
        }

        #[tokio::test]
        async fn paging_through_an_index_returns_each_item_once_in_index_order() {
            let store = $fresh.await;
            // Index order (gsi1sk) differs from table order (pk, sk), and items span partitions.
            for (pk, sk, when) in [
                ("S#a", "1", "t5"), ("S#a", "2", "t2"), ("S#b", "1", "t7"), ("S#c", "9", "t1"),
                ("S#d", "1", "t4"), ("S#d", "3", "t6"), ("S#e", "0", "t3"),
            ] {
                put(&store, json!({"pk": pk, "sk": sk, "gsi1pk": "TENANT", "gsi1sk": when})).await;
            }
            put(&store, json!({"pk": "S#f", "sk": "0", "gsi1pk": "OTHER", "gsi1sk": "t0"})).await;

            let (up, up_sizes) = all_pages(&store, Query::index("gsi1", "TENANT").limit(3)).await;
            let (down, _) = all_pages(&store, Query::index("gsi1", "TENANT").limit(3).ascending(false)).await;

            assert_eq!(strings(&up, "gsi1sk"), ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]);
            assert_eq!(up_sizes, [3, 3, 1]);
            assert_eq!(strings(&down, "gsi1sk"), ["t7", "t6", "t5", "t4", "t3", "t2", "t1"]);
        }

        #[tokio::test]
        async fn paging_through_an_index_with_equal_index_sort_keys_returns_each_item_once() {
            let store = $fresh.await;
            let mut expected = Vec::new();
            for n in 0..7 {
                let pk = format!("S#{n}");
                put(&store, json!({"pk": pk, "sk": "META", "gsi1pk": "TENANT", "gsi1sk": "same"})).await;
                expected.push(pk);
            }

            let (items, _) = all_pages(&store, Query::index("gsi1", "TENANT").limit(2)).await;

            let mut seen = strings(&items, "pk");
            seen.sort();
            assert_eq!(seen, expected);
        }

        #[tokio::test]
        async fn query_on_an_index_honours_the_key_range() {
            let store = $fresh.await;
            for (pk, when) in [("S#1", "2024-01-05"), ("S#2", "2024-02-01"), ("S#3", "2024-02-20"), ("S#4", "2024-03-01")] {
                put(&store, json!({"pk": pk, "sk": "META", "gsi1pk": "TENANT", "gsi1sk": when})).await;
            }

            let query = Query::index("gsi1", "TENANT").range(KeyRange::BeginsWith("2024-02".into())).limit(1);
            let (items, _) = all_pages(&store, query).await;

            assert_eq!(strings(&items, "pk"), ["S#2", "S#3"]);
        }

        // ---- filters ----------------------------------------------------------------------------

        #[tokio::test]
        async fn a_filter_fills_the_page_with_matching_items_only() {
            let store = $fresh.await;
            for n in 1..=12 {
                let status = if n % 3 == 0 { "open" } else { "closed" };
                put(&store, json!({"pk": "P", "sk": format!("{n:02}"), "status": status})).await;
            }
            let query = Query::table("P").filter(Condition::Equals("status".into(), json!("open"))).limit(2);

            let first = store.query(query.clone()).await.unwrap();
            let (all, _) = all_pages(&store, query).await;

            assert_eq!(sort_keys(&first.items), ["03", "06"]);
            assert!(first.next.is_some());
            assert_eq!(sort_keys(&all), ["03", "06", "09", "12"]);
        }

        #[tokio::test]
        async fn a_filter_on_the_queried_key_attributes_is_invalid() {
            let store = $fresh.await;
            put_all(&store, "P", &["a"]).await;

            let on_sort_key = store.query(Query::table("P").filter(Condition::Equals("sk".into(), json!("a")))).await;
            let on_index_key = store
                .query(Query::index("gsi1", "G").filter(Condition::AttributeExists("gsi1sk".into())))
                .await;

            assert_invalid(on_sort_key);
            assert_invalid(on_index_key);
        }

        // ---- cursors ----------------------------------------------------------------------------

        #[tokio::test]
        async fn a_cursor_from_another_partition_is_refused() {
            let store = $fresh.await;
            put_all(&store, "P", &["a", "b"]).await;
            put_all(&store, "Q", &["a", "b"]).await;
            let other = store.query(Query::table("Q").limit(1)).await.unwrap().next.unwrap();

            let result = store.query(Query::table("P").cursor(Some(other))).await;

            assert_invalid_cursor(result);
        }

        #[tokio::test]
        async fn a_cursor_from_another_range_or_index_is_refused() {
            let store = $fresh.await;
            put_all(&store, "P", &["MSG#1", "MSG#2", "READ#1", "READ#2"]).await;
            put(&store, json!({"pk": "X", "sk": "1", "gsi1pk": "P", "gsi1sk": "MSG#1"})).await;
            put(&store, json!({"pk": "X", "sk": "2", "gsi1pk": "P", "gsi1sk": "MSG#2"})).await;
            let reads = Query::table("P").range(KeyRange::BeginsWith("READ#".into())).limit(1);
            let read_cursor = store.query(reads).await.unwrap().next.unwrap();
            let index_cursor = store.query(Query::index("gsi1", "P").limit(1)).await.unwrap().next.unwrap();

            let messages = Query::table("P").range(KeyRange::BeginsWith("MSG#".into()));
            let other_range = store.query(messages.clone().cursor(Some(read_cursor.clone()))).await;
            let table_on_index = store.query(Query::index("gsi1", "P").cursor(Some(read_cursor))).await;
            let index_on_table = store.query(messages.cursor(Some(index_cursor))).await;

            assert_invalid_cursor(other_range);
            assert_invalid_cursor(table_on_index);
            assert_invalid_cursor(index_on_table);
        }

        #[tokio::test]
        async fn a_garbled_or_forged_cursor_is_refused() {
            let store = $fresh.await;
            put_all(&store, "P", &["a", "b"]).await;
            let mut forged = serde_json::Map::new();
            forged.insert("pk".into(), json!("P"));
            forged.insert("sk".into(), json!("a"));
            forged.insert("extra".into(), json!("x"));

            let garbled = Cursor::decode("not a cursor!");
            let result = store.query(Query::table("P").cursor(Some(Cursor::from_attributes(forged)))).await;

            assert_invalid_cursor(garbled);
            assert_invalid_cursor(result);
        }

        // ---- transactions -------------------------------------------------------------------------

        #[tokio::test]
        async fn a_transaction_applies_every_operation() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "a", "n": 1})).await;
            put(&store, json!({"pk": "P", "sk": "b"})).await;
            put(&store, json!({"pk": "P", "sk": "c", "status": "open"})).await;

            store
                .transact_write(vec![
                    TxOp::Put { item: item(json!({"pk": "P", "sk": "new"})), condition: Some(Condition::NotExists) }.named("new"),
                    TxOp::Update { key: key("P", "a"), actions: vec![UpdateAction::Add("n".into(), 1)], condition: None }.named("a"),
                    TxOp::Delete { key: key("P", "b"), condition: Some(Condition::Exists) }.named("b"),
                    TxOp::Check { key: key("P", "c"), condition: Condition::Equals("status".into(), json!("open")) }.named("c"),
                ])
                .await
                .unwrap();

            let (items, _) = all_pages(&store, Query::table("P")).await;
            assert_eq!(sort_keys(&items), ["a", "c", "new"]);
            assert_eq!(items[0]["n"], json!(2));
        }

        #[tokio::test]
        async fn a_transaction_with_a_failing_check_is_cancelled_and_writes_nothing() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "a", "n": 1})).await;
            put(&store, json!({"pk": "P", "sk": "b"})).await;
            put(&store, json!({"pk": "P", "sk": "c", "status": "open"})).await;
            let (before, _) = all_pages(&store, Query::table("P")).await;

            let result = store
                .transact_write(vec![
                    TxOp::Put { item: item(json!({"pk": "P", "sk": "new"})), condition: None }.named("new"),
                    TxOp::Update { key: key("P", "a"), actions: vec![UpdateAction::Add("n".into(), 1)], condition: None }.named("a"),
                    TxOp::Check { key: key("P", "c"), condition: Condition::Equals("status".into(), json!("closed")) }.named("c_closed"),
                    TxOp::Delete { key: key("P", "b"), condition: None }.named("b"),
                ])
                .await;

            match result {
                Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, ["c_closed"]),
                other => panic!("expected TransactionCanceled, got {other:?}"),
            }
            let (after, _) = all_pages(&store, Query::table("P")).await;
            assert_eq!(after, before);
        }

        #[tokio::test]
        async fn a_cancelled_transaction_reports_every_failing_operation() {
            let store = $fresh.await;
            put(&store, json!({"pk": "P", "sk": "a"})).await;
            put(&store, json!({"pk": "P", "sk": "b", "x": 2})).await;

            let result = store
                .transact_write(vec![
                    TxOp::Put { item: item(json!({"pk": "P", "sk": "a"})), condition: Some(Condition::NotExists) }.named("a_new"),
                    TxOp::Put { item: item(json!({"pk": "P", "sk": "z"})), condition: Some(Condition::NotExists) }.named("z_new"),
                    TxOp::Delete { key: key("P", "b"), condition: Some(Condition::Equals("x".into(), json!(1))) }.named("b_is_1"),
                    TxOp::Update {
                        key: key("P", "new"),
                        actions: vec![UpdateAction::Set("y".into(), json!(1))],
                        condition: Some(Condition::Exists),
                    }
                    .named("new_exists"),
                ])
                .await;

            match result {
                Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, ["a_new", "b_is_1", "new_exists"]),
                other => panic!("expected TransactionCanceled, got {other:?}"),
            }
            assert_eq!(store.get(&key("P", "z")).await.unwrap(), None);
            assert!(store.get(&key("P", "b")).await.unwrap().is_some());
        }

        #[tokio::test]
        async fn a_failed_condition_is_reported_by_the_name_it_was_given() {
            let store = $fresh.await;
            put(&store, json!({"pk": "ROOM#name", "sk": "support", "room": "r1"})).await;

            let result = store
                .transact_write(vec![
                    TxOp::Put { item: item(json!({"pk": "ROOM#r2", "sk": "META"})), condition: Some(Condition::NotExists) }
                        .named("room_new"),
                    TxOp::Put { item: item(json!({"pk": "ROOM#name", "sk": "support", "room": "r2"})), condition: Some(Condition::NotExists) }
                        .named("name_free"),
                    TxOp::Check { key: key("USER#ada", "BLOCK"), condition: Condition::NotExists }.named("not_blocked"),
                ])
                .await;

            match result {
                Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, ["name_free"]),
                other => panic!("expected TransactionCanceled, got {other:?}"),
            }
            assert_eq!(store.get(&key("ROOM#r2", "META")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn a_transaction_of_one_hundred_operations_is_applied() {
            let store = $fresh.await;
            let ops: Vec<_> = (0..MAX_TRANSACTION_OPS)
                .map(|n| TxOp::Put { item: item(json!({"pk": "P", "sk": format!("{n:03}")})), condition: None }.named("put"))
                .collect();

            store.transact_write(ops).await.unwrap();

            let (items, _) = all_pages(&store, Query::table("P").limit(MAX_QUERY_LIMIT)).await;
            assert_eq!(items.len(), MAX_TRANSACTION_OPS);
        }

        #[tokio::test]
        async fn a_transaction_over_one_hundred_operations_is_invalid_and_writes_nothing() {
            let store = $fresh.await;
            let ops: Vec<_> = (0..=MAX_TRANSACTION_OPS)
                .map(|n| TxOp::Put { item: item(json!({"pk": "P", "sk": format!("{n:03}")})), condition: None }.named("put"))
                .collect();

            let result = store.transact_write(ops).await;

            assert_invalid(result);
            assert!(store.query(Query::table("P")).await.unwrap().items.is_empty());
        }

        #[tokio::test]
        async fn an_empty_transaction_is_invalid() {
            let store = $fresh.await;

            assert_invalid(store.transact_write(vec![]).await);
        }

        #[tokio::test]
        async fn a_transaction_with_two_operations_on_one_item_is_invalid() {
            let store = $fresh.await;

            let result = store
                .transact_write(vec![
                    TxOp::Put { item: item(json!({"pk": "P", "sk": "a"})), condition: None }.named("put"),
                    TxOp::Check { key: key("P", "a"), condition: Condition::NotExists }.named("check"),
                ])
                .await;

            assert_invalid(result);
            assert_eq!(store.get(&key("P", "a")).await.unwrap(), None);
        }

        // ---- limits and validation ------------------------------------------------------------

        #[tokio::test]
        async fn an_item_over_400_kb_is_invalid_and_not_stored() {
            let store = $fresh.await;

            let result = store.put(item(json!({"pk": "P", "sk": "S", "body": filler(MAX_ITEM_BYTES + 1)})), None).await;

            assert_invalid(result);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn an_item_of_300_kb_is_stored() {
            let store = $fresh.await;
            let big = item(json!({"pk": "P", "sk": "S", "body": filler(300 * 1024)}));

            store.put(big.clone(), None).await.unwrap();

            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(big));
        }

        #[tokio::test]
        async fn an_update_that_grows_an_item_over_400_kb_is_invalid() {
            let store = $fresh.await;
            let original = item(json!({"pk": "P", "sk": "S", "a": filler(300 * 1024)}));
            store.put(original.clone(), None).await.unwrap();

            let result =
                store.update(&key("P", "S"), vec![UpdateAction::Set("b".into(), json!(filler(200 * 1024)))], None).await;

            assert_invalid(result);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), Some(original));
        }

        #[tokio::test]
        async fn an_item_without_non_empty_string_keys_is_invalid() {
            let store = $fresh.await;

            for bad in [
                json!({"pk": "P"}),
                json!({"sk": "S"}),
                json!({"pk": 1, "sk": "S"}),
                json!({"pk": "P", "sk": null}),
                json!({"pk": "", "sk": "S"}),
                json!({"pk": "P", "sk": ""}),
            ] {
                assert_invalid(store.put(item(bad), None).await);
            }
        }

        #[tokio::test]
        async fn a_key_with_an_empty_string_is_invalid() {
            let store = $fresh.await;

            assert_invalid(store.get(&key("", "S")).await);
            assert_invalid(store.get(&key("P", "")).await);
            assert_invalid(store.delete(&key("", "S"), None).await);
            assert_invalid(store.update(&key("P", ""), vec![UpdateAction::Add("n".into(), 1)], None).await);
            assert_invalid(store.query(Query::table("")).await);
        }

        #[tokio::test]
        async fn an_index_key_attribute_must_be_a_non_empty_string_when_present() {
            let store = $fresh.await;

            let number = store.put(item(json!({"pk": "P", "sk": "S", "gsi1pk": 5, "gsi1sk": "x"})), None).await;
            let empty = store.put(item(json!({"pk": "P", "sk": "S", "gsi1pk": "G", "gsi1sk": ""})), None).await;

            assert_invalid(number);
            assert_invalid(empty);
            assert_eq!(store.get(&key("P", "S")).await.unwrap(), None);
        }

        #[tokio::test]
        async fn a_query_limit_outside_one_to_one_thousand_is_invalid() {
            let store = $fresh.await;

            assert_invalid(store.query(Query::table("P").limit(0)).await);
            assert_invalid(store.query(Query::table("P").limit(MAX_QUERY_LIMIT + 1)).await);
            store.query(Query::table("P").limit(MAX_QUERY_LIMIT)).await.unwrap();
        }

        #[tokio::test]
        async fn a_query_on_an_unknown_index_is_invalid() {
            let store = $fresh.await;

            assert_invalid(store.query(Query::index("no-such-index", "P")).await);
        }
    };
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::sync::Arc;

    use switchboard_shared::store::sqlite::SqliteItemStore;

    use crate::support::Fixture;

    /// A store on a new file in its own temporary directory, removed when the test ends.
    async fn fresh() -> Fixture {
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let store = SqliteItemStore::open(&dir.path().join("items.sqlite3")).expect("open store");
        Fixture::new(Arc::new(store), dir)
    }

    conformance_suite!(fresh());
}

mod dynamodb {
    use std::sync::Arc;

    use switchboard_shared::config::{dynamodb_client_for_endpoint, TEST_DYNAMODB_ENDPOINT};
    use switchboard_shared::store::dynamo::DynamoItemStore;

    use crate::support::Fixture;

    /// A new table on the moto server, so tests do not see each other's items.
    async fn fresh() -> Fixture {
        let endpoint = std::env::var(TEST_DYNAMODB_ENDPOINT).unwrap_or_else(|_| {
            panic!("{TEST_DYNAMODB_ENDPOINT} is not set: run the tests with scripts/test.sh, which starts a moto server")
        });
        let table = format!("conformance-{}", ulid::Ulid::new().to_string().to_lowercase());
        let store =
            DynamoItemStore::new(dynamodb_client_for_endpoint(&endpoint).expect("a DynamoDB client"), table);
        store.create_table().await.expect("create a table on the moto server");
        Fixture::new(Arc::new(store), ())
    }

    conformance_suite!(fresh());
}
