//! The `notifications-list-delivery-logs` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::LIST_DELIVERY_LOGS);
