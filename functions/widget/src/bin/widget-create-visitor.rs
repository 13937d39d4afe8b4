//! The `widget-create-visitor` Lambda function.
switchboard_shared::http_main!(switchboard_widget::CREATE_VISITOR);
