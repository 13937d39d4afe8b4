//! Durations: exact duration samples (sum, count, every sample sorted) that merge without losing
//! a percentile, their compact stored form, and how they are reported. Definitions:
//! `docs/METRICS.md`.

use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::Duration;
use utoipa::ToSchema;

/// Duration samples in whole milliseconds: exact sum and count, and every sample kept sorted so
/// percentiles stay exact when partial results are merged. Serialised compactly for the stored
/// rollups: `{"sum_ms", "samples"}`, the samples as the base64 of their LEB128-encoded gaps
/// (ascending samples have small gaps: about two bytes a sample instead of eight).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "PackedDurations", try_from = "PackedDurations")]
pub struct Durations {
    /// Sum of the samples, ms.
    pub sum_ms: u64,
    /// The samples, ms, ascending.
    pub samples_ms: Vec<u64>,
}

impl Durations {
    /// Adds a sample (negative durations, from clock skew, count as zero).
    pub fn push(&mut self, duration: Duration) {
        let ms = u64::try_from(duration.whole_milliseconds()).unwrap_or(0);
        let at = self.samples_ms.partition_point(|&s| s <= ms);
        self.samples_ms.insert(at, ms);
        self.sum_ms += ms;
    }

    /// Adds another set's samples (a sorted merge).
    pub fn merge(&mut self, other: &Durations) {
        let mut merged = Vec::with_capacity(self.samples_ms.len() + other.samples_ms.len());
        let (mut a, mut b) = (self.samples_ms.iter().peekable(), other.samples_ms.iter().peekable());
        while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
            if x <= y {
                merged.push(x);
                a.next();
            } else {
                merged.push(y);
                b.next();
            }
        }
        merged.extend(a);
        merged.extend(b);
        self.samples_ms = merged;
        self.sum_ms += other.sum_ms;
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.samples_ms.len() as u64
    }

    /// The mean in seconds, rounded to the millisecond.
    pub fn average_seconds(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| (self.sum_ms as f64 / count as f64).round() / 1000.0)
    }

    /// The nearest-rank percentile (`p` in 1..=100) in seconds: the sample of rank ⌈p·n/100⌉.
    pub fn percentile_seconds(&self, p: u8) -> Option<f64> {
        let n = self.samples_ms.len();
        if n == 0 || p == 0 {
            return None;
        }
        let rank = (usize::from(p.min(100)) * n).div_ceil(100).max(1);
        self.samples_ms.get(rank - 1).map(|&ms| ms as f64 / 1000.0)
    }

    /// The figures reported for these samples.
    pub fn report(&self) -> DurationReport {
        DurationReport {
            count: self.count(),
            average_seconds: self.average_seconds(),
            median_seconds: self.percentile_seconds(50),
            p90_seconds: self.percentile_seconds(90),
        }
    }
}

/// The stored form of [`Durations`].
#[derive(Serialize, Deserialize)]
struct PackedDurations {
    sum_ms: u64,
    samples: String,
}

impl From<Durations> for PackedDurations {
    fn from(durations: Durations) -> Self {
        let mut bytes = Vec::with_capacity(durations.samples_ms.len() * 2);
        let mut previous = 0;
        for &sample in &durations.samples_ms {
            let mut gap = sample - previous;
            previous = sample;
            loop {
                let low = (gap & 0x7f) as u8;
                gap >>= 7;
                if gap == 0 {
                    bytes.push(low);
                    break;
                }
                bytes.push(low | 0x80);
            }
        }
        Self { sum_ms: durations.sum_ms, samples: BASE64.encode(bytes) }
    }
}

impl TryFrom<PackedDurations> for Durations {
    type Error = String;

    fn try_from(packed: PackedDurations) -> Result<Self, String> {
        let bytes = BASE64.decode(packed.samples.as_bytes()).map_err(|e| format!("samples: {e}"))?;
        let mut samples_ms = Vec::with_capacity(bytes.len() / 2);
        let (mut previous, mut gap, mut shift) = (0u64, 0u64, 0u32);
        for byte in bytes {
            if shift > 63 {
                return Err("samples: a gap longer than 64 bits".into());
            }
            gap |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                previous = previous.checked_add(gap).ok_or("samples: overflow")?;
                samples_ms.push(previous);
                (gap, shift) = (0, 0);
            } else {
                shift += 7;
            }
        }
        if shift != 0 {
            return Err("samples: truncated".into());
        }
        Ok(Self { sum_ms: packed.sum_ms, samples_ms })
    }
}

/// Count, mean, median and p90 (nearest rank) of a duration, in seconds; null without samples.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DurationReport {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub average_seconds: Option<f64>,
    /// Nearest-rank median (the lower middle of an even count).
    pub median_seconds: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90_seconds: Option<f64>,
}

impl DurationReport {
    /// The report of no samples: a count of 0, every figure null.
    pub fn none() -> Self {
        Self { count: 0, average_seconds: None, median_seconds: None, p90_seconds: None }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_a_known_list() {
        let mut durations = Durations::default();
        for s in [50, 15, 40, 35, 20] {
            durations.push(Duration::seconds(s));
        }

        assert_eq!(durations.percentile_seconds(50), Some(35.0));
        assert_eq!(durations.percentile_seconds(90), Some(50.0));
        assert_eq!(durations.percentile_seconds(30), Some(20.0));
        assert_eq!(durations.percentile_seconds(100), Some(50.0));
        assert_eq!(durations.average_seconds(), Some(32.0));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_lower_middle() {
        let mut durations = Durations::default();
        for ms in 1..=10 {
            durations.push(Duration::milliseconds(ms * 1000 + 1));
        }

        assert_eq!(durations.percentile_seconds(50), Some(5.001));
        assert_eq!(durations.percentile_seconds(90), Some(9.001));
        assert_eq!(durations.average_seconds(), Some(5.501));
        assert_eq!(Durations::default().percentile_seconds(90), None);
    }

    #[test]
    fn stored_samples_read_back_exactly_in_about_two_bytes_each() {
        let mut durations = Durations::default();
        for ms in [0, 1, 127, 128, 16_383, 16_384, 35_000, 35_000, 86_400_000, u64::from(u32::MAX) * 4] {
            durations.push(Duration::milliseconds(i64::try_from(ms).unwrap()));
        }
        let stored = serde_json::to_value(&durations).unwrap();
        assert_eq!(stored["sum_ms"], json!(durations.sum_ms));
        assert_eq!(serde_json::from_value::<Durations>(stored).unwrap(), durations);

        let mut day = Durations::default();
        for n in 0..5_000u32 {
            day.push(Duration::milliseconds(i64::from(n % 600) * 1_000 + i64::from(n * 7 % 1_000)));
        }
        let packed = serde_json::to_string(&day).unwrap();
        assert!(packed.len() < 5_000 * 3, "{} bytes for 5,000 samples", packed.len());
        assert_eq!(serde_json::from_str::<Durations>(&packed).unwrap(), day);

        for broken in [json!({"sum_ms": 1, "samples": "gA"}), json!({"sum_ms": 1, "samples": "!!"})] {
            assert!(serde_json::from_value::<Durations>(broken).is_err());
        }
    }
}
