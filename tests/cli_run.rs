//! End-to-end: one tiny run of the real `agriflux` binary on the simulated source, checked from
//! every side a user or another tool sees it (console, report, files, `.env`, GDAL, numpy).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use agriflux_core::datasets::Split;
use agriflux_core::datasets::npy::read_npy;
use agriflux_core::datasets::patches::{PATCH, load_patch_set};
use agriflux_core::ml::{CnnClassifier, LstmRegressor};
use agriflux_tests::{TINY, agriflux, have, latest_report, read_json, run_tiny, text};
use serde_json::Value;

/// A `.env` with everything a hand-edited file has: comments, blank lines, `export`, both
/// quote styles, unknown keys, an inline comment, and no newline at the end.
const MESSY_ENV: &str = "# AgriFlux settings (hand-edited)\n\nexport OTHER_TOOL_URL=\"https://example.org/x?a=1\"  # keep\nSOME_UNKNOWN_KEY='single quoted'\n   INDENTED=1\nUSE_AI_MODELS=false # flipped by the pipeline\n\n# end";

struct SharedRun {
    dir: PathBuf,
    out: Output,
}

fn shared_run() -> &'static SharedRun {
    static RUN: OnceLock<SharedRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        std::fs::write(dir.join(".env"), MESSY_ENV).unwrap();
        let out = run_tiny(&dir, &[]);
        SharedRun { dir, out }
    })
}

fn succeeded() -> &'static Path {
    let run = shared_run();
    assert_eq!(run.out.status.code(), Some(0), "{}", text(&run.out));
    &run.dir
}

