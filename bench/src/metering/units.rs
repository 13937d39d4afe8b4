//! DynamoDB's size of an item, by its published rules: each attribute's name in UTF-8 bytes
//! plus its value — a string's UTF-8 bytes, a number about one byte per two digits plus one, a
//! boolean or null one byte, a list or map three bytes plus one per element and its elements
//! (a map's names included).

use serde_json::Value;
use switchboard_shared::store::Item;

/// The item's size in bytes, as DynamoDB counts it for capacity units and its 400 KB limit.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::String(text) => text.len(),
        Value::Number(number) => {
            let digits = number.to_string().chars().filter(char::is_ascii_digit).count();
            digits.div_ceil(2) + 1
        }
        Value::Array(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::Object(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_values_are_counted() {
        let Value::Object(item) = json!({"pk": "AB", "n": 12345, "ok": true}) else { unreachable!() };
        assert_eq!(item_size(&item), (2 + 2) + (1 + 4) + (2 + 1));
    }
}
