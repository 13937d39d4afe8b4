//! The `chat-list-participants` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_PARTICIPANTS);
