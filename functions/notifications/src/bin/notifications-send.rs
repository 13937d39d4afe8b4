//! The `notifications-send` Lambda function.
switchboard_shared::http_main_pushing!(switchboard_notifications::SEND);
