//! Evaluation figures: classification (accuracy, per-class and weighted precision/recall/F1,
//! confusion matrix, Cohen's kappa, mean confidence) and regression (MAE, RMSE, R²).
//!
//! Undefined ratios follow scikit-learn's `zero_division=0` convention: a class never
//! predicted has precision 0, a class absent from the truth has recall 0. Every figure is
//! finite, so the structs always serialise to valid JSON.

use serde::{Deserialize, Serialize};

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassMetrics {
    /// Correct predictions of the class over all predictions of it (0 when never predicted).
    pub precision: f64,
    /// Correct predictions of the class over its true samples (0 when absent).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of true samples of the class.
    pub support: u64,
}

/// Classifier figures over a labelled set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassificationMetrics {
    /// Fraction of samples predicted correctly.
    pub accuracy: f64,
    /// One entry per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// Precision averaged with class supports as weights.
    pub weighted_precision: f64,
    /// Recall averaged with class supports as weights.
    pub weighted_recall: f64,
    /// F1 averaged with class supports as weights.
    pub weighted_f1: f64,
    /// Counts indexed `[true class][predicted class]`.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// Cohen's kappa: agreement beyond chance (0 when undefined, 1 for perfect agreement).
    pub cohen_kappa: f64,
    /// Mean probability of the predicted class.
    pub mean_confidence: f64,
    /// Number of samples evaluated.
    pub n: u64,
}

/// `num / den`, or 0 when `den` is 0.
fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

/// Index of the largest value (the first on ties; NaN never wins).
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] || row[best].is_nan() {
            best = i;
        }
    }
    best
}

impl ClassificationMetrics {
    /// Figures for true labels `y_true` and predicted probabilities `proba` (prediction = the
    /// most probable class). Pairs beyond the shorter input and labels outside `0..K` are
    /// skipped.
    pub fn compute<const K: usize>(y_true: &[i64], proba: &[[f32; K]]) -> Self {
        let k = K;
        let mut cm = vec![vec![0u64; k]; k];
        let mut confidence = 0.0;
        let mut n = 0u64;
        for (&t, p) in y_true.iter().zip(proba) {
            let Ok(t) = usize::try_from(t) else { continue };
            if t >= k {
                continue;
            }
            let pred = argmax(p);
            cm[t][pred] += 1;
            let c = f64::from(p[pred]);
            confidence += if c.is_finite() { c } else { 0.0 };
            n += 1;
        }
        let total = n as f64;
        let row = |i: usize| cm[i].iter().sum::<u64>() as f64;
        let col = |j: usize| cm.iter().map(|r| r[j]).sum::<u64>() as f64;
        let correct: u64 = (0..k).map(|i| cm[i][i]).sum();
        let accuracy = ratio(correct as f64, total);

        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|i| {
                let tp = cm[i][i] as f64;
                let precision = ratio(tp, col(i));
                let recall = ratio(tp, row(i));
                ClassMetrics {
                    precision,
                    recall,
                    f1: ratio(2.0 * precision * recall, precision + recall),
                    support: cm[i].iter().sum(),
                }
            })
            .collect();
        let weighted = |f: fn(&ClassMetrics) -> f64| {
            ratio(
                per_class.iter().map(|m| f(m) * m.support as f64).sum(),
                total,
            )
        };

        let expected = ratio((0..k).map(|i| row(i) * col(i)).sum::<f64>(), total * total);
        let cohen_kappa = if n == 0 {
            0.0
        } else if (1.0 - expected).abs() < 1e-12 {
            // Everything in one class on both sides: kappa is undefined.
            if accuracy >= 1.0 { 1.0 } else { 0.0 }
        } else {
            (accuracy - expected) / (1.0 - expected)
        };

        Self {
            accuracy,
            weighted_precision: weighted(|m| m.precision),
            weighted_recall: weighted(|m| m.recall),
            weighted_f1: weighted(|m| m.f1),
            per_class,
            confusion_matrix: cm,
            cohen_kappa,
            mean_confidence: ratio(confidence, total),
            n,
        }
    }
}

/// Regressor figures over a set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RegressionMetrics {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination (1 − SSres/SStot; for a constant truth, 1 if the
    /// prediction is exact and 0 otherwise).
    pub r2: f64,
    /// Number of pairs evaluated.
    pub n: u64,
}

