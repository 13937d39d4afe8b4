//! The `chat-list-notes` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_NOTES);
