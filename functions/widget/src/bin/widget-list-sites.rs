//! The `widget-list-sites` Lambda function.
switchboard_shared::http_main!(switchboard_widget::LIST_SITES);
