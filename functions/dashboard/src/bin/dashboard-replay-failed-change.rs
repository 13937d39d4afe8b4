//! The `dashboard-replay-failed-change` Lambda function.
switchboard_shared::http_main_pushing!(switchboard_dashboard::REPLAY_FAILED_CHANGE);
