//! The black-box tests, linked as one test binary: each file of this folder is one module (one
//! area of behaviour), so `cargo test` links the gateway, the functions and the AWS SDK once
//! instead of once per file. Run one area with its module path as the filter, e.g.
//! `cargo test -p switchboard-tests --test black_box email::`.

mod abuse;
mod agent_tools;
mod attachments;
mod authorization;
mod bad_input;
mod change_feed;
mod chat_behaviour;
mod conversations_csv;
mod dashboard;
mod email;
mod email_inbound_aws;
mod event_fixtures;
mod facts;
mod iam;
mod identity_doc;
mod job_queue_sqs;
mod mail_ses;
mod management_api;
mod notifications;
mod panic_sweep;
mod presence;
mod push_sns;
mod realtime;
mod report_storage;
mod reports;
mod rollups;
mod round_trips;
mod routing;
mod routing_recovery;
mod store_outage;
mod template;
mod tokens;
mod transcripts;
mod walkthrough;
mod websocket_doc;
mod widget;
mod widget_serving;
