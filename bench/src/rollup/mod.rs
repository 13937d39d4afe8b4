//! The rollup benchmark: a generated session event log in a SQLite store, and the analytics
//! rollup run over it as a backfill would, measured in events per CPU second and peak memory.
//!
//! - [`history`] generates the log: realistic session lifecycles over a span of days, stored as
//!   the API stores them.
//! - [`phases`] times the parts of a rollup's reading and computing apart (a profile).
//! - [`decode`] times decoding a stored event on each path a history can take.
//! - [`usage`] reads this process's CPU time and peak resident memory.
//! - [`writes`] meters the CPU time a rollup spends writing (an item store wrapper).
//!
//! `rollup-throughput` (the binary, behind the `rollup` feature) drives it, each step in a fresh
//! process; `docs/BENCHMARKS.md` ("Rollup") has the figures.

pub mod decode;
pub mod history;
pub mod phases;
pub mod usage;
pub mod writes;
