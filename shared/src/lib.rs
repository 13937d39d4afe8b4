//! Switchboard's shared library: domain, auth, errors, the item store, repositories, operations
//! and the HTTP glue every function uses.

pub mod analytics;
pub mod app;
pub mod attachments;
pub mod auth;
pub mod changes;
pub mod config;
pub mod cors;
pub mod csv;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod lambda;
pub mod mail;
pub mod ops;
pub mod push;
pub mod realtime;
pub mod repo;
pub mod reports;
#[cfg(feature = "s3")]
pub mod s3;
pub mod secrets;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use error::ApiError;
