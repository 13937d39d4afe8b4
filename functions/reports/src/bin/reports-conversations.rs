//! The `reports-conversations` Lambda function (its response is streamed).
switchboard_shared::http_main!(switchboard_reports::CONVERSATIONS_CSV);
