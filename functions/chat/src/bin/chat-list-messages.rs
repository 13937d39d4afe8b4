//! The `chat-list-messages` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_MESSAGES);
