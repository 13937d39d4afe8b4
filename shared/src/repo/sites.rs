//! The widget's sites (`SITE#<id>` / `META`, listed through gsi1 partition `SITES`), the index of
//! the origins they allow (`ORIGIN#<origin>` / `SITE#<id>`, read by CORS preflights, which name
//! no site) and the sites' visitors (`VISITOR#<user id>` / `META`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::widget::{IdentitySecrets, Origin, Site};
use crate::domain::{SiteId, UserId};
use crate::error::ApiError;
use crate::store::{Condition, Cursor, Item, ItemStore, Key, NamedTxOp, Query, TxOp, PK, SK};

use super::{from_item, records, s, to_item};

/// A site as stored: what admins see and its identity secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRecord {
    /// The site.
    #[serde(flatten)]
    pub site: Site,
    /// Its identity secrets.
    #[serde(flatten)]
    pub secrets: IdentitySecrets,
}

/// A visitor of a site: who the widget's customer token was made for, and what the pre-chat
/// form told about them; or a signed-in user of the site (`wu:`), with what their identity token
/// said (no resume credential: `resume_hash` is empty, and no resume names such a user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    /// The visitor's user id (`wv:<site>:<ULID>`).
    pub user_id: UserId,
    /// The site.
    pub site_id: SiteId,
    /// Name from the pre-chat form.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail address from the pre-chat form.
    #[serde(default)]
    pub email: Option<String>,
    /// SHA-256 (hex) of the visitor's resume credential; the credential itself is never stored.
    pub resume_hash: String,
    /// When the visitor first came.
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: OffsetDateTime,
}

/// Key of a site.
pub fn key(id: &SiteId) -> Key {
    Key::new(format!("SITE#{id}"), "META")
}

/// Key of the record saying that `site` allows `origin`.
fn origin_key(origin: &Origin, site: &SiteId) -> Key {
    Key::new(format!("ORIGIN#{origin}"), format!("SITE#{site}"))
}

/// Key of a visitor.
pub fn visitor_key(user: &UserId) -> Key {
    Key::new(format!("VISITOR#{user}"), "META")
}

fn site_item(record: &SiteRecord) -> Result<Item, ApiError> {
    let id = record.site.site_id;
    to_item(record, &key(&id), &[("gsi1pk", "SITES".into()), ("gsi1sk", id.to_string())])
}

fn origin_put(origin: &Origin, site: &SiteId) -> TxOp {
    let key = origin_key(origin, site);
    let mut item = Item::new();
    item.insert(PK.into(), s(&key.pk));
    item.insert(SK.into(), s(&key.sk));
    item.insert("site_id".into(), s(site));
    TxOp::Put { item, condition: None }
}

/// Creates a site and indexes its origins.
pub fn put_new(record: &SiteRecord) -> Result<Vec<NamedTxOp>, ApiError> {
    let mut ops =
        vec![TxOp::Put { item: site_item(record)?, condition: Some(Condition::NotExists) }.named(SITE)];
    ops.extend(
        record
            .site
            .settings
            .allowed_origins
            .iter()
            .map(|o| origin_put(o, &record.site.site_id).named(ORIGIN)),
    );
    Ok(ops)
}

/// The name of a site write's condition on the site item (it exists, or not yet).
pub const SITE: &str = "site";
/// The name of a write of a site's origin in the index (no condition).
const ORIGIN: &str = "origin";

/// Replaces a stored site (which must still exist) and moves its origins in the index from
/// those of `before`.
pub fn replace(before: &SiteRecord, after: &SiteRecord) -> Result<Vec<NamedTxOp>, ApiError> {
    let id = after.site.site_id;
    let (old, new) = (&before.site.settings.allowed_origins, &after.site.settings.allowed_origins);
    let mut ops = vec![TxOp::Put { item: site_item(after)?, condition: Some(Condition::Exists) }.named(SITE)];
    ops.extend(
        old.iter()
            .filter(|o| !new.contains(o))
            .map(|o| TxOp::Delete { key: origin_key(o, &id), condition: None }.named(ORIGIN)),
    );
    ops.extend(new.iter().filter(|o| !old.contains(o)).map(|o| origin_put(o, &id).named(ORIGIN)));
    Ok(ops)
}

