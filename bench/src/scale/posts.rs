//! The real-time port, metered: every post is counted per connection and per simulated second,
//! with the largest frame, and delivered nowhere (every connection is reachable).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use switchboard_shared::domain::ConnectionId;
use switchboard_shared::realtime::{PostError, Realtime};

/// Posts counted so far.
#[derive(Debug, Default)]
pub struct Posted {
    /// The simulated second posts are counted in now.
    pub second: u64,
    /// Per second, per connection: posts.
    pub seconds: HashMap<u64, HashMap<String, u64>>,
    /// The largest frame posted, in bytes, and its `type`.
    pub largest_frame: (usize, String),
}

/// A [`Realtime`] that counts.
#[derive(Debug, Default)]
pub struct MeteredPosts {
    posted: Mutex<Posted>,
}

impl MeteredPosts {
    /// Counts from now on in `second`.
    pub fn set_second(&self, second: u64) {
        if let Ok(mut posted) = self.posted.lock() {
            posted.second = second;
        }
    }

    /// Runs `read` on what was counted so far.
    pub fn read<T>(&self, read: impl FnOnce(&Posted) -> T) -> Option<T> {
        self.posted.lock().ok().map(|posted| read(&posted))
    }

    /// Forgets what was counted (the set-up before the measured seconds).
    pub fn reset(&self) {
        if let Ok(mut posted) = self.posted.lock() {
            *posted = Posted { second: posted.second, ..Posted::default() };
        }
    }
}

#[async_trait]
impl Realtime for MeteredPosts {
    async fn post(&self, connection: &ConnectionId, frame: &[u8]) -> Result<(), PostError> {
        if let Ok(mut posted) = self.posted.lock() {
            if frame.len() > posted.largest_frame.0 {
                let kind = serde_json::from_slice::<serde_json::Value>(frame)
                    .ok()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                    .unwrap_or_default();
                posted.largest_frame = (frame.len(), kind);
            }
            let second = posted.second;
            *posted.seconds.entry(second).or_default().entry(connection.to_string()).or_default() += 1;
        }
        Ok(())
    }
}
