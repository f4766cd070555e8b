//! Step 7: train baseline models on SYNTHETIC data (the original's method) and evaluate them
//! and the real-data models on the same real test split; write the comparison report and charts.

use std::path::Path;

use serde_json::{Value, json};

use super::UsesSettings;
use super::cnn_dataset::dataset_error;
use super::evaluate::{
    CNN_BASELINES, LSTM_BASELINES, baseline_pairs, cnn_labels, evaluate_cnn_models,
    evaluate_lstm_models,
};
use super::training::{evaluate_cnn, evaluate_lstm, read_predictions, train_cnn, train_lstm};
use super::{
    REAL, SYNTHETIC, dataset_files, load_usable_scenes, model_files, model_path, round4,
    scene_deps, test_predictions_path,
};
use crate::atomic_file;
use crate::charts::{self, Chart, CurveSeries};
use crate::datasets::patches::{
    PatchConfig, PatchLabels, build_patch_splits, load_patch_metadata, load_patch_set,
    save_patch_splits,
};
use crate::datasets::sequences::{
    build_sequence_splits, load_sequence_metadata, load_sequence_set, save_sequence_splits,
};
use crate::datasets::{CLASS_NAMES, Split};
use crate::ml::{ClassificationMetrics, EpochStats, RegressionMetrics};
use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir,
};
use crate::settings::Settings;
use crate::simulate::synthetic::synthetic_series;

/// The comparison report's file name under `reports/`.
pub const COMPARISON_REPORT: &str = "model_comparison_report.json";

/// Compares real-data models with synthetic-data baselines.
pub struct CompareStep;

fn relative_pct(new: f64, base: f64) -> Value {
    if base.abs() < 1e-12 {
        Value::Null
    } else {
        json!(round4((new - base) / base.abs() * 100.0))
    }
}

/// The training history a real-data training step wrote; empty when there is none (the user's
/// own trainer in `agriflux.toml` need not write one), and the comparison charts then show the
/// synthetic-data curves alone.
fn read_history(
    ctx: &StepContext<'_>,
    models: &Path,
    stem: &str,
) -> Result<Vec<EpochStats>, StepError> {
    let path = models.join(format!("{stem}_history.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ctx.info(format!(
                "no training history for {stem} ({} is missing): its curves are left out of \
                 the comparison charts",
                path.display()
            ));
            return Ok(Vec::new());
        }
        Err(e) => return Err(StepError::failed(format!("{}: {e}", path.display()))),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))?;
    serde_json::from_value(value["history"].clone())
        .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))
}

fn curve(
    label: &str,
    history: &[EpochStats],
    f: impl Fn(&EpochStats) -> Option<f64>,
    best: usize,
    dashed: bool,
) -> CurveSeries {
    CurveSeries {
        label: label.into(),
        points: history
            .iter()
            .filter_map(|s| Some((s.epoch as f64, f(s)?)))
            .collect(),
        best_epoch: (!history.is_empty()).then_some(best),
        dashed,
    }
}

fn best_epoch(history: &[EpochStats]) -> usize {
    history
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
        .map_or(0, |s| s.epoch)
}

impl Step for CompareStep {
    fn id(&self) -> StepId {
        StepId::Compare
    }

