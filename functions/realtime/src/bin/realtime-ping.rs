//! The `realtime-ping` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::PING);
