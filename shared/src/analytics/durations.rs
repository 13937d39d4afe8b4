//! Durations: duration samples (exact sum and count; every sample, sorted, up to
//! [`EXACT_SAMPLES`], then a mergeable quantile sketch), their compact stored form, and how they
//! are reported. Definitions and the sketch's error: `docs/METRICS.md`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::Duration;
use utoipa::ToSchema;

/// Samples kept exactly: beyond them (a busy day, a month of days) a set is kept as a sketch,
/// so a stored day stays far under DynamoDB's item limit at any volume (4,096 samples pack into
/// about 11 KB; a sketch of any count into at most about 9 KB).
pub const EXACT_SAMPLES: usize = 4096;

/// The sketch's relative accuracy: a percentile read from it is within 0.5% of a sample of that
/// rank (a median of 10 minutes is off by 3 seconds at most).
pub const SKETCH_ACCURACY: f64 = 0.005;

/// The growth of one bucket to the next, `(1 + α) / (1 − α)`.
fn gamma() -> f64 {
    (1.0 + SKETCH_ACCURACY) / (1.0 - SKETCH_ACCURACY)
}

/// The bucket of `ms`: 0 holds 0 ms; bucket `k ≥ 1` holds `(γ^(k−2), γ^(k−1)]`.
fn bucket(ms: u64) -> u32 {
    if ms == 0 {
        return 0;
    }
    ((ms as f64).ln() / gamma().ln()).ceil().max(0.0) as u32 + 1
}

/// The value a bucket stands for: the one within [`SKETCH_ACCURACY`] of every value it holds.
fn representative(bucket: u32) -> f64 {
    match bucket {
        0 => 0.0,
        k => 2.0 * gamma().powi(k as i32 - 1) / (gamma() + 1.0),
    }
}

/// Duration samples in whole milliseconds: exact sum and count; every sample kept sorted while
/// there are at most [`EXACT_SAMPLES`] (percentiles exact, also when partial results are
/// merged), a count per logarithmic bucket beyond (percentiles within [`SKETCH_ACCURACY`]).
/// Either way the result of merging is a function of the samples alone, whatever the order.
/// Serialised compactly for the stored rollups: `{"sum_ms", "samples"}` with the samples as the
/// base64 of their LEB128-encoded gaps (about two bytes a sample), or `{"sum_ms", "sketch"}`
/// with the buckets as the base64 of LEB128 (bucket gap, count) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "PackedDurations", try_from = "PackedDurations")]
pub struct Durations {
    /// Sum of the samples, ms.
    pub sum_ms: u64,
    /// The samples, ms, ascending (empty once kept as a sketch).
    pub samples_ms: Vec<u64>,
    /// The samples per bucket, once there are more than [`EXACT_SAMPLES`].
    sketch: Option<BTreeMap<u32, u64>>,
}

impl Durations {
    /// Adds a sample (negative durations, from clock skew, count as zero).
    pub fn push(&mut self, duration: Duration) {
        let ms = u64::try_from(duration.whole_milliseconds()).unwrap_or(0);
        self.sum_ms += ms;
        if let Some(sketch) = &mut self.sketch {
            *sketch.entry(bucket(ms)).or_insert(0) += 1;
            return;
        }
        let at = self.samples_ms.partition_point(|&s| s <= ms);
        self.samples_ms.insert(at, ms);
        self.spill_if_over();
    }

    /// Adds another set's samples (a sorted merge, or the buckets' counts added).
    pub fn merge(&mut self, other: &Durations) {
        self.sum_ms += other.sum_ms;
        if self.sketch.is_none() && other.sketch.is_none() {
            self.samples_ms = sorted_merge(&self.samples_ms, &other.samples_ms);
            self.spill_if_over();
            return;
        }
        let sketch = self.sketch.get_or_insert_with(BTreeMap::new);
        for &ms in self.samples_ms.iter().chain(&other.samples_ms) {
            *sketch.entry(bucket(ms)).or_insert(0) += 1;
        }
        self.samples_ms = Vec::new();
        for (&bucket, &count) in other.sketch.iter().flatten() {
            *sketch.entry(bucket).or_insert(0) += count;
        }
    }

