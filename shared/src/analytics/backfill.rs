//! The backfill: jobs that build the rollups of any range of past days, a request's worth of days
//! at a time, carried on by the scheduled rollup (and the local gateway's scheduler) until done.

use std::time::Instant;

use serde::Deserialize;
use utoipa::ToSchema;

use super::admins_only;
use super::range::{parse_day, Range};
use super::rollup;
use crate::domain::{now, Principal};
use crate::error::ApiError;
use crate::repo::rollups::{self as stored, Job, JobStatus};
use crate::repo::stats::day_text;
use crate::store::ItemStore;

/// `POST /admin/analytics/backfill`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBackfill {
    /// First day to build, `yyyy-mm-dd`.
    pub from: String,
    /// Last day to build, `yyyy-mm-dd` (today at the latest).
    pub to: String,
}

/// How long a request keeps building days before it answers with the job still running (the
/// scheduled rollup, or the local gateway's scheduler, carries on).
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts a backfill of the days from `from` to `to` and builds as many as fit in
/// [`REQUEST_BUDGET`]. A second request for the same days while a job for them runs returns that
/// job (`false`: not created). Admins only.
pub async fn start_backfill(
    store: &dyn ItemStore,
    principal: &Principal,
    input: StartBackfill,
) -> Result<(Job, bool), ApiError> {
    admins_only(principal, "run the analytics backfill")?;
    let at = now();
    let range = Range::whole_days(parse_day("from", &input.from)?, parse_day("to", &input.to)?, at.date())?;
    let (from, to) = (range.first_day(), range.last_day());
    if let Some(running) =
        stored::running_jobs(store).await?.into_iter().find(|job| job.from == from && job.to == to)
    {
        return Ok((running, false));
    }
    let job = Job::new(from, to, principal.user_id.clone(), at);
    stored::create_job(store, &job).await?;
    let job = work_on(store, job, Instant::now() + REQUEST_BUDGET).await?;
    Ok((job, true))
}

/// A backfill job. Admins only; 400 `invalid_id` for an id that is not a ULID, 404
/// `backfill_not_found`.
pub async fn get_backfill(store: &dyn ItemStore, principal: &Principal, id: &str) -> Result<Job, ApiError> {
    admins_only(principal, "read the analytics backfill")?;
    if id.parse::<ulid::Ulid>().is_err() {
        return Err(ApiError::bad_request("invalid_id", format!("{id:?} is not a backfill id")));
    }
    stored::job(store, id).await?.ok_or_else(|| ApiError::not_found("backfill_not_found", "no such backfill"))
}

/// Builds the next days of a job until it is done or `deadline` passes, saving its progress after
/// each day (conditionally: if another worker moved it on, this one stops).
pub async fn work_on(store: &dyn ItemStore, mut job: Job, deadline: Instant) -> Result<Job, ApiError> {
    while job.status == JobStatus::Running && Instant::now() < deadline {
        let day = job.next;
        let totals = rollup::rollup_days(store, day, day, now(), &mut |_| {}).await?;
        let moved = job.advanced(totals.events_read, now());
        if !stored::save_job(store, &moved, job.days_done).await? {
            return stored::job(store, &job.id)
                .await?
                .ok_or_else(|| ApiError::Internal("a job vanished".into()));
        }
        tracing::info!(job = %job.id, day = %day_text(day), done = moved.days_done, total = moved.days_total, "backfill day built");
        job = moved;
    }
    Ok(job)
}

/// Carries on every running backfill job until `deadline` (the scheduled rollup and the local
/// gateway's scheduler).
pub async fn continue_backfills(store: &dyn ItemStore, deadline: Instant) -> Result<Vec<Job>, ApiError> {
    let mut worked = Vec::new();
    for job in stored::running_jobs(store).await? {
        if Instant::now() >= deadline {
            break;
        }
        worked.push(work_on(store, job, deadline).await?);
    }
    Ok(worked)
}
