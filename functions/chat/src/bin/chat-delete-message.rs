//! The `chat-delete-message` Lambda function.
switchboard_shared::http_main!(switchboard_chat::DELETE_MESSAGE);
