//! The `chat-send-message` Lambda function.
switchboard_shared::http_main!(switchboard_chat::SEND_MESSAGE);
