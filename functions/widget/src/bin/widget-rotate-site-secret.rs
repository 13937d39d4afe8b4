//! The `widget-rotate-site-secret` Lambda function.
switchboard_shared::http_main!(switchboard_widget::ROTATE_SITE_SECRET);
