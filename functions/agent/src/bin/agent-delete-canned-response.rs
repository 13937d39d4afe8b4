//! The `agent-delete-canned-response` Lambda function.
switchboard_shared::http_main!(switchboard_agent::DELETE_CANNED_RESPONSE);
