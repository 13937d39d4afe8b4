//! Blocks (`USER#<id>` / `BLOCK`): a blocked user opens no session and sends nothing.

use crate::domain::{Block, UserId};
use crate::error::ApiError;
use crate::store::{Condition, ItemStore, Key, TxOp};

use super::{from_item, to_item};

/// Key of a user's block.
pub fn key(user: &UserId) -> Key {
    Key::new(format!("USER#{user}"), "BLOCK")
}

/// Creates a block; fails if the user is blocked already.
pub fn put_new(block: &Block) -> Result<TxOp, ApiError> {
    Ok(TxOp::Put { item: to_item(block, &key(&block.user_id), &[])?, condition: Some(Condition::NotExists) })
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
