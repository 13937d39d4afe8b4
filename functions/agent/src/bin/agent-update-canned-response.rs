//! The `agent-update-canned-response` Lambda function.
switchboard_shared::http_main!(switchboard_agent::UPDATE_CANNED_RESPONSE);
