//! The `notifications-get-job` Lambda function.
switchboard_shared::http_main!(switchboard_notifications::GET_JOB);
