//! Blocks (`USER#<id>` / `BLOCK`): a blocked user opens no session and sends nothing. Each is
//! also on gsi1 `BLOCKS` by when it was set, for the list of blocked users.

use crate::domain::{Block, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, ItemStore, Key, Query, TxOp};

use super::{from_item, records, to_item};

/// The gsi1 partition of every block.
const LISTING: &str = "BLOCKS";

/// Key of a user's block.
pub fn key(user: &UserId) -> Key {
    Key::new(format!("USER#{user}"), "BLOCK")
}

/// Creates a block; fails if the user is blocked already.
pub fn put_new(block: &Block) -> Result<TxOp, ApiError> {
    let at = crate::domain::timestamp::format(block.blocked_at)
        .map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))?;
    let listed = format!("{at}#{}", block.user_id);
    let item = to_item(block, &key(&block.user_id), &[("gsi1pk", LISTING.into()), ("gsi1sk", listed)])?;
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// One page of the blocks, newest first.
pub async fn list(
    store: &dyn ItemStore,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<Block>, Option<Cursor>), ApiError> {
    records(store.query(Query::index("gsi1", LISTING).ascending(false).limit(limit).cursor(cursor)).await?)
}

/// Removes a block; fails unless it is still the one given (same blocker, same time).
pub fn remove_by(block: &Block) -> Result<TxOp, ApiError> {
    let condition = Condition::And(vec![
        Condition::Equals("blocked_by".into(), super::s(&block.blocked_by)),
        Condition::Equals("blocked_at".into(), super::ts(block.blocked_at)?),
    ]);
    Ok(TxOp::Delete { key: key(&block.user_id), condition: Some(condition) })
}

/// Condition check inside a write: the user is not blocked.
pub fn not_blocked(user: &UserId) -> TxOp {
    TxOp::Check { key: key(user), condition: Condition::NotExists }
}

/// Reads a user's block.
pub async fn get(store: &dyn ItemStore, user: &UserId) -> Result<Option<Block>, ApiError> {
    store.get(&key(user)).await?.map(from_item).transpose()
}

/// Several users' blocks, in their order, in batched reads (`BatchGetItem`).
pub async fn get_many(store: &dyn ItemStore, users: &[UserId]) -> Result<Vec<Option<Block>>, ApiError> {
    let items = store.get_many(users.iter().map(key).collect()).await?;
    items.into_iter().map(|item| item.map(from_item).transpose()).collect()
}