/// Deletes a site and its origins from the index.
pub fn remove(record: &SiteRecord) -> Vec<NamedTxOp> {
    let id = record.site.site_id;
    let mut ops = vec![TxOp::Delete { key: key(&id), condition: Some(Condition::Exists) }.named(SITE)];
    ops.extend(
        record
            .site
            .settings
            .allowed_origins
            .iter()
            .map(|o| TxOp::Delete { key: origin_key(o, &id), condition: None }.named(ORIGIN)),
    );
    ops
}

/// Reads a site.
pub async fn get(store: &dyn ItemStore, id: &SiteId) -> Result<Option<SiteRecord>, ApiError> {
    store.get(&key(id)).await?.map(from_item).transpose()
}

/// Whether the site exists and allows `origin`, read from the stored item's `allowed_origins`
/// alone: every REST function makes this check for widget tokens, so it decodes no more of the
/// record than it needs (nor links its decoder).
pub async fn allows(store: &dyn ItemStore, id: &SiteId, origin: &Origin) -> Result<bool, ApiError> {
    let Some(item) = store.get(&key(id)).await? else { return Ok(false) };
    let allowed = item.get("allowed_origins").and_then(serde_json::Value::as_array);
    Ok(allowed.is_some_and(|origins| origins.iter().any(|o| o.as_str() == Some(origin.as_str()))))
}

/// One page of sites, oldest first.
pub async fn list(
    store: &dyn ItemStore,
    limit: usize,
    cursor: Option<Cursor>,
) -> Result<(Vec<SiteRecord>, Option<Cursor>), ApiError> {
    records(store.query(Query::index("gsi1", "SITES").limit(limit).cursor(cursor)).await?)
}

/// Whether any site allows `origin` (one Query of one item).
pub async fn any_allows(store: &dyn ItemStore, origin: &Origin) -> Result<bool, ApiError> {
    let page = store.query(Query::table(format!("ORIGIN#{origin}")).limit(1).keys_only()).await?;
    Ok(!page.items.is_empty())
}

/// Stores a new visitor.
pub async fn put_visitor(store: &dyn ItemStore, visitor: &Visitor) -> Result<(), ApiError> {
    let item = to_item(visitor, &visitor_key(&visitor.user_id), &[])?;
    store.put(item, Some(Condition::NotExists)).await?;
    Ok(())
}

/// Stores what a signed-in user's identity token said (their name and address) under the same
/// key as a visitor's record, replacing what an earlier token said.
pub async fn put_identified(store: &dyn ItemStore, identified: &Visitor) -> Result<(), ApiError> {
    store.put(to_item(identified, &visitor_key(&identified.user_id), &[])?, None).await?;
    Ok(())
}

/// Stores `identified` unless the user has a record already: `true` if stored.
pub async fn put_identified_if_absent(store: &dyn ItemStore, identified: &Visitor) -> Result<bool, ApiError> {
    let item = to_item(identified, &visitor_key(&identified.user_id), &[])?;
    match store.put(item, Some(Condition::NotExists)).await {
        Ok(()) => Ok(true),
        Err(crate::store::StoreError::ConditionFailed) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Replaces a visitor's record (their pre-chat answers changed).
pub async fn update_visitor(store: &dyn ItemStore, visitor: &Visitor) -> Result<(), ApiError> {
    let item = to_item(visitor, &visitor_key(&visitor.user_id), &[])?;
    store.put(item, Some(Condition::Exists)).await?;
    Ok(())
}

/// Reads a visitor.
pub async fn get_visitor(store: &dyn ItemStore, user: &UserId) -> Result<Option<Visitor>, ApiError> {
    store.get(&visitor_key(user)).await?.map(from_item).transpose()
}
