//! Failed changes for admins: the change feed's records whose reactions kept failing, listed
//! newest first, and replayed once the cause is mended (the reactions are idempotent, so a
//! replay of a record that half worked changes nothing twice).

use crate::app::App;
use crate::changes::failed::{self, FailedChange};
use crate::changes::runner;
use crate::domain::{Principal, Role};
use crate::error::ApiError;
use crate::http::ListPage;
use crate::store::Cursor;

use super::require_role;

/// One page of the failed changes, newest first. Admins only.
pub async fn list_failed_changes(
    app: &App,
    principal: &Principal,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<ListPage<FailedChange>, ApiError> {
    require_role(principal, &[Role::Admin], "read the failed changes; admins do")?;
    let (items, next) = failed::list(app.store.as_ref(), limit, cursor).await?;
    Ok(ListPage::new(items, next))
}

/// Runs a failed change's reactions again; when they succeed it is no longer kept (and is
/// returned). 404 `failed_change_not_found`; 409 `replay_failed` (kept) when they fail again.
/// Admins only.
pub async fn replay_failed_change(
    app: &App,
    principal: &Principal,
    id: &str,
) -> Result<FailedChange, ApiError> {
    require_role(principal, &[Role::Admin], "replay failed changes; admins do")?;
    let not_found = || ApiError::not_found("failed_change_not_found", "no such failed change");
    if ulid::Ulid::from_string(id).is_err() {
        return Err(not_found());
    }
    let store = app.store.as_ref();
    let kept = failed::get(store, id).await?.ok_or_else(not_found)?;
    if let Err(error) = runner::react(app, &kept.record).await {
        return Err(ApiError::conflict(
            "replay_failed",
            format!("the change's reactions failed again: {error}"),
        ));
    }
    failed::remove(store, id).await?;
    Ok(kept)
}
