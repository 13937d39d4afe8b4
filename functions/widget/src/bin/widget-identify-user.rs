//! The `widget-identify-user` Lambda function.
switchboard_shared::http_main!(switchboard_widget::IDENTIFY_USER);
