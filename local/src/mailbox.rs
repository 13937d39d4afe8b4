//! The mail service's side of e-mail, on localhost: what SES receiving and SES's reports hand the
//! functions in AWS comes in as files. A reply to one of the e-mails (`.eml`, RFC 5322) is taken
//! in as `email-inbound` takes one; SES's event JSON (`.json`, a report on an e-mail: delivered,
//! bounced, complained of) as `email-events` takes one. Both go through the same code as in AWS
//! (`mail::inbound::parse` and `ops::email::receive`, `mail::reports::parse_ses` and
//! `ops::email::record_report`), from the command line one file at a time, or from the folder
//! `serve` watches, `<data dir>/mail/inbox/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchboard_shared::attachments::object_key;
use switchboard_shared::domain::now;
use switchboard_shared::mail::{inbound, reports};
use switchboard_shared::ops::attachments::{check_upload, Scanner};
use switchboard_shared::ops::email::{self, Received, Verdicts};
use switchboard_shared::repo::messages;
use switchboard_shared::App;

/// How often `serve` looks in the inbox.
pub const INBOX_TICK: Duration = Duration::from_secs(1);
/// Where a file taken in goes, with its outcome beside it (`<name>.outcome.json`).
const DONE: &str = "done";
/// Where a file that is not a mail or a report goes, with the reason beside it.
const FAILED: &str = "failed";

/// The inbox of a data directory.
pub fn inbox(data_dir: &Path) -> PathBuf {
    data_dir.join("mail").join("inbox")
}

/// Takes in a reply by e-mail, as SES receiving would hand it over (no verdicts: there is no
/// mail service to judge it): posted, a duplicate, or refused and why. The files it brings
/// (with an attachments bucket in `app`) are checked at once, as the gateway checks an upload by
/// form, where AWS's bucket event would start the check.
pub async fn take_in_mail(app: &App, raw: &[u8]) -> Result<Value, String> {
    let mail = inbound::parse(raw).map_err(|e| e.to_string())?;
    let received = email::receive(app, &mail, Verdicts::default(), now()).await.map_err(|e| e.to_string())?;
    if let (Received::Posted { session_id, message_id, .. }, Some(objects)) =
        (&received, &app.attachment_objects)
    {
        let posted =
            messages::get(app.store.as_ref(), session_id, message_id).await.map_err(|e| e.to_string())?;
        for file in posted.map(|message| message.attachments).unwrap_or_default() {
            let key = object_key(session_id, &file.id);
            check_upload(app, objects.as_ref(), &key, Scanner::None).await.map_err(|e| e.to_string())?;
        }
    }
    serde_json::to_value(received).map_err(|e| e.to_string())
}

/// Takes in SES's report on one of the e-mails (its event JSON): the e-mail's status, and the
/// addresses now undeliverable.
pub async fn take_in_report(app: &App, json: &str) -> Result<Value, String> {
    let report = reports::parse_ses(json, now()).map_err(|e| e.to_string())?;
    let reported = email::record_report(app, &report).await.map_err(|e| e.to_string())?;
    serde_json::to_value(reported).map_err(|e| e.to_string())
}

/// What became of one file of the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct TakenIn {
    /// The file's name.
    pub name: String,
    /// The outcome (`{"outcome": "posted", …}`), or why the file was not a mail or a report.
    pub outcome: Result<Value, String>,
}

/// Takes in every file of `inbox` once: `.eml` files as replies, `.json` files as reports.
/// Names beginning with `.` are left alone (a file still being written: write it under such a
/// name, then rename it), as are other extensions. Each file is moved out before it is read, so
/// two passes never take it twice; it ends in `done/` or `failed/`, with its outcome beside it.
pub async fn take_in(app: &App, inbox: &Path) -> Result<Vec<TakenIn>, String> {
    let entries = match std::fs::read_dir(inbox) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("{}: {error}", inbox.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && (name.ends_with(".eml") || name.ends_with(".json")))
        .collect();
    names.sort();
    let mut taken = Vec::with_capacity(names.len());
    for name in names {
        let working = inbox.join(format!(".taking-{name}"));
        if std::fs::rename(inbox.join(&name), &working).is_err() {
            // Another pass took it.
            continue;
        }
        let outcome = match std::fs::read(&working) {
            Err(error) => Err(error.to_string()),
            Ok(bytes) if name.ends_with(".eml") => take_in_mail(app, &bytes).await,
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => take_in_report(app, &text).await,
                Err(_) => Err("not UTF-8 text".to_owned()),
            },
        };
        let folder = inbox.join(if outcome.is_ok() { DONE } else { FAILED });
        let filed = std::fs::create_dir_all(&folder)
            .and_then(|()| std::fs::rename(&working, folder.join(&name)))
            .and_then(|()| {
                let written = match &outcome {
                    Ok(value) => serde_json::to_vec_pretty(value).unwrap_or_default(),
                    Err(reason) => {
                        serde_json::to_vec_pretty(&serde_json::json!({ "error": reason })).unwrap_or_default()
                    }
                };
                std::fs::write(folder.join(format!("{name}.outcome.json")), written)
            });
        if let Err(error) = filed {
            return Err(format!("filing {name} in {}: {error}", folder.display()));
        }
        taken.push(TakenIn { name, outcome });
    }
    Ok(taken)
}

/// Takes in the inbox every [`INBOX_TICK`], logging each file's outcome (`serve`).
pub async fn watch(app: App, inbox: PathBuf) {
    let mut tick = tokio::time::interval(INBOX_TICK);
    loop {
        tick.tick().await;
        match take_in(&app, &inbox).await {
            Ok(taken) => {
                for file in taken {
                    match file.outcome {
                        Ok(outcome) => {
                            tracing::info!(file = file.name, %outcome, "taken in from the mail inbox")
                        }
                        Err(reason) => {
                            tracing::warn!(file = file.name, %reason, "not taken in from the mail inbox")
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "the mail inbox could not be read"),
        }
    }
}
