//! The `agent-create-canned-response` Lambda function.
switchboard_shared::http_main!(switchboard_agent::CREATE_CANNED_RESPONSE);
