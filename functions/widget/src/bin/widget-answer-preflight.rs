//! The `widget-answer-preflight` Lambda function.
switchboard_shared::http_main!(switchboard_widget::ANSWER_PREFLIGHT);
