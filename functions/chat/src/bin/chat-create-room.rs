//! The `chat-create-room` Lambda function.
switchboard_shared::http_main!(switchboard_chat::CREATE_ROOM);
