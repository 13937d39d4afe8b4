//! The `chat-update-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::UPDATE_SESSION);
