//! `App`: what a function builds once at cold start and lends to every request.

use std::sync::Arc;

use crate::attachments::store::{AttachmentLinks, AttachmentObjects};
use crate::attachments::AttachmentLimits;
use crate::auth::WidgetTokens;
use crate::config::{
    max_open_sessions_from_env, store_from_env, var, ConfigError, DEFAULT_MAX_OPEN_SESSIONS,
};
use crate::jobs::local::InProcessJobQueue;
use crate::jobs::JobQueue;
use crate::ops::email::Mailing;
use crate::push::local::LocalPush;
use crate::push::sns::SnsPush;
use crate::push::Push;
use crate::realtime::apigw::ApiGatewayRealtime;
use crate::realtime::Realtime;
use crate::repo::connections::SendLimit;
use crate::reports::ReportStore;
use crate::store::ItemStore;
use crate::ApiError;

/// Widget tokens one client IP may get: bursts of 20 (a few page loads of an office behind one
/// address), then one every 3 seconds.
pub const WIDGET_TOKEN_LIMIT: SendLimit = SendLimit { burst: 20, interval_ms: 3_000 };
/// Overrides [`WIDGET_TOKEN_LIMIT`]'s burst (a site whose visitors share few addresses).
pub const WIDGET_TOKEN_BURST_VAR: &str = "WIDGET_TOKEN_BURST";
/// Overrides [`WIDGET_TOKEN_LIMIT`]'s interval in milliseconds.
pub const WIDGET_TOKEN_INTERVAL_VAR: &str = "WIDGET_TOKEN_INTERVAL_MS";

/// The widget token limit of the environment: [`WIDGET_TOKEN_LIMIT`] with what
/// [`WIDGET_TOKEN_BURST_VAR`] and [`WIDGET_TOKEN_INTERVAL_VAR`] change (whole numbers from 1).
pub fn widget_token_limit_from_env() -> Result<SendLimit, ConfigError> {
    widget_token_limit(var(WIDGET_TOKEN_BURST_VAR).as_deref(), var(WIDGET_TOKEN_INTERVAL_VAR).as_deref())
}

fn widget_token_limit(burst: Option<&str>, interval_ms: Option<&str>) -> Result<SendLimit, ConfigError> {
    let whole = |name: &'static str, text: Option<&str>, default: i64| match text {
        None => Ok(default),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(value) if value >= 1 => Ok(value),
            _ => Err(ConfigError::Invalid {
                name,
                reason: format!("must be a whole number from 1, got {text:?}"),
            }),
        },
    };
    Ok(SendLimit {
        burst: whole(WIDGET_TOKEN_BURST_VAR, burst, WIDGET_TOKEN_LIMIT.burst)?,
        interval_ms: whole(WIDGET_TOKEN_INTERVAL_VAR, interval_ms, WIDGET_TOKEN_LIMIT.interval_ms)?,
    })
}

