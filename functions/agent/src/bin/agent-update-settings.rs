//! The `agent-update-settings` Lambda function.
switchboard_shared::http_main!(switchboard_agent::UPDATE_AGENT);
