//! The `dashboard-agent-performance` Lambda function.
switchboard_shared::http_main!(switchboard_dashboard::AGENT_PERFORMANCE);
