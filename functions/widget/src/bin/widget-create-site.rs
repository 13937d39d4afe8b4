//! The `widget-create-site` Lambda function.
switchboard_shared::http_main!(switchboard_widget::CREATE_SITE);
