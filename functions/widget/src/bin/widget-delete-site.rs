//! The `widget-delete-site` Lambda function.
switchboard_shared::http_main!(switchboard_widget::DELETE_SITE);
