//! The `chat-create-note` Lambda function.
switchboard_shared::http_main!(switchboard_chat::CREATE_NOTE);
