//! Opaque page cursors: the key of the last item of a page, checked against the next query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use super::{index, Item, KeyRange, Query, StoreError, PK, SK};

/// Longest encoded cursor accepted; real ones are a few hundred bytes.
const MAX_ENCODED_LEN: usize = 2048;

/// Where a page stopped: the key attributes (table and index) of its last item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    attributes: Map<String, Value>,
}

impl Cursor {
    /// The cursor after `item` in a query on `index_name` (or the table).
    pub fn after_item(item: &Item, index_name: Option<&str>) -> Result<Self, StoreError> {
        let mut attributes = Map::new();
        for name in key_attributes(index_name)? {
            let value = item
                .get(name)
                .filter(|v| v.is_string())
                .ok_or_else(|| StoreError::Backend(format!("page item lacks key attribute {name}")))?;
            attributes.insert(name.to_owned(), value.clone());
        }
        Ok(Self { attributes })
    }

    /// Builds a cursor from key attributes returned by the backend (DynamoDB's LastEvaluatedKey).
    pub fn from_attributes(attributes: Map<String, Value>) -> Self {
        Self { attributes }
    }

    /// The key attributes.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// The string a client carries between pages.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(Value::Object(self.attributes.clone()).to_string())
    }

    /// Parses a client's cursor string; anything that is not a map of strings is rejected.
    pub fn decode(encoded: &str) -> Result<Self, StoreError> {
        if encoded.is_empty() || encoded.len() > MAX_ENCODED_LEN {
            return Err(StoreError::InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| StoreError::InvalidCursor)?;
        let Ok(Value::Object(attributes)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(StoreError::InvalidCursor);
        };
        if attributes.values().any(|v| !v.is_string()) {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Self { attributes })
    }

    /// Checks that the cursor can only continue `query`: the same key attributes, the same
    /// partition, a sort key inside the queried range. A cursor from another partition, index
    /// or range is refused, so a forged one cannot read past the caller's own partition.
    pub fn check_fits(&self, query: &Query) -> Result<(), StoreError> {
        let expected = key_attributes(query.index)?;
        if self.attributes.len() != expected.len()
            || expected.iter().any(|name| !self.attributes.contains_key(*name))
        {
            return Err(StoreError::InvalidCursor);
        }
        let (pk_name, sk_name) = match query.index {
            None => (PK, SK),
            Some(name) => {
                let def = index(name).ok_or_else(|| StoreError::Invalid(format!("unknown index {name}")))?;
                (def.pk, def.sk)
            }
        };
        let string = |name: &str| self.attributes.get(name).and_then(Value::as_str).unwrap_or_default();
        if string(pk_name) != query.partition || !range_contains(&query.range, string(sk_name)) {
            return Err(StoreError::InvalidCursor);
        }
        Ok(())
    }

    /// The sort key (of the table or of the index) the cursor stopped at.
    pub fn sort_key(&self, index_name: Option<&str>) -> Option<&str> {
        let name = match index_name {
            None => SK,
            Some(n) => index(n)?.sk,
        };
        self.attributes.get(name).and_then(Value::as_str)
    }

    /// The table key the cursor stopped at.
    pub fn table_key(&self) -> Option<(&str, &str)> {
        Some((
            self.attributes.get(PK).and_then(Value::as_str)?,
            self.attributes.get(SK).and_then(Value::as_str)?,
        ))
    }
}

/// Whether a sort key lies inside a key range.
pub fn range_contains(range: &KeyRange, sort_key: &str) -> bool {
    match range {
        KeyRange::All => true,
        KeyRange::BeginsWith(prefix) => sort_key.starts_with(prefix.as_str()),
        KeyRange::Between(low, high) => low.as_str() <= sort_key && sort_key <= high.as_str(),
        KeyRange::After(low) => sort_key > low.as_str(),
        KeyRange::Before(high) => sort_key < high.as_str(),
    }
}

fn key_attributes(index_name: Option<&str>) -> Result<Vec<&'static str>, StoreError> {
    match index_name {
        None => Ok(vec![PK, SK]),
        Some(name) => {
            let def = index(name).ok_or_else(|| StoreError::Invalid(format!("unknown index {name}")))?;
            Ok(vec![PK, SK, def.pk, def.sk])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(pk: &str, sk: &str) -> Item {
        let Value::Object(map) = json!({"pk": pk, "sk": sk, "body": "hi"}) else { unreachable!() };
        map
    }

    #[test]
    fn cursor_round_trips_through_its_string() {
        let cursor = Cursor::after_item(&item("SESSION#1", "MSG#2"), None).unwrap();
        let decoded = Cursor::decode(&cursor.encode()).unwrap();
        assert_eq!(decoded, cursor);
        assert!(decoded.check_fits(&Query::table("SESSION#1")).is_ok());
    }

    #[test]
    fn garbled_cursors_are_refused() {
        for garbage in ["", "!!!", "bm90IGpzb24", "W10", "eyJwayI6MX0"] {
            assert!(matches!(Cursor::decode(garbage), Err(StoreError::InvalidCursor)), "{garbage}");
        }
    }

    #[test]
    fn a_cursor_from_another_partition_does_not_fit() {
        let cursor = Cursor::after_item(&item("SESSION#other", "MSG#2"), None).unwrap();
        assert!(matches!(cursor.check_fits(&Query::table("SESSION#mine")), Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn a_cursor_outside_the_range_does_not_fit() {
        let cursor = Cursor::after_item(&item("SESSION#1", "READ#x"), None).unwrap();
        let query = Query::table("SESSION#1").range(KeyRange::BeginsWith("MSG#".into()));
        assert!(cursor.check_fits(&query).is_err());
    }
}
