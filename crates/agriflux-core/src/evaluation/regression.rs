//! Forecasters (the LSTM and its baselines) on one test split: MAE, RMSE, R² and the skill
//! score 1 − MAE/MAE(persistence), with a two-way cluster bootstrap over spatial clusters and
//! target dates (a resample draws blocks and dates independently and keeps their crossings).

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Clusters, Estimate, resample_counts};

/// MAE, RMSE, R² and skill of one forecaster, each with its interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressorFigures {
    /// Mean absolute error (NDVI units).
    pub mae: Estimate,
    /// Root mean squared error.
    pub rmse: Estimate,
    /// Coefficient of determination.
    pub r2: Estimate,
    /// 1 − MAE / MAE(reference forecaster): above 0 beats the reference.
    pub skill: Estimate,
}

/// Paired differences on the same resamples (positive: `a` is better).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressorDifference {
    /// The better-hoped forecaster.
    pub a: String,
    /// The one it is compared with.
    pub b: String,
    /// MAE of `b` minus MAE of `a`.
    pub mae_reduction: Estimate,
    /// Skill of `a` minus skill of `b`.
    pub skill: Estimate,
}

/// Every forecaster's figures on one test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegressionEvaluation {
    /// Test sequences.
    pub n: usize,
    /// Spatial clusters resampled.
    pub spatial_clusters: usize,
    /// What a spatial cluster is.
    pub spatial_unit: String,
    /// Target dates resampled.
    pub target_dates: usize,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// The forecaster the skill score is relative to.
    pub skill_reference: String,
    /// Figures by forecaster name.
    pub predictors: BTreeMap<String, RegressorFigures>,
    /// Requested paired differences.
    pub differences: Vec<RegressorDifference>,
}

impl RegressionEvaluation {
    /// The difference `a` vs `b`, if it was requested.
    pub fn difference(&self, a: &str, b: &str) -> Option<&RegressorDifference> {
        self.differences.iter().find(|d| d.a == a && d.b == b)
    }

    /// The forecaster among `names` with the lowest MAE on the test split.
    pub fn best_of<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        super::best_by(&self.predictors, names, |f| f.mae.value, false)
    }
}

/// Sufficient statistics of one cell (spatial cluster x date) for one forecaster.
#[derive(Clone, Copy, Default)]
struct Cell {
    n: f64,
    sum_y: f64,
    sum_y2: f64,
    abs: f64,
    sq: f64,
}

impl Cell {
    fn add_weighted(&mut self, o: &Cell, w: f64) {
        self.n += w * o.n;
        self.sum_y += w * o.sum_y;
        self.sum_y2 += w * o.sum_y2;
        self.abs += w * o.abs;
        self.sq += w * o.sq;
    }

