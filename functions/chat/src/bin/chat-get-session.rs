//! The `chat-get-session` Lambda function.
switchboard_shared::http_main!(switchboard_chat::GET_SESSION);
