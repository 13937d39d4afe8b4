//! The `chat-create-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::CREATE_SESSION);