    /// Reads the scenes (it makes the synthetic series from them), the real models' test
    /// predictions and training histories, and the real test splits. It trains the synthetic baselines with the same
    /// settings as steps 3 to 6 (patches per class, sequence length, epochs, patience, seed),
    /// so it depends on those directly. Writes the synthetic datasets and models, the
    /// comparison report and the charts under `reports/` (each run's own chart copy under
    /// `logs/runs/<id>/` is a record of that run, not an output).
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        let reports = workdir.reports();
        Some(
            scene_deps(workdir, settings)
                .uses(settings, &["seed", "samples-per-class", "sequence-length"])
                .uses(
                    settings,
                    &["cnn-epochs", "cnn-patience", "lstm-epochs", "lstm-patience"],
                )
                .inputs(["cnn", "lstm"].into_iter().flat_map(|kind| {
                    [
                        test_predictions_path(workdir, kind),
                        workdir.models().join(format!("{kind}_{REAL}_history.json")),
                    ]
                    .map(FileSet::file)
                }))
                .inputs(dataset_files(workdir, "cnn", REAL, &[Split::Test], false))
                .inputs(dataset_files(workdir, "lstm", REAL, &[Split::Test], false))
                .outputs(dataset_files(workdir, "cnn", SYNTHETIC, &Split::ALL, true))
                .outputs(dataset_files(workdir, "lstm", SYNTHETIC, &Split::ALL, true))
                .outputs(model_files(workdir, "cnn", SYNTHETIC, true))
                .outputs(model_files(workdir, "lstm", SYNTHETIC, true))
                .outputs([
                    FileSet::file(reports.join(COMPARISON_REPORT)),
                    FileSet::matching(&reports, "", ".svg"),
                    FileSet::matching(&reports, "", ".png"),
                ]),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let training = ctx.workdir.training();
        let models = ctx.workdir.models();
        let reports = ctx.workdir.reports();
        let seq_len = ctx.settings.sequence_length;
        let simulated = ctx.settings.source == crate::settings::SourceKind::Simulated;
        let suffix = if simulated { " (simulated data)" } else { "" };

        // The real test splits, and the real-data models' predictions on them as steps 5 and
        // 6 wrote them (built-in or the user's own command).
        let cnn_test = load_patch_set(&training, Split::Test, REAL).map_err(dataset_error)?;
        let lstm_test =
            load_sequence_set(&training, Split::Test, REAL, seq_len).map_err(dataset_error)?;
        let cnn_real_proba: Vec<[f32; 4]> = read_predictions(
            &test_predictions_path(ctx.workdir, "cnn"),
            cnn_test.len(),
            4,
        )?
        .chunks_exact(4)
        .map(|row| [row[0], row[1], row[2], row[3]])
        .collect();
        let cnn_real_m = ClassificationMetrics::compute(&cnn_test.y, &cnn_real_proba);
        let lstm_real_pred = read_predictions(
            &test_predictions_path(ctx.workdir, "lstm"),
            lstm_test.len(),
            1,
        )?;
        let lstm_real_m = RegressionMetrics::compute(&lstm_test.y, &lstm_real_pred);

        // Synthetic scenes the original's way: the clearest real scene, perturbed by a
        // seasonal sine, a trend and noise, on the real dates.
        let scenes = load_usable_scenes(ctx)?;
        let base = scenes
            .iter()
            .max_by(|a, b| a.valid_fraction().total_cmp(&b.valid_fraction()))
            .expect("load_usable_scenes returns at least one scene");
        let dates: Vec<_> = scenes.iter().map(|s| s.date).collect();
        ctx.info(format!(
            "synthetic baseline: {} dates generated from the {} scene",
            dates.len(),
            base.date
        ));
        let base_date = base.date;
        let synthetic = synthetic_series(base, &dates, ctx.settings.seed);
        drop(scenes);

        let cfg = PatchConfig::new(ctx.settings.samples_per_class, ctx.settings.seed);
        let cancel = ctx.cancel_token().clone();
        let syn_patches = build_patch_splits(
            &synthetic,
            &cfg,
            &PatchLabels::Ndvi,
            SYNTHETIC,
            "synthetic",
            &cancel,
            |_, _| {},
        )
        .map_err(dataset_error)?;
        save_patch_splits(&training, &syn_patches).map_err(dataset_error)?;
        let syn_sequences =
            build_sequence_splits(&synthetic, seq_len, SYNTHETIC, "synthetic", &cancel)
                .map_err(dataset_error)?;
        save_sequence_splits(&training, &syn_sequences).map_err(dataset_error)?;
        drop(synthetic);

        let cnn_syn = train_cnn(
            ctx,
            SYNTHETIC,
            &syn_patches.train,
            &syn_patches.val,
            &syn_patches.metadata.normalisation,
            &model_path(ctx, "cnn", SYNTHETIC),
        )?;
        let lstm_syn = train_lstm(
            ctx,
            SYNTHETIC,
            &syn_sequences.train,
            &syn_sequences.val,
            &syn_sequences.metadata.normalisation,
            &model_path(ctx, "lstm", SYNTHETIC),
        )?;
        ctx.check_cancel()?;

        // Both pairs on the same REAL test splits.
        let (cnn_syn_proba, cnn_syn_m) = evaluate_cnn(&cnn_syn.model, &cnn_test)?;
        let (lstm_syn_pred, lstm_syn_m) = evaluate_lstm(&lstm_syn.model, &lstm_test)?;
        let persistence_pred = lstm_test.persistence(seq_len);
        let persistence_m = RegressionMetrics::compute(&lstm_test.y, &persistence_pred);

        // Each model beside the baselines, and real vs synthetic, with paired intervals.
        let cnn_meta = load_patch_metadata(&training, REAL).map_err(dataset_error)?;
        let lstm_meta = load_sequence_metadata(&training, REAL).map_err(dataset_error)?;
        let mut cnn_pairs = vec![("real_trained", "synthetic_trained")];
        cnn_pairs.extend(baseline_pairs("real_trained", &CNN_BASELINES));
        cnn_pairs.extend(baseline_pairs("synthetic_trained", &CNN_BASELINES));
        let cnn_eval = evaluate_cnn_models(
            &cnn_meta,
            &cnn_test,
            &[
                ("real_trained", cnn_real_proba.as_slice()),
                ("synthetic_trained", cnn_syn_proba.as_slice()),
            ],
            &cnn_pairs,
            ctx.settings.seed,
        );
        let mut lstm_pairs = vec![("real_trained", "synthetic_trained")];
        lstm_pairs.extend(baseline_pairs("real_trained", &LSTM_BASELINES));
        lstm_pairs.extend(baseline_pairs("synthetic_trained", &LSTM_BASELINES));
        let lstm_eval = evaluate_lstm_models(
            &lstm_meta,
            &lstm_test,
            &[
                ("real_trained", lstm_real_pred.as_slice()),
                ("synthetic_trained", lstm_syn_pred.as_slice()),
            ],
            &lstm_pairs,
            ctx.settings.seed,
        );
        let mut cnn_comparison = cnn_comparison(&cnn_real_m, &cnn_syn_m, cnn_test.len());
        cnn_comparison["evaluation"] = json!(cnn_eval);
        cnn_comparison["labels"] = cnn_labels(&cnn_meta);
        let mut lstm_comparison =
            lstm_comparison(&lstm_real_m, &lstm_syn_m, &persistence_m, lstm_test.len());
        lstm_comparison["evaluation"] = json!(lstm_eval);
        let cnn_diff = cnn_eval.difference("real_trained", "synthetic_trained");
        let lstm_diff = lstm_eval.difference("real_trained", "synthetic_trained");
        ctx.info(format!(
            "real- minus synthetic-trained CNN macro-F1: {}; LSTM MAE reduction: {}",
            cnn_diff.map_or("n/a".into(), |d| d.macro_f1.to_string()),
            lstm_diff.map_or("n/a".into(), |d| d.mae_reduction.to_string()),
        ));
        let figure_rows =
            |names: &[&str], f: &dyn Fn(&str) -> Vec<f64>| -> Vec<(String, Vec<f64>)> {
                names.iter().map(|n| (n.replace('_', " "), f(n))).collect()
            };
        let cnn_names: Vec<&str> = ["real_trained", "synthetic_trained"]
            .into_iter()
            .chain(CNN_BASELINES)
            .collect();
        let cnn_rows = figure_rows(&cnn_names, &|n| {
            let p = &cnn_eval.predictors[n];
            vec![
                p.accuracy.value,
                p.macro_f1.value,
                p.cohen_kappa.value.max(0.0),
            ]
        });
        let lstm_names: Vec<&str> = ["real_trained", "synthetic_trained"]
            .into_iter()
            .chain(LSTM_BASELINES)
            .collect();
        let lstm_rows = figure_rows(&lstm_names, &|n| {
            let p = &lstm_eval.predictors[n];
            vec![p.mae.value, p.rmse.value]
        });
        let lstm_max = lstm_rows
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.15;
        let cnn_series: Vec<(&str, Vec<f64>)> = cnn_rows
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let lstm_series: Vec<(&str, Vec<f64>)> = lstm_rows
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();

        let real_cnn_history = read_history(ctx, &models, "cnn_real")?;
        let real_lstm_history = read_history(ctx, &models, "lstm_real")?;
        let class_names: Vec<&str> = CLASS_NAMES.to_vec();
        let f1 = |m: &ClassificationMetrics| m.per_class.iter().map(|c| c.f1).collect::<Vec<_>>();
        let (real_f1, syn_f1) = (f1(&cnn_real_m), f1(&cnn_syn_m));
        let loss_curves = |real: &[EpochStats], syn: &[EpochStats]| {
            vec![
                curve(
                    "real: train",
                    real,
                    |s| Some(s.train_loss),
                    best_epoch(real),
                    true,
                ),
                curve(
                    "real: validation",
                    real,
                    |s| Some(s.val_loss),
                    best_epoch(real),
                    false,
                ),
                curve(
                    "synthetic: train",
                    syn,
                    |s| Some(s.train_loss),
                    best_epoch(syn),
                    true,
                ),
                curve(
                    "synthetic: validation",
                    syn,
                    |s| Some(s.val_loss),
                    best_epoch(syn),
                    false,
                ),
            ]
        };
        let charts: Vec<Chart> = vec![
            charts::grouped_bars(
                "cnn_vs_baselines",
                &format!(
                    "CNN vs baselines on the real test split (kappa below 0 drawn as 0){suffix}"
                ),
                &["Accuracy", "Macro-F1", "Kappa"],
                &cnn_series,
                (0.0, 1.0),
                "score",
            ),
            charts::grouped_bars(
                "lstm_vs_baselines",
                &format!("LSTM vs baselines on the real test split (lower is better){suffix}"),
                &["MAE", "RMSE"],
                &lstm_series,
                (0.0, lstm_max),
                "NDVI error",
            ),
            charts::metric_bars(
                "cnn_metrics",
                &format!("CNN on the real test split: real- vs synthetic-trained{suffix}"),
                &[
                    ("Accuracy", cnn_real_m.accuracy, cnn_syn_m.accuracy),
                    (
                        "Precision (w)",
                        cnn_real_m.weighted_precision,
                        cnn_syn_m.weighted_precision,
                    ),
                    (
                        "Recall (w)",
                        cnn_real_m.weighted_recall,
                        cnn_syn_m.weighted_recall,
                    ),
                    ("F1 (w)", cnn_real_m.weighted_f1, cnn_syn_m.weighted_f1),
                    ("Kappa", cnn_real_m.cohen_kappa, cnn_syn_m.cohen_kappa),
                ],
                (
                    cnn_real_m.cohen_kappa.min(cnn_syn_m.cohen_kappa).min(0.0),
                    1.0,
                ),
            ),
            charts::confusion_matrices(
                "cnn_confusion",
                &format!("CNN confusion matrices, real test split{suffix}"),
                &class_names,
                ("Real-trained", &cnn_real_m.confusion_matrix),
                ("Synthetic-trained", &cnn_syn_m.confusion_matrix),
            ),
            charts::per_class_f1(
                "cnn_per_class_f1",
                &format!("CNN per-class F1, real test split{suffix}"),
                &class_names,
                &[("Real-trained", &real_f1), ("Synthetic-trained", &syn_f1)],
            ),
            charts::training_curves(
                "cnn_training_loss",
                &format!("CNN training curves (cross-entropy){suffix}"),
                "loss",
                &loss_curves(&real_cnn_history, &cnn_syn.history),
            ),
            charts::training_curves(
                "cnn_training_accuracy",
                &format!("CNN accuracy per epoch{suffix}"),
                "accuracy",
                &[
                    curve(
                        "real: train",
                        &real_cnn_history,
                        |s| s.train_accuracy,
                        best_epoch(&real_cnn_history),
                        true,
                    ),
                    curve(
                        "real: validation",
                        &real_cnn_history,
                        |s| s.val_accuracy,
                        best_epoch(&real_cnn_history),
                        false,
                    ),
                    curve(
                        "synthetic: train",
                        &cnn_syn.history,
                        |s| s.train_accuracy,
                        cnn_syn.best_epoch,
                        true,
                    ),
                    curve(
                        "synthetic: validation",
                        &cnn_syn.history,
                        |s| s.val_accuracy,
                        cnn_syn.best_epoch,
                        false,
                    ),
                ],
            ),
            charts::metric_bars(
                "lstm_metrics",
                &format!("LSTM on the real test split (lower MAE/RMSE is better){suffix}"),
                &[
                    ("MAE", lstm_real_m.mae, lstm_syn_m.mae),
                    ("RMSE", lstm_real_m.rmse, lstm_syn_m.rmse),
                    ("R²", lstm_real_m.r2, lstm_syn_m.r2),
                ],
                (lstm_real_m.r2.min(lstm_syn_m.r2).clamp(-1.0, 0.0), 1.0),
            ),
            charts::training_curves(
                "lstm_training_loss",
                &format!("LSTM training curves (MSE){suffix}"),
                "loss",
                &loss_curves(&real_lstm_history, &lstm_syn.history),
            ),
            charts::predicted_vs_actual(
                "lstm_predicted_vs_actual",
                &format!("LSTM next-date NDVI, real test split{suffix}"),
                &lstm_test.y,
                &[
                    ("Real-trained LSTM", &lstm_real_pred),
                    ("Synthetic-trained LSTM", &lstm_syn_pred),
                    ("Persistence (last value)", &persistence_pred),
                ],
            ),
        ]
        .into_iter()
        .collect::<Result<_, _>>()?;
        let mut chart_files = Vec::new();
        for chart in &charts {
            for path in chart.save(&reports)? {
                chart_files.push(path.display().to_string());
            }
        }
        // `reports/` holds the latest run's charts; this run's own copy (SVG and an index of
        // titles) lets the history show every run with its own figures.
        let run_charts = ctx.workdir.run_dir(ctx.run_id).join("charts");
        let mut index = Vec::new();
        for chart in &charts {
            let path = run_charts.join(format!("{}.svg", chart.name));
            atomic_file::write(&path, chart.svg.as_bytes())
                .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))?;
            index.push(json!({"name": chart.name, "title": chart.title, "file": format!("{}.svg", chart.name)}));
        }
        let index_path = run_charts.join("index.json");
        atomic_file::write_json(&index_path, &index)
            .map_err(|e| StepError::failed(format!("{}: {e}", index_path.display())))?;

        let report_path = reports.join(COMPARISON_REPORT);
        let report = json!({
            "source": ctx.settings.source,
            "simulated_data": simulated,
            "run_id": ctx.run_id,
            "evaluated_on": "real test split (held out; never used for training or early stopping)",
            "synthetic_method": "one base scene (the clearest real date) perturbed by a seasonal sine, a linear trend and Gaussian noise, on the real dates",
            "synthetic_base_date": base_date.to_string(),
            "cnn_comparison": cnn_comparison,
            "lstm_comparison": lstm_comparison,
            "charts": chart_files,
        });
        atomic_file::write_json(&report_path, &report)
            .map_err(|e| StepError::failed(format!("{}: {e}", report_path.display())))?;

        let cnn_syn_vs_baselines: Vec<_> = CNN_BASELINES
            .iter()
            .filter_map(|b| cnn_eval.difference("synthetic_trained", b))
            .collect();
        let lstm_syn_vs_baselines: Vec<_> = LSTM_BASELINES
            .iter()
            .filter_map(|b| lstm_eval.difference("synthetic_trained", b))
            .collect();
        let summary = json!({
            "evaluated_on": "test",
            "cnn_real_accuracy": round4(cnn_real_m.accuracy),
            "cnn_synthetic_accuracy": round4(cnn_syn_m.accuracy),
            "cnn_accuracy_improvement_pp": round4((cnn_real_m.accuracy - cnn_syn_m.accuracy) * 100.0),
            "cnn_accuracy_improvement_relative_pct": relative_pct(cnn_real_m.accuracy, cnn_syn_m.accuracy),
            "lstm_real_mae": round4(lstm_real_m.mae),
            "lstm_synthetic_mae": round4(lstm_syn_m.mae),
            "lstm_persistence_mae": round4(persistence_m.mae),
            "lstm_mae_reduction_relative_pct": lstm_comparison["mae_reduction_relative_pct"].clone(),
            "lstm_real_r2": round4(lstm_real_m.r2),
            "lstm_synthetic_r2": round4(lstm_syn_m.r2),
            "report_path": report_path.display().to_string(),
            "cnn_real_macro_f1": cnn_eval.predictors["real_trained"].macro_f1,
            "cnn_synthetic_macro_f1": cnn_eval.predictors["synthetic_trained"].macro_f1,
            "cnn_real_minus_synthetic": cnn_diff,
            "lstm_real_mae_ci": lstm_eval.predictors["real_trained"].mae,
            "lstm_synthetic_mae_ci": lstm_eval.predictors["synthetic_trained"].mae,
            "lstm_real_vs_synthetic": lstm_diff,
            "cnn_synthetic_vs_baselines": cnn_syn_vs_baselines,
            "lstm_synthetic_vs_baselines": lstm_syn_vs_baselines,
        });
        let mut out = StepOutput::new();
        out.insert("model_comparison".into(), summary);
        out.insert(
            "report_path".into(),
            json!(report_path.display().to_string()),
        );
        out.insert(
            "charts".into(),
            json!(charts.iter().map(|c| c.name.clone()).collect::<Vec<_>>()),
        );
        Ok(out)
    }
}

