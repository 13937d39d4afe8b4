//! `email-inbound`: a customer's reply to one of the e-mails, received by SES. The domain's receipt
//! rule first stores the raw message in the inbound bucket (`inbound/<SES message id>`), then
//! invokes this function asynchronously with the receipt (verdicts and recipients, no content);
//! the function reads the message back by a presigned GET (no S3 client), parses it and hands it to
//! `ops::email::receive`, which posts it once per Message-ID, its files put in the attachments
//! bucket as the customer's uploads (`attachments-check` checks them there).
//!
//! What ends an invocation: a mail posted, a duplicate, or one refused for good (spam, a virus, a
//! forged address, a message that is missing or not an e-mail) is an answer, logged, and never
//! tried again. Only a failure that may pass (the store or the bucket unreachable) fails the
//! invocation, so that Lambda's two retries of an asynchronous event take it again: `receive`
//! releases its Message-ID claim when the post fails, and claims it once when it succeeds. The
//! stored message is left to the bucket's lifecycle rule (`infra/template.yaml`), so one whose
//! tries all failed can still be replayed.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::attachments::bucket::SignedBucketObjects;
use switchboard_shared::attachments::store::AttachmentObjects;
use switchboard_shared::config::ConfigError;
use switchboard_shared::domain::now;
use switchboard_shared::mail::inbound::{parse, InboundError};
use switchboard_shared::ops::email::{receive, Received, Verdict, Verdicts};
use switchboard_shared::push::refused::RefusedPush;
use switchboard_shared::{ApiError, App};
use tracing::Instrument;

/// The function's name.
pub const INBOUND: &str = "email-inbound";
/// The environment variable naming the bucket SES stores inbound e-mail in.
pub const EMAIL_INBOUND_BUCKET: &str = "EMAIL_INBOUND_BUCKET";
/// The key prefix of the receipt rule's S3 action (`ObjectKeyPrefix`): SES stores a message as
/// this prefix followed by its SES message id.
pub const MAIL_PREFIX: &str = "inbound/";
/// The longest SES message id taken (SES's are 40 characters or so).
const MAX_SES_MESSAGE_ID: usize = 128;

/// The receipt event SES's Lambda action invokes the function with: the fields used of it.
#[derive(Debug, Deserialize)]
struct ReceiptEvent {
    #[serde(rename = "Records")]
    records: Vec<ReceiptRecord>,
}

#[derive(Debug, Deserialize)]
struct ReceiptRecord {
    ses: SesRecord,
}

#[derive(Debug, Deserialize)]
struct SesRecord {
    mail: SesMail,
    receipt: SesReceipt,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesMail {
    /// SES's id of the message, the name of its object under [`MAIL_PREFIX`].
    message_id: String,
}

/// The receipt: SES's verdicts and the envelope recipients of the rule's domain. A verdict SES
/// leaves out (a scan that did not run) is not decided.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesReceipt {
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    spam_verdict: SesVerdict,
    #[serde(default)]
    virus_verdict: SesVerdict,
    #[serde(default)]
    spf_verdict: SesVerdict,
    #[serde(default)]
    dkim_verdict: SesVerdict,
    #[serde(default)]
    dmarc_verdict: SesVerdict,
}

#[derive(Debug, Default, Deserialize)]
struct SesVerdict {
    #[serde(default)]
    status: String,
}

impl SesReceipt {
    fn verdicts(&self) -> Verdicts {
        Verdicts {
            spam: Verdict::of_ses(&self.spam_verdict.status),
            virus: Verdict::of_ses(&self.virus_verdict.status),
            spf: Verdict::of_ses(&self.spf_verdict.status),
            dkim: Verdict::of_ses(&self.dkim_verdict.status),
            dmarc: Verdict::of_ses(&self.dmarc_verdict.status),
        }
    }
}

/// An SES message id as a key's last segment: letters, digits, `-` and `_` only, so an id can
/// never name another object of the bucket.
fn object_key(ses_message_id: &str) -> Option<String> {
    let plain = !ses_message_id.is_empty()
        && ses_message_id.len() <= MAX_SES_MESSAGE_ID
        && ses_message_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| format!("{MAIL_PREFIX}{ses_message_id}"))
}

/// Whether a failure of `receive` may pass if the mail is taken again: the store or the network
/// (5xx), or data changed meanwhile (`conflict`). Any other refusal is a rule's answer.
fn may_pass(error: &ApiError) -> bool {
    error.status().is_server_error() || error.code() == "conflict"
}

/// Takes in every mail an SES receipt event names (SES sends one a record): read from `mail`
/// (the inbound bucket), parsed and received. Answers what became of each; fails only when one
/// of them may be taken in on a retry, or when the event is not SES's.
pub async fn receive_event(app: &App, mail: &dyn AttachmentObjects, event: Value) -> Result<Value, ApiError> {
    let event: ReceiptEvent = serde_json::from_value(event)
        .map_err(|e| ApiError::bad_request("invalid_event", format!("not an SES receipt event: {e}")))?;
    let mut answers = Vec::with_capacity(event.records.len());
    for ReceiptRecord { ses } in event.records {
        let span = tracing::info_span!("mail", function = INBOUND, ses_message_id = %ses.mail.message_id);
        let received = receive_record(app, mail, &ses).instrument(span).await?;
        let mut answer = serde_json::to_value(&received)
            .map_err(|e| ApiError::Internal(format!("writing what became of a mail: {e}")))?;
        answer["ses_message_id"] = Value::String(ses.mail.message_id);
        answers.push(answer);
    }
    Ok(json!({ "received": answers }))
}

