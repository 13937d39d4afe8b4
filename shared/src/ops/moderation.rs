//! Blocking and unblocking users.

use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::domain::{now, Block, EventKind, Principal, Role, UserId};
use crate::error::ApiError;
use crate::http::ListPage;
use crate::repo::{blocks, events};
use crate::store::{Cursor, ItemStore, Key};

use super::{failed_conditions, role_forbidden};

/// Longest block reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// The condition of a block that the user is not blocked yet.
const NOT_BLOCKED_YET: &str = "not_blocked_yet";

/// Body of `POST /chat/users/{id}/block`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockUser {
    /// Why, for the team (up to 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Whether a user is blocked, and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BlockStatus {
    /// The user.
    pub user_id: UserId,
    /// Whether they are blocked now.
    pub blocked: bool,
    /// Who blocked them.
    pub blocked_by: Option<UserId>,
    /// Why.
    pub reason: Option<String>,
    /// Since when.
    #[serde(with = "crate::domain::timestamp::option")]
    pub blocked_at: Option<OffsetDateTime>,
}

impl From<Block> for BlockStatus {
    fn from(block: Block) -> Self {
        Self {
            user_id: block.user_id,
            blocked: true,
            blocked_by: Some(block.blocked_by),
            reason: block.reason,
            blocked_at: Some(block.blocked_at),
        }
    }
}

fn user_partition(user: &UserId) -> String {
    let Key { pk, .. } = blocks::key(user);
    pk
}

/// An agent or admin blocks a customer from opening sessions and sending, editing or deleting
/// messages. Only customers are blocked: a user whose latest logged action was taken as an agent
/// or admin is 403 `cannot_block_staff`, so no one can silence a colleague's pushes. Blocking a
/// blocked customer changes nothing and returns the existing block.
pub async fn block_user(
    store: &dyn ItemStore,
    principal: &Principal,
    user: &UserId,
    input: BlockUser,
) -> Result<BlockStatus, ApiError> {
    if !principal.role.is_staff() {
        return Err(role_forbidden("block users"));
    }
    if user == &principal.user_id {
        return Err(ApiError::unprocessable("cannot_block_self", "you cannot block yourself"));
    }
    let reason = input.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("reason: must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    if events::latest_actor_role(store, user).await?.is_some_and(Role::is_staff) {
        return Err(ApiError::forbidden(
            "cannot_block_staff",
            "only customers are blocked, not agents or admins",
        ));
    }
    let at = now();
    let block =
        Block { user_id: user.clone(), blocked_by: principal.user_id.clone(), reason, blocked_at: at };
    let event = events::record(
        principal,
        EventKind::UserBlocked,
        &user_partition(user),
        format!("user:{user}"),
        None,
        json!({"reason": block.reason}),
        at,
    )?;
    let ops = vec![blocks::put_new(&block)?.named(NOT_BLOCKED_YET), event.named("blocked_event")];
    if failed_conditions(store.transact_write(ops).await)?.contains(&NOT_BLOCKED_YET) {
        if let Some(existing) = blocks::get(store, user).await? {
            return Ok(existing.into());
        }
        return Err(ApiError::conflict("conflict", "the block changed meanwhile; retry"));
    }
    Ok(block.into())
}

/// The blocked users, newest block first (agents and admins); with `user`, only that user's
/// block status (one GetItem; `blocked: false` when they are not blocked).
pub async fn list_blocks(
    store: &dyn ItemStore,
    principal: &Principal,
    user: Option<&UserId>,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<BlockStatus>, ApiError> {
    if !principal.role.is_staff() {
        return Err(role_forbidden("list blocked users"));
    }
    if let Some(user) = user {
        let status = blocks::get(store, user).await?.map_or_else(|| unblocked(user), BlockStatus::from);
        return Ok(ListPage::new(vec![status], None));
    }
    let (page, next) = blocks::list(store, limit, cursor).await?;
    Ok(ListPage::new(page.into_iter().map(BlockStatus::from).collect(), next))
}

/// An admin, or the agent who blocked the user, lifts a block (other agents get 403
/// `not_blocker`). Unblocking a user who is not blocked changes nothing.
pub async fn unblock_user(
    store: &dyn ItemStore,
    principal: &Principal,
    user: &UserId,
) -> Result<BlockStatus, ApiError> {
    if !principal.role.is_staff() {
        return Err(role_forbidden("unblock users"));
    }
    let Some(block) = blocks::get(store, user).await? else { return Ok(unblocked(user)) };
    if principal.role == Role::Agent && block.blocked_by != principal.user_id {
        return Err(ApiError::forbidden(
            "not_blocker",
            "only the agent who blocked this user or an admin lifts the block",
        ));
    }
    let event = events::record(
        principal,
        EventKind::UserUnblocked,
        &user_partition(user),
        format!("user:{user}"),
        None,
        json!({}),
        now(),
    )?;
    // The block must still be the one checked: a failed condition means it was lifted (or
    // lifted and set again by someone else) meanwhile.
    let ops = vec![blocks::remove_by(&block)?.named("block_unchanged"), event.named("unblocked_event")];
    if !failed_conditions(store.transact_write(ops).await)?.is_empty() {
        return match blocks::get(store, user).await? {
            None => Ok(unblocked(user)),
            Some(_) => Err(ApiError::conflict("conflict", "the block changed meanwhile; retry")),
        };
    }
    Ok(unblocked(user))
}

/// The status of a user who is not blocked.
fn unblocked(user: &UserId) -> BlockStatus {
    BlockStatus { user_id: user.clone(), blocked: false, blocked_by: None, reason: None, blocked_at: None }
}
