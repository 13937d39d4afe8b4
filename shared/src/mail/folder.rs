//! The local gateway's mailer: each message, as SES would receive it, written to a folder as
//! `<ULID>.eml`, to open in a mail client or read in a test.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{render, Email, MailError, Mailer};
use crate::domain::next_ulid;

/// Writes each e-mail to `<dir>/<ULID>.eml`.
#[derive(Debug, Clone)]
pub struct FolderMailer {
    dir: PathBuf,
}

impl FolderMailer {
    /// Messages go to `dir` (made on the first send).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> MailError {
    MailError::Unavailable(format!("{what} {}: {error}", path.display()))
}

#[async_trait]
impl Mailer for FolderMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let message = render(email)?;
        // ULIDs sort by time: the folder lists the messages in the order they were sent.
        let name = format!("{}.eml", next_ulid());
        let (dir, path) = (self.dir.clone(), self.dir.join(&name));
        let written = path.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| io_error("creating", &dir, e))?;
            // Written aside and renamed, so a mail client or a test never reads half a message.
            let partial = path.with_extension("eml.partial");
            std::fs::write(&partial, message).map_err(|e| io_error("writing", &partial, e))?;
            std::fs::rename(&partial, &path).map_err(|e| io_error("renaming", &partial, e))
        })
        .await
        .map_err(|e| MailError::Unavailable(format!("file task failed: {e}")))??;
        tracing::info!(path = %written.display(), "e-mail written");
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use mailparse::{parse_mail, MailHeaderMap};

    use super::super::Mailbox;
    use super::*;

    fn email(to: &str) -> Email {
        Email {
            from: Mailbox { name: Some("Switchboard".into()), address: "support@example.com".into() },
            to: Mailbox { name: None, address: to.into() },
            reply_to: None,
            subject: "Your transcript".into(),
            text: "Here it is.\n".into(),
            html: "<p>Here it is.</p>".into(),
            message_id: format!("{}@example.com", next_ulid()),
            headers: vec![("List-Unsubscribe".into(), "<mailto:unsubscribe@example.com>".into())],
            tags: Vec::new(),
        }
    }

    #[tokio::test]
    async fn each_e_mail_is_written_as_a_parseable_eml_file_named_by_the_returned_id() {
        let root = tempfile::tempdir().unwrap();
        let mailer = FolderMailer::new(root.path().join("mail"));

        let first = mailer.send(&email("ada@example.org")).await.unwrap();
        let second = mailer.send(&email("grace@example.org")).await.unwrap();

        let mut names: Vec<String> = std::fs::read_dir(mailer.dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [first.clone(), second]);
        let bytes = std::fs::read(mailer.dir().join(&first)).unwrap();
        let parsed = parse_mail(&bytes).unwrap();
        assert_eq!(parsed.get_headers().get_first_value("To").unwrap(), "<ada@example.org>");
        assert_eq!(
            parsed.get_headers().get_first_value("List-Unsubscribe").unwrap(),
            "<mailto:unsubscribe@example.com>"
        );
        assert_eq!(parsed.subparts.len(), 2);
    }

    #[tokio::test]
    async fn a_refused_e_mail_writes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let mailer = FolderMailer::new(root.path().join("mail"));

        let result = mailer.send(&email("not-an-address")).await;

        assert!(matches!(result, Err(MailError::Refused(_))), "{result:?}");
        assert!(!mailer.dir().exists());
    }
}
