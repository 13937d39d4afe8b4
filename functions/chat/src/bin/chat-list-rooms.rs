//! The `chat-list-rooms` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_ROOMS);