    /// Turns the samples into a sketch once there are more than [`EXACT_SAMPLES`].
    fn spill_if_over(&mut self) {
        if self.samples_ms.len() > EXACT_SAMPLES {
            let mut sketch = BTreeMap::new();
            for ms in std::mem::take(&mut self.samples_ms) {
                *sketch.entry(bucket(ms)).or_insert(0) += 1;
            }
            self.sketch = Some(sketch);
        }
    }

    /// Whether the samples are kept as a sketch (percentiles within [`SKETCH_ACCURACY`]).
    pub fn is_sketch(&self) -> bool {
        self.sketch.is_some()
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.samples_ms.len() as u64 + self.sketch.iter().flat_map(BTreeMap::values).sum::<u64>()
    }

    /// The mean in seconds, rounded to the millisecond.
    pub fn average_seconds(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| (self.sum_ms as f64 / count as f64).round() / 1000.0)
    }

    /// The nearest-rank percentile (`p` in 1..=100) in seconds: the sample of rank ⌈p·n/100⌉
    /// (from a sketch, its bucket's value, rounded to the millisecond).
    pub fn percentile_seconds(&self, p: u8) -> Option<f64> {
        let n = usize::try_from(self.count()).unwrap_or(usize::MAX);
        if n == 0 || p == 0 {
            return None;
        }
        let rank = (usize::from(p.min(100)) * n).div_ceil(100).max(1);
        let Some(sketch) = &self.sketch else {
            return self.samples_ms.get(rank - 1).map(|&ms| ms as f64 / 1000.0);
        };
        let mut seen = 0u64;
        sketch.iter().find_map(|(&bucket, &count)| {
            seen += count;
            (seen >= rank as u64).then(|| representative(bucket).round() / 1000.0)
        })
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

/// Two ascending lists as one.
fn sorted_merge(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
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
    merged
}

/// Numbers as LEB128 bytes.
fn leb128(numbers: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for mut number in numbers {
        loop {
            let low = (number & 0x7f) as u8;
            number >>= 7;
            if number == 0 {
                bytes.push(low);
                break;
            }
            bytes.push(low | 0x80);
        }
    }
    bytes
}

/// LEB128 bytes (base64) as numbers.
fn unleb128(text: &str, what: &str) -> Result<Vec<u64>, String> {
    let bytes = BASE64.decode(text.as_bytes()).map_err(|e| format!("{what}: {e}"))?;
    let mut numbers = Vec::with_capacity(bytes.len() / 2);
    let (mut number, mut shift) = (0u64, 0u32);
    for byte in bytes {
        if shift > 63 {
            return Err(format!("{what}: a number longer than 64 bits"));
        }
        number |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            numbers.push(number);
            (number, shift) = (0, 0);
        } else {
            shift += 7;
        }
    }
    if shift != 0 {
        return Err(format!("{what}: truncated"));
    }
    Ok(numbers)
}

/// The stored form of [`Durations`].
#[derive(Serialize, Deserialize)]
struct PackedDurations {
    sum_ms: u64,
    #[serde(default)]
    samples: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sketch: Option<String>,
}

impl From<Durations> for PackedDurations {
    fn from(durations: Durations) -> Self {
        let gaps = durations.samples_ms.iter().scan(0, |previous, &sample| {
            let gap = sample - *previous;
            *previous = sample;
            Some(gap)
        });
        let sketch = durations.sketch.map(|sketch| {
            let pairs = sketch.iter().scan(0, |previous, (&bucket, &count)| {
                let gap = bucket - *previous;
                *previous = bucket;
                Some([u64::from(gap), count])
            });
            BASE64.encode(leb128(pairs.flatten()))
        });
        let samples = if sketch.is_some() { String::new() } else { BASE64.encode(leb128(gaps)) };
        Self { sum_ms: durations.sum_ms, samples, sketch }
    }
}

