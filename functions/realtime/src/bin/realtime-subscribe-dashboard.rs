//! The `realtime-subscribe-dashboard` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::SUBSCRIBE_DASHBOARD);
