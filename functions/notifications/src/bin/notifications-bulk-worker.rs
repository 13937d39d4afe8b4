//! The `notifications-bulk-worker` Lambda function (the bulk-send queue's event source).
switchboard_shared::queue_main!(switchboard_notifications::BULK_WORKER);
