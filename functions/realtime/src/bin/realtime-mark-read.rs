//! The `realtime-mark-read` Lambda function.
switchboard_shared::ws_main!(switchboard_realtime::MARK_READ);