/// Clients and configuration shared by the requests of one function instance.
#[derive(Clone)]
pub struct App {
    /// The item store.
    pub store: Arc<dyn ItemStore>,
    /// Posts frames to WebSocket connections.
    pub realtime: Arc<dyn Realtime>,
    /// Push notification endpoints and publishing.
    pub push: Arc<dyn Push>,
    /// Stored reports, for the reports handlers in the local gateway (`App::with_reports`); in
    /// Lambda the reports functions run on their report store without an `App`, so no other
    /// function links the S3 client.
    pub reports: Option<Arc<dyn ReportStore>>,
    /// Most open (waiting or active) sessions one customer may have at once.
    pub max_open_sessions: u32,
    /// How many `send_message` frames one WebSocket connection may send.
    pub send_limit: SendLimit,
    /// Where bulk sends are enqueued: in process for the local gateway and tests; in Lambda the
    /// SQS queue of `BULK_SEND_QUEUE_URL` (feature `sqs`) for the function that starts bulk
    /// sends only, so no other function links the SQS client.
    pub jobs: Option<Arc<dyn JobQueue>>,
    /// Signs the widget's customer tokens: set for the functions that mint them
    /// ([`crate::lambda::run_http_minting`]), the local gateway and tests; no other function
    /// links the signing code or the SSM client.
    pub widget_tokens: Option<Arc<WidgetTokens>>,
    /// How many widget tokens one client IP may get.
    pub widget_token_limit: SendLimit,
    /// Signs the attachments' upload forms and download links: the bucket of
    /// `ATTACHMENTS_BUCKET` in the two Lambda functions that sign them
    /// ([`crate::lambda::run_http_signing_attachments`]; no other function links the signing),
    /// the local gateway's folder locally.
    pub attachment_links: Option<Arc<dyn AttachmentLinks>>,
    /// The attachments' limits (size, types, per message, per session).
    pub attachment_limits: AttachmentLimits,
    /// Stores files in the attachments bucket for the function that keeps an inbound e-mail's
    /// attachments (`email-inbound`: presigned requests to `ATTACHMENTS_BUCKET`), the local
    /// gateway's folder and tests; the bucket's check (`attachments-check`) takes them from there.
    pub attachment_objects: Option<Arc<dyn AttachmentObjects>>,
    /// Sends the e-mails of replies not read (`ops::email`): the `email-sweep` function (SES),
    /// the local gateway (`.eml` files, or SES on moto) and tests; no other function sends mail.
    pub mailing: Option<Arc<Mailing>>,
}

impl App {
    /// An app over the given store and realtime port, pushing through in-memory endpoints (the
    /// local gateway and tests; see [`App::with_push`]).
    pub fn new(store: Arc<dyn ItemStore>, realtime: Arc<dyn Realtime>) -> Self {
        Self {
            store,
            realtime,
            push: Arc::new(LocalPush::default()),
            reports: None,
            max_open_sessions: DEFAULT_MAX_OPEN_SESSIONS,
            send_limit: SendLimit::default(),
            jobs: Some(Arc::new(InProcessJobQueue::default())),
            widget_tokens: None,
            widget_token_limit: WIDGET_TOKEN_LIMIT,
            attachment_links: None,
            attachment_limits: AttachmentLimits::default(),
            attachment_objects: None,
            mailing: None,
        }
    }

    /// The same app sending e-mail with `mailing`.
    pub fn with_mailing(self, mailing: Arc<Mailing>) -> Self {
        Self { mailing: Some(mailing), ..self }
    }

    /// The same app signing attachment links with `links`.
    pub fn with_attachment_links(self, links: Arc<dyn AttachmentLinks>) -> Self {
        Self { attachment_links: Some(links), ..self }
    }

    /// The same app storing attachment files in `objects`.
    pub fn with_attachment_objects(self, objects: Arc<dyn AttachmentObjects>) -> Self {
        Self { attachment_objects: Some(objects), ..self }
    }

    /// The same app with other attachment limits.
    pub fn with_attachment_limits(self, attachment_limits: AttachmentLimits) -> Self {
        Self { attachment_limits, ..self }
    }

    /// The attachment link signer; an app built without one fails the request (a set-up error).
    pub fn attachment_links(&self) -> Result<&dyn AttachmentLinks, ApiError> {
        self.attachment_links.as_deref().ok_or_else(|| {
            ApiError::Internal("this function was started without an attachments bucket".into())
        })
    }

    /// The same app minting the widget's customer tokens with `tokens`.
    pub fn with_widget_tokens(self, tokens: WidgetTokens) -> Self {
        Self { widget_tokens: Some(Arc::new(tokens)), ..self }
    }

    /// The same app with another limit on widget tokens per client IP.
    pub fn with_widget_token_limit(self, widget_token_limit: SendLimit) -> Self {
        Self { widget_token_limit, ..self }
    }

    /// The widget token signer; an app built without one fails the request (a set-up error).
    pub fn widget_tokens(&self) -> Result<&WidgetTokens, ApiError> {
        self.widget_tokens.as_deref().ok_or_else(|| {
            ApiError::Internal("this function was started without a widget token secret".into())
        })
    }

