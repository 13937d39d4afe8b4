//! The cost benchmark: scripted conversations through the local gateway with metering ports
//! that count what AWS bills, priced at list prices.
//!
//! - [`prices`]: every price, its date and its source, in one place.
//! - [`usage`]: the billed quantities of an action or a conversation, and their dollars.
//! - [`ports`]: the counting ports (functions run, feed batches, pushes, log lines).
//! - [`harness`]: the gateway with its ports, and the client [`harness::Run`] that drives it.
//! - [`profiles`]: the scripted conversations.
//! - [`report`]: the tables.
//!
//! `cost-bench` (the binary, behind the `cost` feature) drives it; `scripts/bench-cost.sh`
//! builds and runs it; `docs/BENCHMARKS.md` ("Cost per conversation") holds its figures.

pub mod harness;
pub mod ports;
pub mod prices;
pub mod profiles;
pub mod report;
pub mod usage;

use reqwest::Method;
use serde_json::json;
use switchboard_shared::domain::Role;

use harness::{CostGateway, Run, Tally};
use profiles::Profile;
use usage::Usage;

use crate::realtime::Result;

/// A profile measured over some conversations.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The profile.
    pub profile: Profile,
    /// Conversations run.
    pub conversations: usize,
    /// Per action: how often it ran and what it used, over all the conversations.
    pub actions: Vec<(&'static str, Tally)>,
    /// Per action: DynamoDB units per index and key pattern, over all the conversations.
    pub patterns: std::collections::BTreeMap<&'static str, harness::Patterns>,
    /// Per action: frames in and out by kind and functions run, over all the conversations.
    pub counts: std::collections::BTreeMap<&'static str, harness::Counts>,
}

impl Measured {
    /// What one conversation used, on average.
    pub fn per_conversation(&self) -> Usage {
        let total = self.actions.iter().fold(Usage::default(), |sum, (_, tally)| sum + tally.usage);
        total.per(self.conversations as f64)
    }

    /// Dollars per 1,000 conversations.
    pub fn usd_per_1000(&self) -> f64 {
        self.per_conversation().usd() * 1000.0
    }
}

/// Runs `conversations` conversations of each profile on one gateway, one after the other.
pub async fn measure(profiles: &[Profile], conversations: usize, start_ms: i64) -> Result<Vec<Measured>> {
    let gateway = CostGateway::start(start_ms).await?;
    let mut run = Run::new(&gateway, start_ms);
    // The agent is on shift, the console connected, before the conversations: outside every
    // action, so no conversation pays for it (each pays the console's minutes while it lasts).
    let agent = gateway.token(profiles::AGENT, Role::Agent)?;
    run.rest(&agent, Method::PUT, "/agent/status", Some(json!({"status": "online", "capacity": 5}))).await?;
    let console = run.connect(&agent).await?;
    run.settle().await?;
    let mut measured = Vec::new();
    for profile in profiles {
        for n in 0..conversations {
            profiles::converse(&mut run, *profile, n, console).await?;
        }
        run.advance(60_000);
        measured.push(Measured {
            profile: *profile,
            conversations,
            actions: std::mem::take(&mut run.actions),
            patterns: std::mem::take(&mut run.patterns),
            counts: std::mem::take(&mut run.counts),
        });
    }
    Ok(measured)
}
