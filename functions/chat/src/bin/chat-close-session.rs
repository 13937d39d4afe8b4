//! The `chat-close-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::CLOSE_SESSION);
