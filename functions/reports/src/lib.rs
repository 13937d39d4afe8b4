//! Analytics and reports REST handlers: daily figures from the rollups, the conversations CSV,
//! the stored daily PDF reports, and the rollup backfill.

/// Every HTTP function of this crate, for the local gateway and the tests.
pub const FUNCTIONS: &[switchboard_shared::lambda::HttpFunction] = &[];
