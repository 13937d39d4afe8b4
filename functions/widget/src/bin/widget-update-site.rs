//! The `widget-update-site` Lambda function.
switchboard_shared::http_main!(switchboard_widget::UPDATE_SITE);
