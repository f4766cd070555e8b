//! The figures that answer "is this model good enough?", shared by steps 5 to 8: each model
//! beside its baselines on the same test samples, with cluster-bootstrap intervals.

use serde_json::{Value, json};

use crate::datasets::Split;
use crate::datasets::patches::{LABELS_FROM_NDVI, PatchMetadata, PatchSet};
use crate::datasets::sequences::{SequenceMetadata, SequenceSet};
use crate::evaluation::baselines::{linear_trend, majority_class, ndvi_rule, stratified_guesses};
use crate::evaluation::{
    ClassificationEvaluation, Clusters, GateEvidence, RegressionEvaluation, cluster_ids,
    evaluate_classifiers, evaluate_regressors,
};

/// The CNN baselines' names in reports.
pub(crate) const CNN_BASELINES: [&str; 4] = [
    "majority_class",
    "stratified_random",
    "ndvi_rule_centre",
    "ndvi_rule_mean",
];
/// The LSTM baselines' names in reports.
pub(crate) const LSTM_BASELINES: [&str; 2] = ["persistence", "linear_trend"];

/// The figures of the `names` baselines among `predictors`, by name.
pub(crate) fn baseline_figures<F: serde::Serialize>(
    predictors: &std::collections::BTreeMap<String, F>,
    names: &[&str],
) -> serde_json::Map<String, Value> {
    names
        .iter()
        .map(|b| (b.to_string(), json!(predictors[*b])))
        .collect()
}

/// A model's headline: its own `figures` (an object) with what every headline carries: the
/// baselines' figures, the best baseline and the gate's evidence, the split sizes, and the
/// bootstrap's confidence and resamples.
pub(crate) fn headline(
    figures: Value,
    baselines: serde_json::Map<String, Value>,
    gate_evidence: &Option<GateEvidence>,
    split_sizes: Value,
    resamples: usize,
) -> Value {
    let mut headline = json!({
        "baselines": baselines,
        "best_baseline": gate_evidence.as_ref().map(|e| e.baseline.clone()),
        "gate_evidence": gate_evidence,
        "split_sizes": split_sizes,
        "confidence": crate::evaluation::CONFIDENCE,
        "resamples": resamples,
    });
    if let (Some(headline), Value::Object(figures)) = (headline.as_object_mut(), figures) {
        headline.extend(figures);
    }
    headline
}

/// A baseline's name in plain words.
pub(crate) fn baseline_words(name: &str) -> &'static str {
    match name {
        "majority_class" => "the majority class",
        "stratified_random" => "random guesses at the training class frequencies",
        "ndvi_rule_centre" => "the NDVI rule (centre pixel)",
        "ndvi_rule_mean" => "the NDVI rule (patch mean)",
        "persistence" => "persistence",
        "linear_trend" => "the linear trend",
        _ => "the baseline",
    }
}

/// The note shown wherever CNN figures are, when the labels are the NDVI rule's.
pub(crate) const NDVI_LABELS_NOTE: &str = "labels derived from NDVI: the CNN learns the NDVI rule";

/// Most probable class of each row.
pub(crate) fn argmax_rows(proba: &[[f32; 4]]) -> Vec<usize> {
    proba
        .iter()
        .map(|p| (0..4).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(0))
        .collect()
}

