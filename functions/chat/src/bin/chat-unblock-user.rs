//! The `chat-unblock-user` Lambda function.
switchboard_shared::http_main!(switchboard_chat::UNBLOCK_USER);
