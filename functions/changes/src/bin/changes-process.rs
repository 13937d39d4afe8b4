//! The `changes-process` Lambda function (the table's DynamoDB Stream's event source).
switchboard_shared::queue_main!(switchboard_changes::PROCESS);
