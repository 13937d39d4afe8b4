//! The `agent-get-status` Lambda function.
switchboard_shared::http_main!(switchboard_agent::GET_STATUS);
