//! The `email-sweep` Lambda function (scheduled).
switchboard_shared::scheduled_main_mailing!(switchboard_email::EMAIL_SWEEP);
