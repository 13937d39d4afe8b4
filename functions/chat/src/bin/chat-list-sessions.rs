//! The `chat-list-sessions` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_SESSIONS);
