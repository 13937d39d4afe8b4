//! The mail port of the functions whose IAM policy grants no SES action: every send fails as AWS
//! would refuse it, and no SES client is linked into them.

use async_trait::async_trait;

use super::{Email, MailError, Mailer};

/// Refuses every send: the function sends no e-mail.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefusedMailer;

#[async_trait]
impl Mailer for RefusedMailer {
    async fn send(&self, _email: &Email) -> Result<String, MailError> {
        Err(MailError::Unavailable("this function sends no e-mail".into()))
    }
}
