//! The `attachments-request-upload` Lambda function.
switchboard_shared::http_main!(switchboard_attachments::REQUEST_UPLOAD);
