//! The `attachments-download` Lambda function.
switchboard_shared::http_main!(switchboard_attachments::DOWNLOAD);
