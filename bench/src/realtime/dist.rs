//! Distributions of durations: nearest-rank percentiles and the mean.

use std::time::Duration;

/// A summary of a set of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Dist {
    /// How many.
    pub count: usize,
    /// The smallest.
    pub min: Duration,
    /// The median (nearest rank).
    pub p50: Duration,
    /// The 90th percentile (nearest rank).
    pub p90: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
}

impl Dist {
    /// The summary of `samples` (all zero when there are none).
    pub fn of(samples: impl IntoIterator<Item = Duration>) -> Self {
        let mut sorted: Vec<Duration> = samples.into_iter().collect();
        if sorted.is_empty() {
            return Self::default();
        }
        sorted.sort_unstable();
        let total: Duration = sorted.iter().sum();
        let count = sorted.len();
        Self {
            count,
            min: sorted[0],
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            p99: nearest_rank(&sorted, 99),
            max: sorted[count - 1],
            mean: total / u32::try_from(count).unwrap_or(u32::MAX),
        }
    }
}

/// The `percent`-th percentile of sorted, non-empty samples by nearest rank: the smallest sample
/// with at least `percent`% of the samples at or below it.
fn nearest_rank(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A duration in milliseconds with two decimals (`12.34`).
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentiles_of_a_hundred_samples_are_their_ranks() {
        let dist = Dist::of(millis(1..=100));

        assert_eq!(dist.p50, Duration::from_millis(50));
        assert_eq!(dist.p90, Duration::from_millis(90));
        assert_eq!(dist.p99, Duration::from_millis(99));
        assert_eq!(dist.max, Duration::from_millis(100));
        assert_eq!(dist.mean, Duration::from_micros(50_500));
    }

    #[test]
    fn the_p99_of_ten_samples_is_the_largest() {
        let dist = Dist::of(millis([5, 1, 9, 3, 7, 2, 8, 4, 6, 10]));

        assert_eq!(dist.p99, Duration::from_millis(10));
        assert_eq!(dist.min, Duration::from_millis(1));
    }

    #[test]
    fn no_samples_give_zeros() {
        assert_eq!(Dist::of(Vec::new()).count, 0);
    }

    #[test]
    fn milliseconds_have_two_decimals() {
        assert_eq!(ms(Duration::from_micros(12_346)), "12.35");
    }
}