    /// The same app pushing through `push`.
    pub fn with_push(self, push: Arc<dyn Push>) -> Self {
        Self { push, ..self }
    }

    /// The same app with a report store.
    pub fn with_reports(self, reports: Arc<dyn ReportStore>) -> Self {
        Self { reports: Some(reports), ..self }
    }

    /// The same app with another cap on one customer's open sessions.
    pub fn with_max_open_sessions(self, max_open_sessions: u32) -> Self {
        Self { max_open_sessions, ..self }
    }

    /// The same app with another WebSocket send limit (benchmarks that flood on purpose).
    pub fn with_send_limit(self, send_limit: SendLimit) -> Self {
        Self { send_limit, ..self }
    }

    /// The report store; an app built without one fails the request (a set-up error).
    pub fn reports(&self) -> Result<&dyn ReportStore, ApiError> {
        self.reports
            .as_deref()
            .ok_or_else(|| ApiError::Internal("this function was started without a report store".into()))
    }

    /// The same app enqueuing bulk sends on `jobs`.
    pub fn with_jobs(self, jobs: Arc<dyn JobQueue>) -> Self {
        Self { jobs: Some(jobs), ..self }
    }

    /// The job queue; an app built without one fails the request (a set-up error).
    pub fn jobs(&self) -> Result<&dyn JobQueue, ApiError> {
        self.jobs
            .as_deref()
            .ok_or_else(|| ApiError::Internal("this function was started without a job queue".into()))
    }

    /// The app of a Lambda function over `store`, `realtime` and `push`, with the default limits
    /// and no job queue (a Lambda function never works on a bulk send in the request's process;
    /// the function that starts bulk sends adds the SQS queue:
    /// [`crate::lambda::run_http_enqueuing`]).
    ///
    /// Built field by field, not from [`App::new`]: the in-process job queue and push endpoints
    /// `new` starts with would stay linked into every function through their vtables (the bulk
    /// worker and everything it calls: 0.45 MB of `widget-identify-user`, docs/BENCHMARKS.md).
    pub fn lambda(store: Arc<dyn ItemStore>, realtime: Arc<dyn Realtime>, push: Arc<dyn Push>) -> Self {
        Self {
            store,
            realtime,
            push,
            reports: None,
            max_open_sessions: DEFAULT_MAX_OPEN_SESSIONS,
            send_limit: SendLimit::default(),
            jobs: None,
            widget_tokens: None,
            widget_token_limit: WIDGET_TOKEN_LIMIT,
            attachment_links: None,
            attachment_limits: AttachmentLimits::default(),
            attachment_objects: None,
            mailing: None,
        }
    }

    /// The app a Lambda function runs with, from the environment, pushing through SNS.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_pushing(Arc::new(SnsPush::from_env()?)).await
    }

    /// [`App::from_env`] pushing through `push`: [`crate::push::refused::RefusedPush`] for the
    /// functions whose policy grants no SNS action, which then link no SNS client.
    pub async fn from_env_pushing(push: Arc<dyn Push>) -> Result<Self, ConfigError> {
        Ok(Self {
            max_open_sessions: max_open_sessions_from_env()?,
            attachment_limits: AttachmentLimits::from_env()?,
            ..Self::lambda(store_from_env().await?, Arc::new(ApiGatewayRealtime::from_env()?), push)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widget_token_limit_defaults_to_20_then_one_per_3_s_and_refuses_zero_and_words() {
        assert_eq!(widget_token_limit(None, None).unwrap(), WIDGET_TOKEN_LIMIT);
        assert_eq!(
            widget_token_limit(Some(" 500 "), Some("100")).unwrap(),
            SendLimit { burst: 500, interval_ms: 100 }
        );
        assert!(widget_token_limit(Some("0"), None).is_err());
        assert!(widget_token_limit(None, Some("fast")).is_err());
    }
}