impl TryFrom<PackedDurations> for Durations {
    type Error = String;

    fn try_from(packed: PackedDurations) -> Result<Self, String> {
        let mut samples_ms = unleb128(&packed.samples, "samples")?;
        let mut previous = 0u64;
        for sample in &mut samples_ms {
            previous = previous.checked_add(*sample).ok_or("samples: overflow")?;
            *sample = previous;
        }
        let sketch = match packed.sketch {
            None => None,
            Some(text) => {
                let numbers = unleb128(&text, "sketch")?;
                if numbers.len() % 2 != 0 {
                    return Err("sketch: a bucket without its count".into());
                }
                let mut sketch = BTreeMap::new();
                let mut bucket = 0u32;
                for pair in numbers.chunks_exact(2) {
                    let gap = u32::try_from(pair[0]).map_err(|_| "sketch: a bucket out of range")?;
                    bucket = bucket.checked_add(gap).ok_or("sketch: a bucket out of range")?;
                    sketch.insert(bucket, pair[1]);
                }
                Some(sketch)
            }
        };
        Ok(Self { sum_ms: packed.sum_ms, samples_ms, sketch })
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

    /// A day's worth of handle times: log-normal-ish, 30 s to 3 h, from a fixed sequence.
    fn spread(n: u64) -> Vec<Duration> {
        (0..n)
            .map(|i| Duration::milliseconds(30_000 + i64::try_from(i * 7_919 % 10_800_000).unwrap()))
            .collect()
    }

    #[test]
    fn past_the_exact_limit_percentiles_stay_within_half_a_percent() {
        let samples = spread(50_000);
        let mut sketched = Durations::default();
        for &sample in &samples {
            sketched.push(sample);
        }
        let mut exact: Vec<u64> = samples.iter().map(|d| d.whole_milliseconds() as u64).collect();
        exact.sort_unstable();

        assert!(sketched.is_sketch());
        assert_eq!(sketched.count(), 50_000);
        assert_eq!(sketched.sum_ms, exact.iter().sum::<u64>(), "the mean stays exact");
        for p in [1u8, 10, 50, 90, 99, 100] {
            let rank = (usize::from(p) * exact.len()).div_ceil(100);
            let truth = exact[rank - 1] as f64 / 1000.0;
            let read = sketched.percentile_seconds(p).unwrap();
            assert!((read - truth).abs() <= truth * SKETCH_ACCURACY + 0.001, "p{p}: {read} for {truth}");
        }
    }

    #[test]
    fn merging_in_any_order_gives_the_same_set_and_it_reads_back() {
        let samples = spread(12_000);
        let mut whole = Durations::default();
        for &sample in &samples {
            whole.push(sample);
        }
        let mut parts: Vec<Durations> = samples
            .chunks(1_000)
            .map(|chunk| {
                let mut part = Durations::default();
                chunk.iter().for_each(|&sample| part.push(sample));
                part
            })
            .collect();
        let mut forward = Durations::default();
        parts.iter().for_each(|part| forward.merge(part));
        parts.reverse();
        let mut backward = Durations::default();
        parts.iter().for_each(|part| backward.merge(part));

        assert_eq!(forward, whole);
        assert_eq!(backward, whole);
        let stored = serde_json::to_string(&whole).unwrap();
        assert!(stored.len() < 10_000, "{} bytes for a sketch", stored.len());
        assert_eq!(serde_json::from_str::<Durations>(&stored).unwrap(), whole);
    }

    #[test]
    fn up_to_the_exact_limit_samples_stay_exact() {
        let mut durations = Durations::default();
        for sample in spread(EXACT_SAMPLES as u64) {
            durations.push(sample);
        }
        assert!(!durations.is_sketch());
        assert_eq!(durations.samples_ms.len(), EXACT_SAMPLES);
        durations.push(Duration::seconds(1));
        assert!(durations.is_sketch() && durations.samples_ms.is_empty());
        assert_eq!(durations.count(), EXACT_SAMPLES as u64 + 1);
    }
}
