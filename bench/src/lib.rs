//! Cold-start harness for Switchboard's Lambda binaries: a Runtime API on loopback that starts a
//! function, times its init against a hello-world reference and reads its warm peak memory.
//!
//! `cold-start` (the binary) drives it; `scripts/bench.sh` builds everything and runs it; the
//! figures and how to read them are in `docs/BENCHMARKS.md`.

pub mod emulator;
pub mod report;
pub mod stats;
