//! Is the model good enough? Figures with 95 % bootstrap intervals, baselines on the same test
//! samples, and the gate that decides whether step 8 switches the models on.
//!
//! The bootstrap resamples whole clusters of correlated samples (spatial blocks for the CNN,
//! blocks x target dates for the LSTM), not single samples: neighbouring patches and the dates
//! of one block are not independent, and resampling them one by one would give intervals that
//! are far too narrow. It works on stored predictions (per-cluster sufficient statistics), so
//! 1000 resamples cost milliseconds and never re-run a model.

pub mod baselines;
pub mod classification;
pub mod gate;
pub mod regression;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use classification::{ClassificationEvaluation, evaluate_classifiers};
pub use gate::{EnableModels, GateDecision, GateEvidence, decide};
pub use regression::{RegressionEvaluation, evaluate_regressors};

/// Bootstrap resamples per figure.
pub const RESAMPLES: usize = 1000;
/// Coverage of the reported intervals.
pub const CONFIDENCE: f64 = 0.95;

/// A figure on the test split with its 95 % percentile-bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Estimate {
    /// The figure on the whole test split.
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub ci_low: f64,
    /// Upper end of the 95 % interval.
    pub ci_high: f64,
}

impl Estimate {
    /// `value` with the 2.5 % and 97.5 % percentiles of `samples` (non-finite ones dropped).
    pub fn from_samples(value: f64, samples: &[f64]) -> Self {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if s.is_empty() {
            return Self {
                value,
                ci_low: value,
                ci_high: value,
            };
        }
        s.sort_by(f64::total_cmp);
        let tail = (1.0 - CONFIDENCE) / 2.0;
        let at = |q: f64| s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)];
        Self {
            value,
            ci_low: at(tail),
            ci_high: at(1.0 - tail),
        }
    }

    /// Whether the whole interval lies above zero (a difference that is not noise).
    pub fn above_zero(&self) -> bool {
        self.ci_low > 0.0
    }
}

impl std::fmt::Display for Estimate {
    /// Three decimals with the interval: `0.612 [0.551, 0.667]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.3} [{:.3}, {:.3}]",
            self.value, self.ci_low, self.ci_high
        )
    }
}

/// Which cluster each test sample belongs to, for the bootstrap.
#[derive(Clone, Copy, Debug)]
pub struct Clusters<'a> {
    /// Cluster index (0..`count`) of each sample.
    pub of_sample: &'a [usize],
    /// Number of clusters.
    pub count: usize,
    /// What a cluster is, for the report (e.g. "spatial block of 128 px").
    pub unit: &'a str,
}

/// The name among `names` (those evaluated) with the best `score`: the highest (the last on
/// ties) or the lowest (the first on ties), as `Iterator::max_by` and `min_by` choose.
fn best_by<'n, F>(
    predictors: &std::collections::BTreeMap<String, F>,
    names: &[&'n str],
    score: impl Fn(&F) -> f64,
    higher_is_better: bool,
) -> Option<&'n str> {
    let scored = names
        .iter()
        .filter_map(|&n| predictors.get(n).map(|f| (n, score(f))));
    let by_score = |a: &(&'n str, f64), b: &(&'n str, f64)| a.1.total_cmp(&b.1);
    let best = if higher_is_better {
        scored.max_by(by_score)
    } else {
        scored.min_by(by_score)
    };
    best.map(|(n, _)| n)
}

/// How many times each of `n` clusters is drawn in one bootstrap resample.
pub(crate) fn resample_counts(n: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let mut counts = vec![0u32; n];
    for _ in 0..n {
        counts[rng.random_range(0..n)] += 1;
    }
    counts
}

/// Dense cluster indices for arbitrary keys, in first-seen order.
pub fn cluster_ids<K: Ord + Clone>(keys: &[K]) -> (Vec<usize>, usize) {
    let mut map = std::collections::BTreeMap::new();
    let ids = keys
        .iter()
        .map(|k| {
            let next = map.len();
            *map.entry(k.clone()).or_insert(next)
        })
        .collect();
    (ids, map.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_brackets_the_middle_of_the_samples() {
        let samples: Vec<f64> = (0..1001).map(|i| i as f64 / 1000.0).collect();
        let e = Estimate::from_samples(0.5, &samples);
        assert!((e.ci_low - 0.025).abs() < 1e-9, "{e:?}");
        assert!((e.ci_high - 0.975).abs() < 1e-9, "{e:?}");
        assert_eq!(e.to_string(), "0.500 [0.025, 0.975]");
    }

    #[test]
    fn a_resample_draws_as_many_clusters_as_there_are() {
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let counts = resample_counts(7, &mut rng);
        assert_eq!(counts.iter().sum::<u32>(), 7);
    }
}
