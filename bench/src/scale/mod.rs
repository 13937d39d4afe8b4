//! The scale simulator: the real operations at a target load (agents, open conversations,
//! messages a second, dashboards, conversations a day) in simulated time, through an item store
//! that meters DynamoDB's capacity units per partition key and a real-time port that counts the
//! posts per connection; the report sets them against the services' limits.
//!
//! - [`crate::metering`]: DynamoDB's item size and the metered item store (shared with the cost
//!   benchmark).
//! - [`posts`]: the metered real-time port.
//! - [`sim`]: the simulated floor.
//! - [`report`]: the figures against the limits.
//!
//! `scale-sim` (the binary, behind the `scale` feature) drives it; `scripts/bench-scale.sh`
//! builds and runs it; `docs/BENCHMARKS.md` ("Scale") holds its figures.

pub mod posts;
pub mod report;
pub mod sim;