    /// (MAE, RMSE, R²).
    fn figures(&self) -> (f64, f64, f64) {
        if self.n == 0.0 {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        let ss_tot = self.sum_y2 - self.sum_y * self.sum_y / self.n;
        let r2 = if ss_tot > 1e-12 {
            1.0 - self.sq / ss_tot
        } else if self.sq < 1e-12 {
            1.0
        } else {
            0.0
        };
        (self.abs / self.n, (self.sq / self.n).sqrt(), r2)
    }
}

/// Evaluates `predictors` (name, forecast per sample) against `truth`, resampling `space` and
/// `time` clusters independently `resamples` times with `seed`; the skill score is relative to
/// the forecaster named `reference`; `pairs` names the differences to report. Samples with a
/// non-finite truth or forecast are left out of that forecaster's figures.
pub fn evaluate_regressors(
    truth: &[f32],
    space: &Clusters<'_>,
    time: &Clusters<'_>,
    predictors: &[(&str, &[f32])],
    reference: &str,
    pairs: &[(&str, &str)],
    seed: u64,
) -> RegressionEvaluation {
    let resamples = super::RESAMPLES;
    let (gs, gt) = (space.count, time.count);
    let mut cells = vec![vec![Cell::default(); gs * gt]; predictors.len()];
    for (i, &y) in truth.iter().enumerate() {
        let c = space.of_sample[i] * gt + time.of_sample[i];
        for (p, (_, pred)) in predictors.iter().enumerate() {
            let (y, f) = (f64::from(y), f64::from(pred[i]));
            if !y.is_finite() || !f.is_finite() {
                continue;
            }
            let cell = &mut cells[p][c];
            cell.n += 1.0;
            cell.sum_y += y;
            cell.sum_y2 += y * y;
            cell.abs += (y - f).abs();
            cell.sq += (y - f) * (y - f);
        }
    }
    let total = |p: usize, ws: Option<(&[u32], &[u32])>| {
        let mut acc = Cell::default();
        for s in 0..gs {
            for t in 0..gt {
                let w = ws.map_or(1.0, |(a, b)| f64::from(a[s]) * f64::from(b[t]));
                if w > 0.0 {
                    acc.add_weighted(&cells[p][s * gt + t], w);
                }
            }
        }
        acc.figures()
    };
    let reference_index = predictors.iter().position(|(n, _)| *n == reference);
    // (mae, rmse, r2, skill) per predictor.
    let with_skill = |figs: Vec<(f64, f64, f64)>| -> Vec<[f64; 4]> {
        let ref_mae = reference_index.map_or(f64::NAN, |r| figs[r].0);
        figs.iter()
            .map(|(mae, rmse, r2)| {
                let skill = if ref_mae > 0.0 {
                    1.0 - mae / ref_mae
                } else {
                    f64::NAN
                };
                [*mae, *rmse, *r2, skill]
            })
            .collect()
    };
    let point = with_skill((0..predictors.len()).map(|p| total(p, None)).collect());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ee5_0a11);
    let mut samples: Vec<Vec<[f64; 4]>> = vec![Vec::with_capacity(resamples); predictors.len()];
    for _ in 0..resamples {
        let a = resample_counts(gs, &mut rng);
        let b = resample_counts(gt, &mut rng);
        let figs = with_skill(
            (0..predictors.len())
                .map(|p| total(p, Some((a.as_slice(), b.as_slice()))))
                .collect(),
        );
        for (p, f) in figs.into_iter().enumerate() {
            samples[p].push(f);
        }
    }
    let estimate = |p: usize, k: usize| {
        let values: Vec<f64> = samples[p].iter().map(|s| s[k]).collect();
        Estimate::from_samples(point[p][k], &values)
    };
    let figures = predictors
        .iter()
        .enumerate()
        .map(|(p, (name, _))| {
            (
                name.to_string(),
                RegressorFigures {
                    mae: estimate(p, 0),
                    rmse: estimate(p, 1),
                    r2: estimate(p, 2),
                    skill: estimate(p, 3),
                },
            )
        })
        .collect();
    let index = |name: &str| predictors.iter().position(|(n, _)| *n == name);
    let differences = pairs
        .iter()
        .filter_map(|(a, b)| {
            let (ia, ib) = (index(a)?, index(b)?);
            let diff = |k: usize, sign: f64| {
                let values: Vec<f64> = samples[ia]
                    .iter()
                    .zip(&samples[ib])
                    .map(|(x, y)| sign * (x[k] - y[k]))
                    .collect();
                Estimate::from_samples(sign * (point[ia][k] - point[ib][k]), &values)
            };
            Some(RegressorDifference {
                a: a.to_string(),
                b: b.to_string(),
                mae_reduction: diff(0, -1.0),
                skill: diff(3, 1.0),
            })
        })
        .collect();
    RegressionEvaluation {
        n: truth.len(),
        spatial_clusters: gs,
        spatial_unit: space.unit.into(),
        target_dates: gt,
        resamples,
        seed,
        skill_reference: reference.into(),
        predictors: figures,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_forecast_has_full_skill_and_beats_persistence() {
        let truth: Vec<f32> = (0..200).map(|i| 0.3 + (i % 17) as f32 * 0.02).collect();
        let persistence: Vec<f32> = truth.iter().map(|y| y - 0.05).collect();
        let space: Vec<usize> = (0..200).map(|i| i % 10).collect();
        let time: Vec<usize> = (0..200).map(|i| i / 50).collect();
        let e = evaluate_regressors(
            &truth,
            &Clusters {
                of_sample: &space,
                count: 10,
                unit: "block",
            },
            &Clusters {
                of_sample: &time,
                count: 4,
                unit: "date",
            },
            &[
                ("model", truth.as_slice()),
                ("persistence", persistence.as_slice()),
            ],
            "persistence",
            &[("model", "persistence")],
            3,
        );
        assert!((e.predictors["model"].skill.value - 1.0).abs() < 1e-9);
        assert!((e.predictors["persistence"].mae.value - 0.05).abs() < 1e-6);
        let d = e.difference("model", "persistence").unwrap();
        assert!(d.mae_reduction.above_zero(), "{:?}", d.mae_reduction);
        assert_eq!(e.best_of(&["persistence", "model"]), Some("model"));
    }
}