async fn receive_record(
    app: &App,
    objects: &dyn AttachmentObjects,
    ses: &SesRecord,
) -> Result<Received, ApiError> {
    let Some(key) = object_key(&ses.mail.message_id) else {
        tracing::warn!("the receipt names no message id a stored mail could have");
        return Ok(Received::Refused { reason: "not_an_ses_message_id" });
    };
    let Some(raw) = objects.get(&key).await? else {
        // The rule stores the message before it invokes the function: it was deleted since, or
        // the rule does not store it where this function reads.
        tracing::warn!(key, "the mail is not in the inbound bucket");
        return Ok(Received::Refused { reason: "mail_not_stored" });
    };
    let mut mail = match parse(&raw) {
        Ok(mail) => mail,
        Err(error) => {
            let reason = match error {
                InboundError::Unreadable(_) => "unreadable",
                InboundError::NoText => "no_text",
            };
            tracing::warn!(reason, %error, bytes = raw.len(), "the mail gives nothing to post");
            return Ok(Received::Refused { reason });
        }
    };
    // The envelope's recipients are the addresses SES took the mail for (a Bcc, a forward): the
    // reply address may be among them and not in the headers.
    let mut recipients: Vec<String> = ses.receipt.recipients.iter().map(|r| r.to_lowercase()).collect();
    recipients.extend(std::mem::take(&mut mail.recipients));
    let mut seen = HashSet::new();
    recipients.retain(|recipient| seen.insert(recipient.clone()));
    mail.recipients = recipients;

    // Judged now, as the operations it calls (a session's reopen window) judge by their clock.
    match receive(app, &mail, ses.receipt.verdicts(), now()).await {
        Ok(received) => {
            match &received {
                Received::Posted { session_id, message_id, reopened, new_session, attachments } => {
                    tracing::info!(
                        %session_id, %message_id, reopened, new_session, attachments,
                        files = mail.attachments.len(), "the reply is posted"
                    )
                }
                Received::Duplicate { session_id } => {
                    tracing::info!(%session_id, "the reply was posted before")
                }
                // `receive` logs its refusals with their reason.
                Received::Refused { .. } => {}
            }
            Ok(received)
        }
        Err(error) if may_pass(&error) => {
            tracing::error!(%error, "the reply could not be taken in; Lambda takes it again");
            Err(error)
        }
        Err(error) => {
            let reason = error.code();
            tracing::warn!(reason, %error, "the reply was not accepted");
            Ok(Received::Refused { reason })
        }
    }
}

/// The `main` of `email-inbound`: tracing, the app (its push port refuses: its policy grants no
/// SNS action; pushes to people who are not connected go from the change feed) storing the mails'
/// files in the attachments bucket, and the inbound bucket of [`EMAIL_INBOUND_BUCKET`], both
/// reached by presigned requests; then the Lambda runtime loop.
pub async fn run() -> Result<(), lambda_http::Error> {
    switchboard_shared::telemetry::init();
    let built = async {
        let app = App::from_env_pushing(Arc::new(RefusedPush))
            .await?
            .with_attachment_objects(Arc::new(SignedBucketObjects::from_env()?));
        Ok::<_, ConfigError>((app, SignedBucketObjects::from_env_bucket(EMAIL_INBOUND_BUCKET)?))
    };
    let (app, objects) = built.await.inspect_err(|error| {
        tracing::error!(%error, "configuration is unusable");
    })?;
    let (app, objects) = (&app, &objects);
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<Value>| async move {
            receive_event(app, objects, event.payload).await.map_err(lambda_http::Error::from)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_ses_message_id_names_an_object_under_the_prefix() {
        assert_eq!(
            object_key("6n4thuhcbhpfiuf25gshf70rss364fuejrvmqko1").as_deref(),
            Some("inbound/6n4thuhcbhpfiuf25gshf70rss364fuejrvmqko1")
        );
        for id in ["", "../attachments/x", "a/b", "a b", &"a".repeat(MAX_SES_MESSAGE_ID + 1)] {
            assert_eq!(object_key(id), None, "{id:?}");
        }
    }

    #[test]
    fn ses_verdicts_are_read_and_missing_or_gray_ones_are_not_decided() {
        let receipt: SesReceipt = serde_json::from_value(json!({
            "recipients": ["reply+x@in.example.com"],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "FAIL"},
            "dkimVerdict": {"status": "GRAY"},
            "dmarcVerdict": {"status": "PROCESSING_FAILED"},
        }))
        .expect("a receipt");

        let verdicts = receipt.verdicts();

        assert_eq!((verdicts.spam, verdicts.virus), (Verdict::Pass, Verdict::Fail));
        assert_eq!(
            (verdicts.spf, verdicts.dkim, verdicts.dmarc),
            (Verdict::Unknown, Verdict::Unknown, Verdict::Unknown)
        );
    }
}
