//! The index of rated comments: each session's latest rating when it carries a comment, as one
//! item next to the session (`SESSION#<id>` / `RATED_COMMENT`) indexed in gsi1 `RATED_COMMENTS`
//! by when it was given, so the latest comments of any range are one Query, newest first,
//! however few of them a year holds.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::{timestamp, Rating, SessionId, UserId};
use crate::error::ApiError;
use crate::store::{ItemStore, Key, KeyRange, Query, TxOp};

use super::{records, to_item};

/// gsi1 partition of every rated comment.
pub const PARTITION: &str = "RATED_COMMENTS";

/// Sort key of a session's entry in its partition.
const SORT_KEY: &str = "RATED_COMMENT";

/// A session's latest rating with the customer's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatedComment {
    /// The session rated.
    pub session_id: SessionId,
    /// The customer who rated it.
    pub customer_id: UserId,
    /// 1 to 5.
    pub score: u8,
    /// What they wrote.
    pub comment: String,
    /// When the rating was given or last changed.
    #[serde(with = "crate::domain::timestamp")]
    pub rated_at: OffsetDateTime,
}

/// Key of a session's entry.
pub fn key(session: &SessionId) -> Key {
    Key::new(super::sessions::partition(session), SORT_KEY)
}

/// gsi1 sort key: the fixed-width time (which sorts like the time), then the session.
fn index_sort_key(rated_at: OffsetDateTime, session: &SessionId) -> Result<String, ApiError> {
    let at =
        timestamp::format(rated_at).map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))?;
    Ok(format!("{at}#{session}"))
}

/// The write, in the rating's transaction, that keeps the session's entry in step with its new
/// rating: the entry put when the rating has a comment, removed when an earlier one had (a
/// change without words leaves no stale words listed); nothing otherwise.
pub fn keep_in_step(
    session: &SessionId,
    customer: &UserId,
    rating: &Rating,
    previous: Option<&Rating>,
) -> Result<Option<TxOp>, ApiError> {
    let Some(comment) = rating.comment.clone() else {
        let had_words = previous.is_some_and(|previous| previous.comment.is_some());
        return Ok(had_words.then(|| TxOp::Delete { key: key(session), condition: None }));
    };
    let entry = RatedComment {
        session_id: *session,
        customer_id: customer.clone(),
        score: rating.score,
        comment,
        rated_at: rating.rated_at,
    };
    let index = [("gsi1pk", PARTITION.to_owned()), ("gsi1sk", index_sort_key(rating.rated_at, session)?)];
    Ok(Some(TxOp::Put { item: to_item(&entry, &key(session), &index)?, condition: None }))
}

/// The newest `limit` entries rated in `[from, to)`, newest first: one Query.
pub async fn latest(
    store: &dyn ItemStore,
    from: OffsetDateTime,
    to: OffsetDateTime,
    limit: usize,
) -> Result<Vec<RatedComment>, ApiError> {
    let bound = |at: OffsetDateTime| {
        timestamp::format(at).map_err(|e| ApiError::Internal(format!("formatting a time: {e}")))
    };
    // `<to>` sorts before every `<to>#<session>`: the end stays exclusive.
    let range = KeyRange::Between(bound(from)?, bound(to)?);
    let query = Query::index("gsi1", PARTITION).range(range).ascending(false).limit(limit);
    Ok(records(store.query(query).await?)?.0)
}
