//! The `realtime-default` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::DEFAULT);
