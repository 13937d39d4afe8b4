//! The `realtime-disconnect` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::DISCONNECT);
