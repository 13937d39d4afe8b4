//! Analytics, in one place: the metric engine of `docs/METRICS.md` (events → episodes →
//! durations → summaries), the rollup that stores its per-day summaries, the figures the
//! dashboard and the reports read (insights, daily figures, the conversations export, the daily
//! PDF reports) and the backfill that builds the rollups of past days.

pub mod backfill;
pub mod conversations;
pub mod daily;
pub mod durations;
pub mod episodes;
pub mod events;
pub mod facts;
pub mod insights;
pub mod messages;
pub mod pdf_reports;
pub mod range;
pub mod read;
pub mod rollup;
pub mod summaries;

#[cfg(test)]
mod tests;

use crate::domain::{Principal, Role};
use crate::error::role_forbidden;
use crate::error::ApiError;

/// 403 unless the caller is an admin.
pub(crate) fn admins_only(principal: &Principal, what: &str) -> Result<(), ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden(&format!("{what}; admins do")));
    }
    Ok(())
}