#[test]
fn full_run_succeeds_and_prints_the_summary() {
    succeeded();
    let stdout = String::from_utf8_lossy(&shared_run().out.stdout);
    for needle in [
        "Data source: SIMULATED",
        "Step 1/8: Download Real Satellite Data",
        // Simulated data never switches the models on: step 8 ends skipped, saying why.
        "⊘ Step 8 skipped: Update Configuration: held back: the models were trained on simulated data",
        "PIPELINE EXECUTION SUMMARY",
        "Completed: 7",
        "Skipped: 1",
        "CNN Accuracy:",
        "macro-F1",
        "majority class:",
        "ndvi rule centre:",
        "persistence:",
        "linear trend:",
        "labels derived from NDVI: the CNN learns the NDVI rule",
        "Model gate (gated): held back",
        "AI models NOT switched on",
        "CNN Improvement:",
        "✅ PIPELINE COMPLETED SUCCESSFULLY!",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn report_has_the_seed_schema_and_only_this_runs_figures() {
    let dir = succeeded();
    let report = latest_report(dir);
    for key in [
        "pipeline_name",
        "start_time",
        "end_time",
        "total_duration_seconds",
        "overall_status",
        "summary_statistics",
        "steps",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(
        report["pipeline_name"],
        "Real Satellite Data Integration Pipeline"
    );
    assert_eq!(report["overall_status"], "success");
    assert_eq!(report["simulated_data"], true);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 8);
    assert_eq!(
        steps[7]["status"], "skipped",
        "the gate holds simulated models back"
    );
    for step in steps {
        for key in [
            "step_number",
            "name",
            "description",
            "status",
            "start_time",
            "end_time",
            "duration_seconds",
            "error_message",
            "output_summary",
        ] {
            assert!(step.get(key).is_some(), "step lacks {key}: {step}");
        }
        if step["step_number"] != 8 {
            assert_eq!(step["status"], "success", "{step}");
        }
    }
    let summary = &report["summary_statistics"];
    assert_eq!(summary["total_steps"], 8);
    assert_eq!(summary["completed_steps"], 7);
    assert_eq!(summary["skipped_steps"], 1);
    assert_eq!(summary["step_durations"].as_object().unwrap().len(), 8);

    // Every headline figure has its interval, the baselines and the split sizes beside it.
    let cnn_eval = &summary["cnn_evaluation"];
    for key in ["accuracy", "macro_f1", "cohen_kappa"] {
        let e = &cnn_eval[key];
        let (v, lo, hi) = (
            e["value"].as_f64().unwrap(),
            e["ci_low"].as_f64().unwrap(),
            e["ci_high"].as_f64().unwrap(),
        );
        assert!(lo <= v && v <= hi, "{key}: {e}");
    }
    for b in [
        "majority_class",
        "stratified_random",
        "ndvi_rule_centre",
        "ndvi_rule_mean",
    ] {
        assert!(
            cnn_eval["baselines"][b]["macro_f1"]["value"].is_f64(),
            "{b}"
        );
    }
    assert_eq!(cnn_eval["support"].as_array().unwrap().len(), 4);
    for split in ["train", "val", "test"] {
        assert!(cnn_eval["split_sizes"][split]["patches"].as_u64().unwrap() > 0);
        assert!(
            summary["lstm_evaluation"]["split_sizes"][split]["sequences"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
    // Without --labels the labels come from NDVI: the rule on the centre pixel reproduces
    // them exactly, and the report says so.
    assert_eq!(cnn_eval["labels"]["from_ndvi"], true);
    assert_eq!(
        cnn_eval["baselines"]["ndvi_rule_centre"]["accuracy"]["value"],
        1.0
    );
    let lstm_eval = &summary["lstm_evaluation"];
    for b in ["persistence", "linear_trend"] {
        assert!(lstm_eval["baselines"][b]["mae"]["ci_high"].is_f64(), "{b}");
    }
    assert!(lstm_eval["skill_vs_persistence"]["value"].is_f64());
    assert_eq!(summary["model_gate"]["enable"], false);
    assert!(
        summary["model_gate"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("held back"),
        "{}",
        summary["model_gate"]
    );

    // The figures are those of the metrics files this run wrote.
    let cnn = read_json(&dir.join("models/cnn_real_metrics.json"));
    let acc = cnn["metrics"]["accuracy"].as_f64().unwrap();
    assert!((summary["cnn_accuracy"].as_f64().unwrap() - acc).abs() < 1e-4);
    let lstm = read_json(&dir.join("models/lstm_real_metrics.json"));
    let mae = lstm["metrics"]["mae"].as_f64().unwrap();
    assert!((summary["lstm_metrics"]["mae"].as_f64().unwrap() - mae).abs() < 1e-4);
    let comparison = read_json(&dir.join("reports/model_comparison_report.json"));
    let real = comparison["cnn_comparison"]["real_trained"]["accuracy"]
        .as_f64()
        .unwrap();
    let syn = comparison["cnn_comparison"]["synthetic_trained"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(
        (real - acc).abs() < 1e-9,
        "comparison re-evaluates the saved model on the same test split"
    );
    let pp = summary["model_comparison"]["cnn_accuracy_improvement_pp"]
        .as_f64()
        .unwrap();
    assert!((pp - (real - syn) * 100.0).abs() < 1e-3);
    assert!(comparison["lstm_comparison"]["persistence_baseline"]["mae"].is_f64());
    assert_eq!(comparison["simulated_data"], true);
}

#[test]
fn simulated_models_are_held_back_and_env_is_untouched() {
    let dir = succeeded();
    let after = std::fs::read_to_string(dir.join(".env")).unwrap();
    assert_eq!(after, MESSY_ENV);
}

#[test]
fn enable_models_always_overrides_the_gate_keeping_every_env_byte() {
    let first = succeeded();
    // Reuse the shared run's outputs: only step 8 runs again, with the override.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(first, dir.path());
    let out = run_tiny(dir.path(), &["--enable-models", "always"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    let expected = MESSY_ENV.replace(
        "USE_AI_MODELS=false # flipped",
        "USE_AI_MODELS=true # flipped",
    );
    assert_eq!(after, expected);
    let report = latest_report(dir.path());
    let gate = &report["summary_statistics"]["model_gate"];
    assert_eq!(gate["enable"], true);
    assert_eq!(gate["forced"], true, "the override is recorded: {gate}");
    assert_eq!(report["steps"][7]["status"], "success");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn writes_charts_event_log_and_orchestration_log() {
    let dir = succeeded();
    for chart in [
        "cnn_metrics",
        "cnn_confusion",
        "cnn_per_class_f1",
        "cnn_training_loss",
        "lstm_training_loss",
        "lstm_predicted_vs_actual",
    ] {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("reports/{chart}.{ext}"));
            assert!(
                std::fs::metadata(&path)
                    .map(|m| m.len() > 500)
                    .unwrap_or(false),
                "{} missing or empty",
                path.display()
            );
        }
    }
    let svg = std::fs::read_to_string(dir.join("reports/cnn_metrics.svg")).unwrap();
    assert!(
        svg.contains("simulated data"),
        "charts of simulated runs say so"
    );
    let log = std::fs::read_to_string(dir.join("logs/pipeline_orchestration.log")).unwrap();
    assert!(log.contains("run finished"), "{log}");
    let run_id = latest_report(dir)["run_id"].as_str().unwrap().to_string();
    let events =
        std::fs::read_to_string(dir.join(format!("logs/runs/{run_id}/events.jsonl"))).unwrap();
    let events: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["type"], "run_started");
    assert_eq!(events.last().unwrap()["type"], "run_finished");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "step_metric" && e["series"] == "real/val_loss")
    );
}

#[test]
fn scenes_are_georeferenced_geotiffs_that_gdal_reads() {
    let dir = succeeded();
    if !have("gdalinfo", &["--version"]) {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "gdalinfo is missing but CI=true: install gdal-bin"
        );
        println!("skipped: gdalinfo not installed (CI installs gdal-bin)");
        return;
    }
    // One folder per date (beside them, the simulated source's hidden truth).
    let scenes: Vec<PathBuf> = std::fs::read_dir(dir.join("data/scenes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(scenes.len(), 14);
    for scene in &scenes {
        let meta = read_json(&scene.join("metadata.json"));
        assert_eq!(meta["source"], "simulated");
        for (file, bands, dtype) in [
            ("bands.tif", 4, "Float32"),
            ("scl.tif", 2, "Byte"),
            ("indices.tif", 4, "Float32"),
        ] {
            let out = Command::new("gdalinfo")
                .arg("-json")
                .arg(scene.join(file))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "gdalinfo {}: {}",
                file,
                String::from_utf8_lossy(&out.stderr)
            );
            let info: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                info["size"],
                serde_json::json!([meta["width"], meta["height"]]),
                "{file}"
            );
            assert_eq!(info["bands"].as_array().unwrap().len(), bands, "{file}");
            assert_eq!(info["bands"][0]["type"], dtype, "{file}");
            let wkt = info["coordinateSystem"]["wkt"].as_str().unwrap_or_default();
            assert!(wkt.contains("4326"), "{file}: {wkt}");
            let gt: Vec<f64> = info["geoTransform"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert!(
                (gt[0] - 75.80).abs() < 1e-9 && (gt[3] - 30.918).abs() < 1e-9,
                "{file}: {gt:?}"
            );
            let east = gt[0] + gt[1] * meta["width"].as_f64().unwrap();
            let south = gt[3] + gt[5] * meta["height"].as_f64().unwrap();
            assert!(
                (east - 75.827).abs() < 1e-9 && (south - 30.90).abs() < 1e-9,
                "{file}: extent"
            );
        }
        let out = Command::new("gdalinfo")
            .arg(scene.join("bands.tif"))
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        for band in ["B02", "B03", "B04", "B08"] {
            assert!(
                listing.contains(&format!("Description = {band}")),
                "{listing}"
            );
        }
    }
}

#[test]
fn training_arrays_load_in_numpy_with_documented_shapes() {
    let dir = succeeded();
    // Debian's python3-numpy serves /usr/bin/python3; a python3 earlier on PATH may lack numpy.
    let Some(python) = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| have(p, &["-c", "import numpy"]))
    else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "no python3 with numpy but CI=true: install python3-numpy"
        );
        println!("skipped: no python3 with numpy (CI installs python3-numpy)");
        return;
    };
    let script = r#"
import glob, json, os, sys, numpy as np
out = {}
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.npy"))):
    a = np.load(p)
    out[os.path.basename(p)] = [list(a.shape), str(a.dtype), bool(np.isfinite(a).all())]
print(json.dumps(out))
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dir.join("data/training"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arrays: Value = serde_json::from_slice(&out.stdout).unwrap();
    let meta = read_json(&dir.join("data/training/cnn_metadata_real.json"));
    for split in ["train", "val", "test"] {
        let x = &arrays[format!("cnn_X_{split}_real.npy")];
        assert_eq!(x[1], "float32");
        assert_eq!(
            x[0].as_array().unwrap()[1..],
            serde_json::json!([PATCH, PATCH, 4]).as_array().unwrap()[..]
        );
        assert_eq!(x[2], true, "no NaN in CNN inputs");
        let n: u64 = meta["counts"][split]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(x[0][0].as_u64().unwrap(), n);
        assert_eq!(arrays[format!("cnn_y_{split}_real.npy")][1], "int64");
        let l = &arrays[format!("lstm_X_{split}_real.npy")];
        assert_eq!(l[1], "float32");
        assert_eq!(
            l[0].as_array().unwrap()[1..],
            serde_json::json!([5, 2]).as_array().unwrap()[..]
        );
        assert_eq!(arrays[format!("lstm_y_{split}_real.npy")][1], "float32");
    }
    // Balanced training split: samples_per_class for every class present.
    let train_counts = meta["counts"]["train"].as_array().unwrap();
    assert!(
        train_counts
            .iter()
            .all(|c| c.as_u64() == Some(16) || c.as_u64() == Some(0)),
        "{train_counts:?}"
    );
}

#[test]
fn no_patch_or_overlapping_neighbour_appears_in_two_splits() {
    let dir = succeeded().join("data/training");
    let origins: Vec<(Split, Vec<[i64; 3]>)> = Split::ALL
        .iter()
        .map(|s| (*s, load_patch_set(&dir, *s, "real").unwrap().origin))
        .collect();
    for (i, (sa, a)) in origins.iter().enumerate() {
        for (sb, b) in &origins[i + 1..] {
            for pa in a {
                for pb in b {
                    let overlap = (pa[1] - pb[1]).abs() < PATCH as i64
                        && (pa[2] - pb[2]).abs() < PATCH as i64;
                    assert!(!overlap, "{sa:?} patch {pa:?} overlaps {sb:?} patch {pb:?}");
                }
            }
        }
    }
    // LSTM windows are split by time: every train target precedes every val target, and so on.
    let target = |split: &str| -> Vec<i64> {
        let (_, o) = read_npy::<i64>(&dir.join(format!("lstm_origin_{split}_real.npy"))).unwrap();
        o.chunks(2).map(|c| c[1]).collect()
    };
    let (train, val, test) = (target("train"), target("val"), target("test"));
    assert!(
        train.iter().max() < val.iter().min(),
        "train targets before validation"
    );
    assert!(
        val.iter().max() < test.iter().min(),
        "validation targets before test"
    );
}

#[test]
fn reloaded_models_reproduce_their_test_predictions_exactly() {
    let dir = succeeded();
    let test = load_patch_set(&dir.join("data/training"), Split::Test, "real").unwrap();
    let cnn = CnnClassifier::load(&dir.join("models/cnn_real.bpk")).unwrap();
    let proba = cnn.predict_proba(&test.x, test.len()).unwrap();
    let (_, saved) = read_npy::<f32>(&dir.join("models/cnn_real_test_predictions.npy")).unwrap();
    let reloaded: Vec<f32> = proba.iter().flatten().copied().collect();
    assert_eq!(reloaded.len(), saved.len());
    assert!(
        reloaded
            .iter()
            .zip(&saved)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "CNN predictions differ after reload"
    );

    let (shape, x) = read_npy::<f32>(&dir.join("data/training/lstm_X_test_real.npy")).unwrap();
    let lstm = LstmRegressor::load(&dir.join("models/lstm_real.bpk")).unwrap();
    let pred = lstm.predict(&x, shape[0]).unwrap();
    let (_, saved) = read_npy::<f32>(&dir.join("models/lstm_real_test_predictions.npy")).unwrap();
    assert_eq!(pred.len(), saved.len());
    assert!(!saved.is_empty());
    assert!(
        pred.iter()
            .zip(&saved)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "LSTM predictions differ after reload"
    );
}

#[test]
fn same_seed_gives_identical_datasets_and_metrics_and_jsonl_events() {
    let first = succeeded();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(second.path().join(".env"), MESSY_ENV).unwrap();
    let dir = second.path().to_str().unwrap();
    let mut args = vec!["run", "--workdir", dir, "--events", "jsonl"];
    args.extend_from_slice(TINY);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // --events jsonl: every stdout line is one JSON event.
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(lines.first().unwrap()["type"], "run_started");
    assert_eq!(lines.last().unwrap()["type"], "run_finished");

    for entry in std::fs::read_dir(first.join("data/training")).unwrap() {
        let name = entry.unwrap().file_name();
        let a = std::fs::read(first.join("data/training").join(&name)).unwrap();
        let b = std::fs::read(second.path().join("data/training").join(&name)).unwrap();
        assert!(
            a == b,
            "{name:?} differs between two runs with the same seed"
        );
    }
    for metrics in [
        "models/cnn_real_metrics.json",
        "models/lstm_real_metrics.json",
    ] {
        let mut a = read_json(&first.join(metrics));
        let mut b = read_json(&second.path().join(metrics));
        a["model_file"] = Value::Null;
        b["model_file"] = Value::Null;
        assert_eq!(
            a, b,
            "{metrics} differs between two runs with the same seed"
        );
    }
}

#[test]
fn reported_accuracy_is_recomputed_from_the_saved_predictions_and_labels() {
    let dir = succeeded();
    let (shape, proba) =
        read_npy::<f32>(&dir.join("models/cnn_real_test_predictions.npy")).unwrap();
    let (_, labels) = read_npy::<i64>(&dir.join("data/training/cnn_y_test_real.npy")).unwrap();
    assert_eq!(shape, vec![labels.len(), 4]);
    let correct = proba
        .chunks_exact(4)
        .zip(&labels)
        .filter(|(p, y)| {
            let best = (0..4).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            best as i64 == **y
        })
        .count();
    let accuracy = correct as f64 / labels.len() as f64;
    let report = latest_report(dir);
    let summary = &report["summary_statistics"];
    let reported = summary["cnn_evaluation"]["accuracy"]["value"]
        .as_f64()
        .unwrap();
    assert!(
        (reported - accuracy).abs() < 1e-12,
        "{reported} vs {accuracy}"
    );
    assert!((summary["cnn_accuracy"].as_f64().unwrap() - accuracy).abs() < 1e-4);
}
