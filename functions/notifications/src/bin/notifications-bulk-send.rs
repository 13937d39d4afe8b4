//! The `notifications-bulk-send` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::BULK_SEND);
