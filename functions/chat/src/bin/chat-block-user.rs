//! The `chat-block-user` Lambda function.
switchboard_shared::http_main!(switchboard_chat::BLOCK_USER);