fn cnn_comparison(real: &ClassificationMetrics, syn: &ClassificationMetrics, n: usize) -> Value {
    json!({
        "evaluated_on": "test",
        "test_patches": n,
        "real_trained": real,
        "synthetic_trained": syn,
        "accuracy_improvement_pp": round4((real.accuracy - syn.accuracy) * 100.0),
        "accuracy_improvement_relative_pct": relative_pct(real.accuracy, syn.accuracy),
        "weighted_f1_improvement_pp": round4((real.weighted_f1 - syn.weighted_f1) * 100.0),
        "weighted_f1_improvement_relative_pct": relative_pct(real.weighted_f1, syn.weighted_f1),
        "kappa_improvement": round4(real.cohen_kappa - syn.cohen_kappa),
        "notes": "pp = percentage points (absolute difference x 100); relative = (real - synthetic) / synthetic x 100",
    })
}

fn lstm_comparison(
    real: &RegressionMetrics,
    syn: &RegressionMetrics,
    persistence: &RegressionMetrics,
    n: usize,
) -> Value {
    json!({
        "evaluated_on": "test",
        "test_sequences": n,
        "real_trained": real,
        "synthetic_trained": syn,
        "persistence_baseline": persistence,
        "mae_reduction_relative_pct": if syn.mae > 0.0 { json!(round4((syn.mae - real.mae) / syn.mae * 100.0)) } else { Value::Null },
        "rmse_reduction_relative_pct": if syn.rmse > 0.0 { json!(round4((syn.rmse - real.rmse) / syn.rmse * 100.0)) } else { Value::Null },
        "r2_improvement": round4(real.r2 - syn.r2),
        "real_vs_persistence_mae_reduction_relative_pct": if persistence.mae > 0.0 { json!(round4((persistence.mae - real.mae) / persistence.mae * 100.0)) } else { Value::Null },
        "notes": "MAE/RMSE in NDVI units; reductions are relative to the synthetic-trained model (positive = real-trained is better)",
    })
}
