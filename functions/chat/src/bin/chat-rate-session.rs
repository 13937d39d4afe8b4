//! The `chat-rate-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::RATE_SESSION);
