//! Validation both adapters share: what DynamoDB refuses with a ValidationException, checked
//! before any call so both backends (and moto, which misses some of it) refuse alike.

use serde_json::Value;

use super::{index, Condition, Item, Key, KeyRange, Query, StoreError, INDEXES, MAX_QUERY_LIMIT, PK, SK};

/// DynamoDB's limit on a partition key value, in bytes.
pub(crate) const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// DynamoDB's limit on a sort key value, in bytes.
pub(crate) const MAX_SORT_KEY_BYTES: usize = 1024;

pub(crate) fn check_key(key: &Key) -> Result<(), StoreError> {
    check_key_value(PK, &key.pk, MAX_PARTITION_KEY_BYTES)?;
    check_key_value(SK, &key.sk, MAX_SORT_KEY_BYTES)
}

pub(crate) fn check_key_value(name: &str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::Invalid(format!("key attribute {name} is an empty string")));
    }
    if value.len() > max {
        return Err(StoreError::Invalid(format!("key attribute {name} is over {max} bytes")));
    }
    Ok(())
}

pub(crate) fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::Invalid("an attribute name is empty".into()));
    }
    Ok(())
}

/// DynamoDB leaves an item without an index's key attributes out of that index (sparse), but
/// refuses one that is present with the wrong type, empty, or too long.
pub(crate) fn check_index_keys(item: &Item) -> Result<(), StoreError> {
    for def in INDEXES {
        for (name, max) in [(def.pk, MAX_PARTITION_KEY_BYTES), (def.sk, MAX_SORT_KEY_BYTES)] {
            // DynamoDB leaves an item without the attribute out of the index (sparse), but
            // refuses an index key attribute that is present with the wrong type or empty.
            match item.get(name) {
                None => {}
                Some(Value::String(s)) if s.is_empty() => {
                    return Err(StoreError::Invalid(format!(
                        "index key {name} of index {} is an empty string",
                        def.name
                    )));
                }
                Some(Value::String(s)) if s.len() > max => {
                    return Err(StoreError::Invalid(format!("index key {name} is over {max} bytes")));
                }
                Some(Value::String(_)) => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "index key {name} of index {} must be a string",
                        def.name
                    )));
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn check_condition(condition: &Condition) -> Result<(), StoreError> {
    match condition {
        Condition::NotExists | Condition::Exists => Ok(()),
        Condition::AttributeExists(name)
        | Condition::AttributeNotExists(name)
        | Condition::Equals(name, _)
        | Condition::NotEquals(name, _) => check_name(name),
        Condition::LessThan(name, value) | Condition::GreaterThan(name, value) => {
            check_name(name)?;
            // DynamoDB refuses `<` and `>` on operands other than strings, numbers and binary.
            if value.is_string() || value.is_number() {
                Ok(())
            } else {
                Err(StoreError::Invalid(format!("cannot order by a value like {value}")))
            }
        }
        Condition::BeginsWith(name, prefix) => {
            check_name(name)?;
            if prefix.is_empty() {
                return Err(StoreError::Invalid("begins_with needs a prefix".into()));
            }
            Ok(())
        }
        Condition::And(conditions) | Condition::Or(conditions) => {
            if conditions.is_empty() {
                return Err(StoreError::Invalid("an empty And/Or condition".into()));
            }
            conditions.iter().try_for_each(check_condition)
        }
        Condition::Not(inner) => check_condition(inner),
    }
}

/// DynamoDB refuses filters on the queried key attributes (they belong in the key condition);
/// `Exists`/`NotExists` are refused too, as every filtered item exists.
pub(crate) fn check_filter(filter: &Condition, pk_col: &str, sk_col: &str) -> Result<(), StoreError> {
    check_condition(filter)?;
    let on_key = |name: &str| {
        if name == pk_col || name == sk_col {
            Err(StoreError::Invalid(format!("a query filter cannot use key attribute {name}")))
        } else {
            Ok(())
        }
    };
    match filter {
        Condition::NotExists | Condition::Exists => {
            Err(StoreError::Invalid("a query filter cannot test whether the item exists".into()))
        }
        Condition::AttributeExists(name)
        | Condition::AttributeNotExists(name)
        | Condition::Equals(name, _)
        | Condition::NotEquals(name, _)
        | Condition::LessThan(name, _)
        | Condition::GreaterThan(name, _)
        | Condition::BeginsWith(name, _) => on_key(name),
        Condition::And(conditions) | Condition::Or(conditions) => {
            conditions.iter().try_for_each(|c| check_filter(c, pk_col, sk_col))
        }
        Condition::Not(inner) => check_filter(inner, pk_col, sk_col),
    }
}

/// Checks a query as DynamoDB would (limit, index, partition, filter, key range) and returns the
/// partition and sort key attributes it reads.
pub(crate) fn check_query(query: &Query) -> Result<(&'static str, &'static str), StoreError> {
    if !(1..=MAX_QUERY_LIMIT).contains(&query.limit) {
        return Err(StoreError::Invalid(format!("query limit must be 1..={MAX_QUERY_LIMIT}")));
    }
    let (pk, sk) = match query.index {
        None => (PK, SK),
        Some(name) => {
            let def = index(name).ok_or_else(|| StoreError::Invalid(format!("unknown index {name}")))?;
            (def.pk, def.sk)
        }
    };
    check_key_value(pk, &query.partition, MAX_PARTITION_KEY_BYTES)?;
    if let Some(filter) = &query.filter {
        check_filter(filter, pk, sk)?;
    }
    // Like DynamoDB, a key condition on an empty string (or an inverted range) is refused.
    let bound = |value: &str| check_key_value(sk, value, MAX_SORT_KEY_BYTES);
    match &query.range {
        KeyRange::All => {}
        KeyRange::BeginsWith(v) | KeyRange::After(v) | KeyRange::Before(v) => bound(v)?,
        KeyRange::Between(low, high) => {
            bound(low)?;
            bound(high)?;
            if low.as_bytes() > high.as_bytes() {
                return Err(StoreError::Invalid("Between: lower bound above upper bound".into()));
            }
        }
    }
    Ok((pk, sk))
}

/// Refuses two items with one key (DynamoDB refuses them in one batch).
pub(super) fn check_distinct_keys(items: &[Item]) -> Result<(), StoreError> {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let key = (item.get(PK).and_then(Value::as_str), item.get(SK).and_then(Value::as_str));
        if !seen.insert(key) {
            return Err(StoreError::Invalid("two items with one key in a batch".into()));
        }
    }
    Ok(())
}