impl RegressionMetrics {
    /// Figures for `y_true` against `y_pred`; pairs beyond the shorter input and pairs with a
    /// non-finite value are skipped.
    pub fn compute(y_true: &[f32], y_pred: &[f32]) -> Self {
        let pairs: Vec<(f64, f64)> = y_true
            .iter()
            .zip(y_pred)
            .filter(|(t, p)| t.is_finite() && p.is_finite())
            .map(|(&t, &p)| (f64::from(t), f64::from(p)))
            .collect();
        let n = pairs.len();
        if n == 0 {
            return Self {
                mae: 0.0,
                rmse: 0.0,
                r2: 0.0,
                n: 0,
            };
        }
        let count = n as f64;
        let mae = pairs.iter().map(|(t, p)| (t - p).abs()).sum::<f64>() / count;
        let ss_res: f64 = pairs.iter().map(|(t, p)| (t - p) * (t - p)).sum();
        let mean = pairs.iter().map(|(t, _)| t).sum::<f64>() / count;
        let ss_tot: f64 = pairs.iter().map(|(t, _)| (t - mean) * (t - mean)).sum();
        let r2 = if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
        Self {
            mae,
            rmse: (ss_res / count).sqrt(),
            r2,
            n: n as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probability row that predicts `class` with probability `p`.
    fn onehot(class: usize, p: f32) -> [f32; 4] {
        let mut row = [(1.0 - p) / 3.0; 4];
        row[class] = p;
        row
    }

    #[test]
    fn metrics_match_hand_computed_confusion_matrix() {
        // true: 0 0 0 1 1 2 2 3 ; pred: 0 0 1 1 2 2 2 0
        let y = [0, 0, 0, 1, 1, 2, 2, 3];
        let pred = [0, 0, 1, 1, 2, 2, 2, 0];
        let proba: Vec<[f32; 4]> = pred.iter().map(|&c| onehot(c, 0.5)).collect();
        let m = ClassificationMetrics::compute(&y, &proba);
        assert_eq!(m.n, 8);
        assert_eq!(
            m.confusion_matrix,
            vec![
                vec![2, 1, 0, 0],
                vec![0, 1, 1, 0],
                vec![0, 0, 2, 0],
                vec![1, 0, 0, 0],
            ]
        );
        assert!((m.accuracy - 5.0 / 8.0).abs() < 1e-12);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // Class 0: tp 2, predicted 3, support 3.
        assert!(close(m.per_class[0].precision, 2.0 / 3.0));
        assert!(close(m.per_class[0].recall, 2.0 / 3.0));
        assert!(close(m.per_class[0].f1, 2.0 / 3.0));
        // Class 1: tp 1, predicted 2, support 2.
        assert!(close(m.per_class[1].precision, 0.5));
        assert!(close(m.per_class[1].recall, 0.5));
        // Class 2: tp 2, predicted 3, support 2.
        assert!(close(m.per_class[2].precision, 2.0 / 3.0));
        assert!(close(m.per_class[2].recall, 1.0));
        assert!(close(m.per_class[2].f1, 0.8));
        // Class 3: never predicted correctly.
        assert_eq!(m.per_class[3].precision, 0.0);
        assert_eq!(m.per_class[3].f1, 0.0);
        assert_eq!(m.per_class[3].support, 1);
        // Weighted by supports 3, 2, 2, 1.
        assert!(close(
            m.weighted_recall,
            (3.0 * 2.0 / 3.0 + 2.0 * 0.5 + 2.0 * 1.0) / 8.0
        ));
        assert!(close(
            m.weighted_f1,
            (3.0 * 2.0 / 3.0 + 2.0 * 0.5 + 2.0 * 0.8) / 8.0
        ));
        // pe = (3*3 + 2*2 + 2*3 + 1*0) / 64 = 19/64; kappa = (40/64 - 19/64) / (45/64).
        assert!(close(m.cohen_kappa, 21.0 / 45.0));
        assert!((m.mean_confidence - 0.5).abs() < 1e-7);
    }

    #[test]
    fn kappa_is_zero_for_chance_agreement() {
        // Prediction independent of truth: each true class split evenly over two predictions.
        let y = [0, 0, 1, 1, 0, 0, 1, 1];
        let pred = [0, 1, 0, 1, 0, 1, 0, 1];
        let proba: Vec<[f32; 4]> = pred.iter().map(|&c| onehot(c, 0.7)).collect();
        let m = ClassificationMetrics::compute(&y, &proba);
        assert!((m.accuracy - 0.5).abs() < 1e-12);
        assert!(m.cohen_kappa.abs() < 1e-12);
    }

    #[test]
    fn perfect_classification_has_kappa_one_and_skips_bad_labels() {
        let y = [0, 1, 2, 3, 7, -1];
        let proba: Vec<[f32; 4]> = [0, 1, 2, 3, 0, 0].iter().map(|&c| onehot(c, 0.9)).collect();
        let m = ClassificationMetrics::compute(&y, &proba);
        assert_eq!(m.n, 4);
        assert_eq!(m.accuracy, 1.0);
        assert!((m.cohen_kappa - 1.0).abs() < 1e-12);
        assert_eq!(m.weighted_f1, 1.0);
        let empty = ClassificationMetrics::compute::<4>(&[], &[]);
        assert_eq!((empty.n, empty.accuracy, empty.cohen_kappa), (0, 0.0, 0.0));
        assert!(serde_json::to_string(&empty).is_ok());
    }

    #[test]
    fn regression_metrics_of_perfect_prediction() {
        let y = [0.1, 0.5, 0.9];
        let m = RegressionMetrics::compute(&y, &y);
        assert_eq!((m.mae, m.rmse, m.r2, m.n), (0.0, 0.0, 1.0, 3));
    }

    #[test]
    fn regression_metrics_match_hand_computation() {
        // errors: 1, -1, 2 ; truth mean 2, ss_tot = 2.
        let m = RegressionMetrics::compute(&[1.0, 2.0, 3.0], &[0.0, 3.0, 1.0]);
        assert!((m.mae - 4.0 / 3.0).abs() < 1e-12);
        assert!((m.rmse - 2.0f64.sqrt()).abs() < 1e-12);
        assert!((m.r2 - (1.0 - 6.0 / 2.0)).abs() < 1e-12);
        // Constant truth: 1 when exact, 0 otherwise; no NaN.
        assert_eq!(RegressionMetrics::compute(&[2.0, 2.0], &[2.0, 2.0]).r2, 1.0);
        assert_eq!(RegressionMetrics::compute(&[2.0, 2.0], &[1.0, 2.0]).r2, 0.0);
        assert_eq!(RegressionMetrics::compute(&[], &[]).n, 0);
    }
}
