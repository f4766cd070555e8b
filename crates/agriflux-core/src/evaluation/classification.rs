//! Classifiers (the CNN and its baselines) on one test split: accuracy, macro-F1 and Cohen's
//! kappa with cluster-bootstrap intervals, per-class support, and paired differences.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Clusters, Estimate, resample_counts};

/// Classes of the crop-health task.
const K: usize = 4;

type Confusion = [[u64; K]; K];

/// Accuracy, macro-F1 and kappa of one predictor, each with its interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierFigures {
    /// Fraction predicted correctly.
    pub accuracy: Estimate,
    /// Unweighted mean of the per-class F1 over the classes present in truth or prediction
    /// (scikit-learn's `average="macro"`): a constant answer scores low however common it is.
    pub macro_f1: Estimate,
    /// Cohen's kappa: agreement beyond chance.
    pub cohen_kappa: Estimate,
}

/// Paired differences `a − b` on the same resamples (positive: `a` is better).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierDifference {
    /// The better-hoped predictor.
    pub a: String,
    /// The one it is compared with.
    pub b: String,
    /// Accuracy of `a` minus accuracy of `b`.
    pub accuracy: Estimate,
    /// Macro-F1 of `a` minus macro-F1 of `b`.
    pub macro_f1: Estimate,
    /// Kappa of `a` minus kappa of `b`.
    pub cohen_kappa: Estimate,
}

/// Every predictor's figures on one test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationEvaluation {
    /// Test samples.
    pub n: usize,
    /// Clusters (spatial blocks) the bootstrap resamples.
    pub clusters: usize,
    /// What a cluster is.
    pub cluster_unit: String,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// True samples per class, in class order.
    pub support: [u64; K],
    /// Figures by predictor name.
    pub predictors: BTreeMap<String, ClassifierFigures>,
    /// Requested paired differences.
    pub differences: Vec<ClassifierDifference>,
}

impl ClassificationEvaluation {
    /// The difference `a − b`, if it was requested.
    pub fn difference(&self, a: &str, b: &str) -> Option<&ClassifierDifference> {
        self.differences.iter().find(|d| d.a == a && d.b == b)
    }

    /// The baseline among `names` with the highest macro-F1 on the test split.
    pub fn best_of<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        super::best_by(&self.predictors, names, |f| f.macro_f1.value, true)
    }
}

