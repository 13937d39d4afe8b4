//! The local gateway: the whole Switchboard API on localhost over the embedded store, so a
//! developer needs no AWS account and no Docker.

pub mod attachments;
pub mod dashboard;
pub mod feed;
pub mod fixtures;
pub mod gateway;
pub mod iam;
pub mod mailbox;
pub mod openapi;
pub mod scheduler;
pub mod secret;
pub mod template;
pub mod widget;
pub mod ws;

pub use gateway::Gateway;
