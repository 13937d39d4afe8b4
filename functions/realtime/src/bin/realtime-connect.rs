//! The `realtime-connect` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::CONNECT);
