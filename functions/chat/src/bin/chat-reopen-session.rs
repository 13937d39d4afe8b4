//! The `chat-reopen-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::REOPEN_SESSION);