/// The CNN predictors on `test`: `models` (name, probabilities) and the baselines.
pub(crate) fn evaluate_cnn_models(
    meta: &PatchMetadata,
    test: &PatchSet,
    models: &[(&str, &[[f32; 4]])],
    pairs: &[(&str, &str)],
    seed: u64,
) -> ClassificationEvaluation {
    let train_counts = meta
        .counts_before_balancing
        .get(Split::Train.as_str())
        .copied()
        .unwrap_or([0; 4]);
    let majority = majority_class(&train_counts);
    let n = test.len();
    let model_preds: Vec<(&str, Vec<usize>)> =
        models.iter().map(|(k, p)| (*k, argmax_rows(p))).collect();
    let baselines = [
        vec![majority; n],
        stratified_guesses(&train_counts, n, seed),
        ndvi_rule(&test.x, n, false, majority),
        ndvi_rule(&test.x, n, true, majority),
    ];
    let mut predictors: Vec<(&str, &[usize])> = model_preds
        .iter()
        .map(|(k, p)| (*k, p.as_slice()))
        .collect();
    for (name, p) in CNN_BASELINES.iter().zip(&baselines) {
        predictors.push((*name, p.as_slice()));
    }
    // Clusters: the spatial blocks (all dates of a block move together).
    let block = meta.config.block.max(1) as i64;
    let keys: Vec<(i64, i64)> = test
        .origin
        .iter()
        .map(|o| (o[1] / block, o[2] / block))
        .collect();
    let (ids, count) = cluster_ids(&keys);
    let unit = format!("spatial block of {block} px (all dates)");
    evaluate_classifiers(
        &test.y,
        &Clusters {
            of_sample: &ids,
            count,
            unit: &unit,
        },
        &predictors,
        pairs,
        seed,
    )
}

/// The pairs each CNN `model` is compared on: against every baseline.
pub(crate) fn baseline_pairs<'a>(model: &'a str, baselines: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    baselines.iter().map(|b| (model, *b)).collect()
}

/// The gate's evidence for a CNN: macro-F1 against its best baseline.
pub(crate) fn cnn_gate_evidence(e: &ClassificationEvaluation, model: &str) -> Option<GateEvidence> {
    let best = e.best_of(&CNN_BASELINES)?;
    Some(GateEvidence {
        model: "CNN".into(),
        metric: "macro-F1".into(),
        higher_is_better: true,
        value: e.predictors.get(model)?.macro_f1,
        baseline: baseline_words(best).into(),
        baseline_value: e.predictors[best].macro_f1,
        improvement: e.difference(model, best)?.macro_f1,
        clusters: e.clusters,
    })
}

/// Sizes of every CNN split: patches (as saved, and before balancing for train) and blocks.
pub(crate) fn cnn_split_sizes(meta: &PatchMetadata) -> Value {
    let mut out = serde_json::Map::new();
    for split in Split::ALL {
        let s = split.as_str();
        let counts = meta.counts.get(s).copied().unwrap_or([0; 4]);
        let before = meta
            .counts_before_balancing
            .get(s)
            .copied()
            .unwrap_or([0; 4]);
        out.insert(
            s.into(),
            json!({
                "patches": counts.iter().sum::<usize>(),
                "patches_before_balancing": before.iter().sum::<usize>(),
                "per_class": counts,
                "blocks": meta.blocks.get(s).map_or(0, Vec::len),
                "dates": meta.dates.len(),
            }),
        );
    }
    Value::Object(out)
}

/// Where the CNN's labels come from, with the note shown when they are the NDVI rule's.
pub(crate) fn cnn_labels(meta: &PatchMetadata) -> Value {
    if meta.label_source == LABELS_FROM_NDVI {
        json!({"source": meta.label_source, "from_ndvi": true, "note": NDVI_LABELS_NOTE})
    } else {
        json!({
            "source": meta.label_source,
            "from_ndvi": false,
            "from": meta.labels_from,
            "observations_on_grid": meta.observations_on_grid,
            "observations_used": meta.observations_used,
        })
    }
}

