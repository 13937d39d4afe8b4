//! The store's change records: what DynamoDB Streams hands over for every write of the table
//! (`NEW_AND_OLD_IMAGES`), and what the SQLite store appends to its feed table in the same
//! transaction as the write. The change feed's consumer (`crate::changes`) reads these.

use serde::{Deserialize, Serialize};

use super::{Item, Key};

/// What a write did to an item (DynamoDB Streams' `eventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeKind {
    /// The item did not exist before.
    Insert,
    /// The item existed and changed.
    Modify,
    /// The item was deleted.
    Remove,
}

impl ChangeKind {
    /// The stream's name of the kind: `INSERT`, `MODIFY`, `REMOVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Insert => "INSERT",
            ChangeKind::Modify => "MODIFY",
            ChangeKind::Remove => "REMOVE",
        }
    }

    /// Reads a stream's event name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "INSERT" => Some(ChangeKind::Insert),
            "MODIFY" => Some(ChangeKind::Modify),
            "REMOVE" => Some(ChangeKind::Remove),
            _ => None,
        }
    }
}

/// The one shard of the SQLite store's feed.
pub const LOCAL_SHARD: &str = "local";

fn local_shard() -> String {
    LOCAL_SHARD.to_owned()
}

/// One change of one item, in the order of its partition's writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The record's place in the feed: increasing with every change (SQLite's row number, or
    /// DynamoDB's `SequenceNumber`, a decimal string of up to 40 digits). It identifies the
    /// change: a record delivered twice carries the same sequence.
    pub sequence: String,
    /// The shard of the feed the record came from: a shard hands its records over in order of
    /// sequence, and sequences are compared only within one ([`LOCAL_SHARD`] for the SQLite
    /// store's feed, which is one shard; the stream's shard id in DynamoDB Streams). Failed
    /// changes kept before shards were recorded read as the local shard.
    #[serde(default = "local_shard")]
    pub shard: String,
    /// What the write did.
    pub kind: ChangeKind,
    /// The item's partition key.
    pub pk: String,
    /// The item's sort key.
    pub sk: String,
    /// The item before the write (absent for an insert).
    pub old: Option<Item>,
    /// The item after the write (absent for a remove).
    pub new: Option<Item>,
    /// When the change was written, epoch milliseconds (DynamoDB: its seconds, times 1,000).
    pub at_ms: i64,
}

impl ChangeRecord {
    /// The changed item's key.
    pub fn key(&self) -> Key {
        Key::new(self.pk.clone(), self.sk.clone())
    }
}
