//! The `chat-mark-read` Lambda function.
switchboard_shared::http_main!(switchboard_chat::MARK_READ);
