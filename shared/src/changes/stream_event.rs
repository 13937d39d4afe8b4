//! The records of a DynamoDB Streams event as Lambda's event-source mapping hands them to
//! `changes-process` (`Records[].dynamodb` with `Keys`, `OldImage`, `NewImage` in DynamoDB's
//! attribute-value JSON), read into the feed's [`ChangeRecord`]s. The mapping runs with a
//! tumbling window (`TumblingWindowInSeconds`), the one setting under which Lambda names the
//! batch's shard (`shardId`): the counters count a shard's records once by their sequence.

use serde_json::{Map, Number, Value};

use crate::store::changes::{ChangeKind, ChangeRecord};
use crate::store::{Item, PK, SK};

/// A record of the event that could not be read: its sequence number (when it has one, to
/// report it as a batch item failure) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The record's `SequenceNumber`.
    pub sequence: Option<String>,
    /// What was wrong.
    pub reason: String,
}

/// Every record of the event, in order, read or not; an event that names no shard is refused
/// whole (its mapping has no tumbling window).
pub fn records(event: &Value) -> Result<Vec<Result<ChangeRecord, Unreadable>>, String> {
    let records = event["Records"].as_array().ok_or("not a DynamoDB Streams event: no Records")?;
    let shard = event["shardId"]
        .as_str()
        .ok_or("the event names no shardId: the event-source mapping needs TumblingWindowInSeconds")?;
    Ok(records.iter().map(|one| record(shard, one)).collect())
}

fn record(shard: &str, record: &Value) -> Result<ChangeRecord, Unreadable> {
    let change = &record["dynamodb"];
    let sequence = change["SequenceNumber"].as_str().map(str::to_owned);
    let unreadable = |reason: &str| Unreadable { sequence: sequence.clone(), reason: reason.to_owned() };
    let kind = record["eventName"]
        .as_str()
        .and_then(ChangeKind::parse)
        .ok_or_else(|| unreadable("no known eventName"))?;
    let image = |name: &str| match &change[name] {
        Value::Null => Ok(None),
        Value::Object(map) => item(map).map(Some).map_err(|reason| unreadable(&reason)),
        _ => Err(unreadable(name)),
    };
    let keys = image("Keys")?.ok_or_else(|| unreadable("no Keys"))?;
    let key = |name: &str| {
        keys.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| unreadable(name))
    };
    Ok(ChangeRecord {
        sequence: sequence.clone().ok_or_else(|| unreadable("no SequenceNumber"))?,
        shard: shard.to_owned(),
        kind,
        pk: key(PK)?,
        sk: key(SK)?,
        old: image("OldImage")?,
        new: image("NewImage")?,
        at_ms: change["ApproximateCreationDateTime"].as_f64().map_or(0, |seconds| (seconds * 1000.0) as i64),
    })
}

/// An item in attribute-value JSON (`{"name": {"S": "text"}}`) as a plain item.
fn item(attributes: &Map<String, Value>) -> Result<Item, String> {
    attributes.iter().map(|(name, value)| Ok((name.clone(), plain(value)?))).collect()
}

/// One attribute value (`{"N": "5"}`, `{"M": {...}}`...) as plain JSON.
fn plain(value: &Value) -> Result<Value, String> {
    let Some((kind, inner)) =
        value.as_object().filter(|map| map.len() == 1).and_then(|map| map.iter().next())
    else {
        return Err(format!("not an attribute value: {value}"));
    };
    let number = |text: &Value| -> Result<Value, String> {
        let text = text.as_str().ok_or("a number that is not text")?;
        text.parse::<i64>()
            .map(Number::from)
            .or_else(|_| text.parse::<u64>().map(Number::from))
            .ok()
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .map(Value::Number)
            .ok_or_else(|| format!("not a number: {text}"))
    };
    let list = |items: &Value, each: &dyn Fn(&Value) -> Result<Value, String>| -> Result<Value, String> {
        items.as_array().ok_or("a set or list that is not an array")?.iter().map(each).collect()
    };
    match kind.as_str() {
        "S" => Ok(inner.clone()),
        "N" => number(inner),
        "BOOL" => Ok(inner.clone()),
        "NULL" => Ok(Value::Null),
        "M" => item(inner.as_object().ok_or("a map that is not an object")?).map(Value::Object),
        "L" => list(inner, &plain),
        "SS" => list(inner, &|text| Ok(text.clone())),
        "NS" => list(inner, &number),
        other => Err(format!("an attribute type the store never writes: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_modify_record_reads_its_keys_images_and_sequence() {
        let event = json!({"Records": [{
            "eventName": "MODIFY",
            "dynamodb": {
                "ApproximateCreationDateTime": 1767269654.0,
                "Keys": {"pk": {"S": "SESSION#1"}, "sk": {"S": "META"}},
                "OldImage": {"pk": {"S": "SESSION#1"}, "n": {"N": "1"}, "tags": {"SS": ["a"]}},
                "NewImage": {"pk": {"S": "SESSION#1"}, "n": {"N": "2.5"}, "m": {"M": {"x": {"NULL": true}}}},
                "SequenceNumber": "111",
            },
        }, {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "112"}}], "shardId": "shardId-0001"});
        let read = records(&event).unwrap();
        let first = read[0].as_ref().unwrap();
        assert_eq!(first.shard, "shardId-0001");
        assert_eq!(
            (first.kind, first.pk.as_str(), first.sk.as_str()),
            (ChangeKind::Modify, "SESSION#1", "META")
        );
        assert_eq!((first.sequence.as_str(), first.at_ms), ("111", 1_767_269_654_000));
        assert_eq!(
            Value::Object(first.old.clone().unwrap()),
            json!({"pk": "SESSION#1", "n": 1, "tags": ["a"]})
        );
        assert_eq!(
            Value::Object(first.new.clone().unwrap()),
            json!({"pk": "SESSION#1", "n": 2.5, "m": {"x": null}})
        );
        assert_eq!(read[1].as_ref().unwrap_err().sequence.as_deref(), Some("112"));
    }

    #[test]
    fn an_event_without_a_shard_is_refused_whole() {
        let event = json!({"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1"}}]});
        let refused = records(&event).unwrap_err();
        assert!(refused.contains("TumblingWindowInSeconds"), "{refused}");
    }
}
