//! Cold-start harness for Switchboard's Lambda binaries: a Runtime API on loopback that starts a
//! function, times its init against a hello-world reference and reads its warm peak memory.
//!
//! `cold-start` (the binary) drives it; `scripts/bench.sh` builds everything and runs it; the
//! figures and how to read them are in `docs/BENCHMARKS.md`.
//!
//! With the `realtime` feature, [`realtime`] is the real-time benchmark of the local gateway's
//! WebSocket API, driven by `realtime-bench` (`scripts/bench-realtime.sh`).
//!
//! With the `rollup` feature, [`rollup`] is the throughput benchmark of the analytics rollup over a
//! generated event log, driven by `rollup-throughput` (`scripts/bench-rollup.sh`).
//!
//! With the `scale` feature, [`scale`] is the scale simulator: the target load through the real
//! operations in simulated time, metered per partition key, driven by `scale-sim`
//! (`scripts/bench-scale.sh`).
//!
//! With the `cost` feature, [`cost`] is the cost benchmark: scripted conversations through the
//! local gateway with metering ports, priced at the services' list prices, driven by `cost-bench`
//! (`scripts/bench-cost.sh`). [`metering`] (DynamoDB's capacity units from real item sizes) serves
//! it and the scale simulator.

#[cfg(feature = "cost")]
pub mod cost;
pub mod emulator;
#[cfg(any(feature = "scale", feature = "cost"))]
pub mod metering;
#[cfg(feature = "realtime")]
pub mod realtime;
pub mod report;
#[cfg(feature = "rollup")]
pub mod rollup;
#[cfg(feature = "scale")]
pub mod scale;
pub mod stats;
