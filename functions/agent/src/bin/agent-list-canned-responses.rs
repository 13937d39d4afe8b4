//! The `agent-list-canned-responses` Lambda function.
switchboard_shared::http_main!(switchboard_agent::LIST_CANNED_RESPONSES);
