//! The `routing-sweep` Lambda function (scheduled).
switchboard_shared::scheduled_main!(switchboard_agent::ROUTING_SWEEP);
