//! The `realtime-send-message` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::SEND_MESSAGE);
