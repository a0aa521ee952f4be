//! Small statistics helpers: percentiles of latencies, medians of repetitions.

/// Summary of a set of latency samples, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// Median (nearest-rank 50th percentile).
    pub p50_us: f64,
    /// Nearest-rank 99th percentile.
    pub p99_us: f64,
    /// Largest sample.
    pub max_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
}

impl Latency {
    /// Summarises samples given in nanoseconds; all zero when there are none.
    pub fn from_nanos(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        let us = |ns: u64| ns as f64 / 1_000.0;
        Latency {
            p50_us: us(percentile(samples, 50.0)),
            p99_us: us(percentile(samples, 99.0)),
            max_us: us(samples[samples.len() - 1]),
            mean_us: sum as f64 / samples.len() as f64 / 1_000.0,
        }
    }
}

/// Nearest-rank percentile `p` (0..=100) of `sorted`, which must be sorted and non-empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    assert!(!sorted.is_empty(), "percentile of no samples");
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of `values` (mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50.0), 50);
        assert_eq!(percentile(&sorted, 99.0), 99);
        assert_eq!(percentile(&sorted, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2], 0.0), 1);
    }

    #[test]
    fn latency_summary() {
        let mut samples = vec![3_000, 1_000, 2_000];
        let l = Latency::from_nanos(&mut samples);
        assert_eq!(
            (l.p50_us, l.p99_us, l.max_us, l.mean_us),
            (2.0, 3.0, 3.0, 2.0)
        );
        assert_eq!(Latency::from_nanos(&mut []), Latency::default());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
