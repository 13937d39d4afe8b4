//! The `email-list-session-emails` Lambda function.
switchboard_shared::http_main!(switchboard_email::LIST_SESSION_EMAILS);
