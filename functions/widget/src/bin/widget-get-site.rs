//! The `widget-get-site` Lambda function.
switchboard_shared::http_main!(switchboard_widget::GET_SITE);
