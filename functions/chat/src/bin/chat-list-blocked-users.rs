//! The `chat-list-blocked-users` Lambda function.
switchboard_shared::http_main!(switchboard_chat::LIST_BLOCKED_USERS);
