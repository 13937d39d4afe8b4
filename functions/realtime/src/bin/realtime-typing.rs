//! The `realtime-typing` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::TYPING);
