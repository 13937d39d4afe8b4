//! The `agent-render-canned-response` Lambda function.
switchboard_shared::http_main!(switchboard_agent::RENDER_CANNED_RESPONSE);
