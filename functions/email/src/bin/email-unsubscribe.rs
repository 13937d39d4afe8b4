//! The `email-unsubscribe` Lambda function.
switchboard_shared::http_main!(switchboard_email::UNSUBSCRIBE);
