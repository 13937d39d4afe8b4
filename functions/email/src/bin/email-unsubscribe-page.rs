//! The `email-unsubscribe-page` Lambda function.
switchboard_shared::http_main!(switchboard_email::UNSUBSCRIBE_PAGE);