/// The LSTM predictors on `test`: `models` (name, forecasts) and the baselines.
pub(crate) fn evaluate_lstm_models(
    meta: &SequenceMetadata,
    test: &SequenceSet,
    models: &[(&str, &[f32])],
    pairs: &[(&str, &str)],
    seed: u64,
) -> RegressionEvaluation {
    let l = meta.sequence_length;
    let baselines = [test.persistence(l), linear_trend(&test.x, l)];
    let mut predictors: Vec<(&str, &[f32])> = models.to_vec();
    for (name, p) in LSTM_BASELINES.iter().zip(&baselines) {
        predictors.push((*name, p.as_slice()));
    }
    // Spatial clusters of 4 x 4 blocks (128 px, the CNN's block), crossed with target dates.
    let per_row = meta.blocks_per_row.max(1) as i64;
    let space_keys: Vec<(i64, i64)> = test
        .origin
        .iter()
        .map(|o| ((o[0] / per_row) / 4, (o[0] % per_row) / 4))
        .collect();
    let time_keys: Vec<i64> = test.origin.iter().map(|o| o[1]).collect();
    let (space, gs) = cluster_ids(&space_keys);
    let (time, gt) = cluster_ids(&time_keys);
    let unit = format!("{} x {} px area", 4 * meta.block_size, 4 * meta.block_size);
    evaluate_regressors(
        &test.y,
        &Clusters {
            of_sample: &space,
            count: gs,
            unit: &unit,
        },
        &Clusters {
            of_sample: &time,
            count: gt,
            unit: "target date",
        },
        &predictors,
        "persistence",
        pairs,
        seed,
    )
}

/// The gate's evidence for an LSTM: MAE against its best baseline.
pub(crate) fn lstm_gate_evidence(e: &RegressionEvaluation, model: &str) -> Option<GateEvidence> {
    let best = e.best_of(&LSTM_BASELINES)?;
    Some(GateEvidence {
        model: "LSTM".into(),
        metric: "MAE".into(),
        higher_is_better: false,
        value: e.predictors.get(model)?.mae,
        baseline: baseline_words(best).into(),
        baseline_value: e.predictors[best].mae,
        improvement: e.difference(model, best)?.mae_reduction,
        clusters: e.spatial_clusters * e.target_dates,
    })
}

/// Sizes of every LSTM split: sequences and target dates.
pub(crate) fn lstm_split_sizes(meta: &SequenceMetadata) -> Value {
    let mut out = serde_json::Map::new();
    for split in Split::ALL {
        let s = split.as_str();
        let dates = meta.target_dates.get(s).cloned().unwrap_or_default();
        out.insert(
            s.into(),
            json!({
                "sequences": meta.counts.get(s).copied().unwrap_or(0),
                "target_dates": dates.len(),
                "first_target": dates.first().map(|d| d.to_string()),
                "last_target": dates.last().map(|d| d.to_string()),
            }),
        );
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::evaluation::{EnableModels, decide};

    /// The gate's evidence for a "model" and the two label-following baselines on `truth`.
    fn evidence(truth: &[i64], model: &[usize], rule: &[usize]) -> GateEvidence {
        let cluster: Vec<usize> = (0..truth.len()).map(|i| i / 40).collect();
        let majority = vec![0usize; truth.len()];
        let e = evaluate_classifiers(
            truth,
            &Clusters {
                of_sample: &cluster,
                count: truth.len().div_ceil(40),
                unit: "block",
            },
            &[
                ("model", model),
                ("majority_class", majority.as_slice()),
                ("ndvi_rule_centre", rule),
            ],
            &baseline_pairs("model", &["majority_class", "ndvi_rule_centre"]),
            42,
        );
        cnn_gate_evidence(&e, "model").expect("baselines evaluated")
    }

    #[test]
    fn shuffled_labels_hold_the_models_back_and_true_ones_let_them_through() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let labels: Vec<usize> = (0..480).map(|_| rng.random_range(0..4)).collect();
        // The model reproduces the labels; the NDVI rule gets 30 % of them wrong.
        let rule: Vec<usize> = labels
            .iter()
            .map(|c| {
                if rng.random_bool(0.3) {
                    (c + 1) % 4
                } else {
                    *c
                }
            })
            .collect();
        let truth: Vec<i64> = labels.iter().map(|c| *c as i64).collect();
        let real = evidence(&truth, &labels, &rule);
        assert!(decide(false, EnableModels::Gated, vec![real], 1).enable);

        let mut shuffled = truth.clone();
        shuffled.shuffle(&mut rng);
        let noise = evidence(&shuffled, &labels, &rule);
        let d = decide(false, EnableModels::Gated, vec![noise], 1);
        assert!(!d.enable, "{}", d.reason);
        assert!(
            d.reason.starts_with("held back: the CNN's macro-F1"),
            "{}",
            d.reason
        );
    }
}
