//! Order statistics of a run's samples: median and nearest-rank percentiles.

/// Median, 90th percentile and range of a set of figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// The median (mean of the two middle figures for an even count).
    pub median: f64,
    /// The 90th percentile, nearest rank.
    pub p90: f64,
    /// The smallest figure.
    pub min: f64,
    /// The largest figure.
    pub max: f64,
}

impl Summary {
    /// The summary of `figures`; `None` when there are none.
    pub fn of(figures: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut sorted: Vec<f64> = figures.into_iter().collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        } else {
            sorted[middle]
        };
        Some(Self { median, p90: nearest_rank(&sorted, 90), min: sorted[0], max: sorted[sorted.len() - 1] })
    }
}

/// The `percent`-th percentile of sorted, non-empty figures by nearest rank: the smallest figure
/// with at least `percent`% of the figures at or below it.
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let summary = Summary::of([4.0, 1.0, 3.0, 2.0]).unwrap();

        assert_eq!(summary.median, 2.5);
    }

    #[test]
    fn p90_of_twenty_figures_is_the_eighteenth() {
        let summary = Summary::of((1..=20).map(f64::from)).unwrap();

        assert_eq!(summary.p90, 18.0);
        assert_eq!((summary.min, summary.max), (1.0, 20.0));
    }

    #[test]
    fn one_figure_is_its_own_summary() {
        let summary = Summary::of([7.5]).unwrap();

        assert_eq!((summary.median, summary.p90), (7.5, 7.5));
    }

    #[test]
    fn no_figures_have_no_summary() {
        assert_eq!(Summary::of(std::iter::empty()), None);
    }
}
