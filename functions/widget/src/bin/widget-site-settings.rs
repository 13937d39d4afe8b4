//! The `widget-site-settings` Lambda function.
switchboard_shared::http_main!(switchboard_widget::SITE_SETTINGS);
