//! The `realtime-subscribe` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::SUBSCRIBE);
