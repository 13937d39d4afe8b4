//! The `chat-edit-message` Lambda function.
switchboard_shared::http_main!(switchboard_chat::EDIT_MESSAGE);
