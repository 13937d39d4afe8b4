//! The `chat-edit-note` Lambda function.
switchboard_shared::http_main!(switchboard_chat::EDIT_NOTE);
