//! The `agent-set-status` Lambda function.
switchboard_shared::http_main!(switchboard_agent::SET_STATUS);
