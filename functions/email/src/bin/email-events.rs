//! The `email-events` Lambda function (the SNS topic of SES's reports on the e-mails).
switchboard_shared::events_main!(switchboard_email::EMAIL_EVENTS);