/// (accuracy, macro-F1, kappa) of a confusion matrix `[truth][prediction]`.
pub fn confusion_figures(cm: &Confusion) -> (f64, f64, f64) {
    let total: u64 = cm.iter().flatten().sum();
    if total == 0 {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let t = total as f64;
    let row = |i: usize| cm[i].iter().sum::<u64>() as f64;
    let col = |j: usize| cm.iter().map(|r| r[j]).sum::<u64>() as f64;
    let correct: u64 = (0..K).map(|i| cm[i][i]).sum();
    let accuracy = correct as f64 / t;
    let (mut f1_sum, mut present) = (0.0, 0);
    for (i, cm_row) in cm.iter().enumerate() {
        let (r, c) = (row(i), col(i));
        if r + c == 0.0 {
            continue;
        }
        present += 1;
        // F1 = 2 TP / (row + col): the same as the harmonic mean, and 0 when TP is 0.
        f1_sum += 2.0 * cm_row[i] as f64 / (r + c);
    }
    let macro_f1 = if present == 0 {
        0.0
    } else {
        f1_sum / present as f64
    };
    let expected = (0..K).map(|i| row(i) * col(i)).sum::<f64>() / (t * t);
    let kappa = if (1.0 - expected).abs() < 1e-12 {
        if accuracy >= 1.0 { 1.0 } else { 0.0 }
    } else {
        (accuracy - expected) / (1.0 - expected)
    };
    (accuracy, macro_f1, kappa)
}

/// Evaluates `predictors` (name, predicted class per sample) against `truth`, resampling
/// `groups` [`super::RESAMPLES`] times with `seed`; `pairs` names the
/// differences `a − b` to report. Samples with a label outside 0..4 are ignored.
pub fn evaluate_classifiers(
    truth: &[i64],
    groups: &Clusters<'_>,
    predictors: &[(&str, &[usize])],
    pairs: &[(&str, &str)],
    seed: u64,
) -> ClassificationEvaluation {
    let resamples = super::RESAMPLES;
    let (cluster, clusters) = (groups.of_sample, groups.count);
    // One confusion matrix per predictor and cluster: a resample only sums them.
    let mut per_cluster = vec![vec![[[0u64; K]; K]; clusters]; predictors.len()];
    let mut support = [0u64; K];
    for (i, &t) in truth.iter().enumerate() {
        let Ok(t) = usize::try_from(t) else { continue };
        if t >= K {
            continue;
        }
        support[t] += 1;
        for (p, (_, pred)) in predictors.iter().enumerate() {
            let q = pred[i].min(K - 1);
            per_cluster[p][cluster[i]][t][q] += 1;
        }
    }
    let sum = |p: usize, weights: Option<&[u32]>| {
        let mut cm = [[0u64; K]; K];
        for (g, m) in per_cluster[p].iter().enumerate() {
            let w = weights.map_or(1, |w| u64::from(w[g]));
            if w == 0 {
                continue;
            }
            for i in 0..K {
                for j in 0..K {
                    cm[i][j] += w * m[i][j];
                }
            }
        }
        cm
    };
    let point: Vec<(f64, f64, f64)> = (0..predictors.len())
        .map(|p| confusion_figures(&sum(p, None)))
        .collect();
    let mut samples = vec![Vec::with_capacity(resamples); predictors.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xb007_5742);
    for _ in 0..resamples {
        let counts = resample_counts(clusters, &mut rng);
        for (p, s) in samples.iter_mut().enumerate() {
            s.push(confusion_figures(&sum(p, Some(counts.as_slice()))));
        }
    }
    let estimate = |p: usize, f: fn(&(f64, f64, f64)) -> f64| {
        let values: Vec<f64> = samples[p].iter().map(f).collect();
        Estimate::from_samples(f(&point[p]), &values)
    };
    let acc = |v: &(f64, f64, f64)| v.0;
    let mf1 = |v: &(f64, f64, f64)| v.1;
    let kap = |v: &(f64, f64, f64)| v.2;
    let figures = predictors
        .iter()
        .enumerate()
        .map(|(p, (name, _))| {
            (
                name.to_string(),
                ClassifierFigures {
                    accuracy: estimate(p, acc),
                    macro_f1: estimate(p, mf1),
                    cohen_kappa: estimate(p, kap),
                },
            )
        })
        .collect();
    let index = |name: &str| predictors.iter().position(|(n, _)| *n == name);
    let differences = pairs
        .iter()
        .filter_map(|(a, b)| {
            let (ia, ib) = (index(a)?, index(b)?);
            let diff = |f: fn(&(f64, f64, f64)) -> f64| {
                let values: Vec<f64> = samples[ia]
                    .iter()
                    .zip(&samples[ib])
                    .map(|(x, y)| f(x) - f(y))
                    .collect();
                Estimate::from_samples(f(&point[ia]) - f(&point[ib]), &values)
            };
            Some(ClassifierDifference {
                a: a.to_string(),
                b: b.to_string(),
                accuracy: diff(acc),
                macro_f1: diff(mf1),
                cohen_kappa: diff(kap),
            })
        })
        .collect();
    ClassificationEvaluation {
        n: truth.len(),
        clusters,
        cluster_unit: groups.unit.into(),
        resamples,
        seed,
        support,
        predictors: figures,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_exposes_a_constant_answer() {
        // 72 % of the truth is class 3: always answering 3 has a high accuracy, a low macro-F1.
        let mut cm = [[0u64; K]; K];
        cm[0][3] = 4;
        cm[1][3] = 19;
        cm[2][3] = 22;
        cm[3][3] = 115;
        let (acc, f1, kappa) = confusion_figures(&cm);
        assert!((acc - 115.0 / 160.0).abs() < 1e-12);
        assert!(f1 < 0.25, "{f1}");
        assert_eq!(kappa, 0.0);
    }

    #[test]
    fn a_perfect_predictor_beats_a_constant_one_beyond_noise() {
        let truth: Vec<i64> = (0..400).map(|i| (i % 4) as i64).collect();
        let cluster: Vec<usize> = (0..400).map(|i| i / 40).collect();
        let perfect: Vec<usize> = truth.iter().map(|t| *t as usize).collect();
        let constant = vec![0usize; 400];
        let e = evaluate_classifiers(
            &truth,
            &Clusters {
                of_sample: &cluster,
                count: 10,
                unit: "block",
            },
            &[
                ("model", perfect.as_slice()),
                ("majority", constant.as_slice()),
            ],
            &[("model", "majority")],
            1,
        );
        assert_eq!(e.support, [100; 4]);
        assert_eq!(e.predictors["model"].accuracy.value, 1.0);
        let d = e.difference("model", "majority").unwrap();
        assert!(d.macro_f1.above_zero(), "{:?}", d.macro_f1);
        assert_eq!(e.best_of(&["majority"]), Some("majority"));
    }
}
