//! The gate before step 8: the AI models are switched on only when the data is real and each
//! model beats its best baseline with the 95 % interval of the difference above zero.

use serde::{Deserialize, Serialize};

use super::Estimate;

/// Whether step 8 asks the gate (`gated`, the default) or switches the models on regardless
/// (`always`, recorded in the report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnableModels {
    /// Only models that earned it.
    #[default]
    Gated,
    /// Whatever their quality and source.
    Always,
}

impl EnableModels {
    /// `gated` or `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gated => "gated",
            Self::Always => "always",
        }
    }

    /// Parses `gated` or `always`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "gated" => Some(Self::Gated),
            "always" => Some(Self::Always),
            _ => None,
        }
    }
}

impl std::fmt::Display for EnableModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fewest independent test units an interval must rest on for the gate to trust it.
pub const MIN_CLUSTERS: usize = 2;

/// One model against its best baseline, as the training step recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateEvidence {
    /// "CNN" or "LSTM".
    pub model: String,
    /// The figure compared, e.g. "macro-F1" or "MAE".
    pub metric: String,
    /// Whether a higher figure is better (macro-F1) or a lower one (MAE).
    pub higher_is_better: bool,
    /// The model's figure with its interval.
    pub value: Estimate,
    /// The best baseline's human name, e.g. "the NDVI rule".
    pub baseline: String,
    /// The best baseline's figure with its interval.
    pub baseline_value: Estimate,
    /// The improvement over the baseline (positive = model better) with its interval.
    pub improvement: Estimate,
    /// Independent units the interval was resampled from (test blocks; for the LSTM, blocks
    /// times target dates). One unit gives no interval at all.
    #[serde(default)]
    pub clusters: usize,
}

impl GateEvidence {
    /// Whether the model beats the baseline beyond the uncertainty of the test.
    pub fn passes(&self) -> bool {
        self.clusters >= MIN_CLUSTERS && self.improvement.above_zero()
    }

    /// "the CNN's macro-F1 0.612 [0.551, 0.667] does not beat the NDVI rule's 0.640".
    pub fn sentence(&self) -> String {
        if self.clusters < MIN_CLUSTERS {
            return format!(
                "the {}'s {} {:.3} cannot be judged against {}'s {:.3}: its test split is {} independent unit(s), at least {MIN_CLUSTERS} are needed for an interval (use a larger area or more dates)",
                self.model,
                self.metric,
                self.value.value,
                self.baseline,
                self.baseline_value.value,
                self.clusters
            );
        }
        let verb = if self.passes() {
            "beats"
        } else {
            "does not beat"
        };
        format!(
            "the {}'s {} {} {verb} {}'s {:.3} (difference {:+.3} [{:+.3}, {:+.3}])",
            self.model,
            self.metric,
            self.value,
            self.baseline,
            self.baseline_value.value,
            self.improvement.value,
            self.improvement.ci_low,
            self.improvement.ci_high
        )
    }
}

/// What step 8 does and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// Whether `USE_AI_MODELS=true` is written.
    pub enable: bool,
    /// Whether `--enable-models always` overrode a gate that held the models back.
    pub forced: bool,
    /// `gated` or `always`.
    pub mode: EnableModels,
    /// The reason in plain words ("held back: …" or "passed: …").
    pub reason: String,
    /// The comparisons the decision rests on.
    pub evidence: Vec<GateEvidence>,
}

/// Decides whether the models are switched on: never for simulated data or a missing
/// comparison, and only when every model passes, unless `mode` is `always`.
pub fn decide(
    simulated: bool,
    mode: EnableModels,
    evidence: Vec<GateEvidence>,
    expected_models: usize,
) -> GateDecision {
    let mut problems = Vec::new();
    if simulated {
        problems.push("the models were trained on simulated data, not real imagery".to_string());
    }
    if evidence.len() < expected_models {
        problems.push(format!(
            "only {} of {expected_models} models have a baseline comparison on record",
            evidence.len()
        ));
    }
    for e in evidence.iter().filter(|e| !e.passes()) {
        problems.push(e.sentence());
    }
    let passed = problems.is_empty();
    let reason = if passed {
        format!(
            "passed: {}",
            evidence
                .iter()
                .map(GateEvidence::sentence)
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else {
        let held = format!("held back: {}", problems.join("; "));
        match mode {
            EnableModels::Gated => held,
            EnableModels::Always => format!("forced by --enable-models always ({held})"),
        }
    };
    GateDecision {
        enable: passed || mode == EnableModels::Always,
        forced: !passed && mode == EnableModels::Always,
        mode,
        reason,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(value: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            value,
            ci_low: low,
            ci_high: high,
        }
    }

    fn cnn(improvement: Estimate) -> GateEvidence {
        GateEvidence {
            model: "CNN".into(),
            metric: "macro-F1".into(),
            higher_is_better: true,
            value: est(0.61, 0.55, 0.67),
            baseline: "the NDVI rule".into(),
            baseline_value: est(0.64, 0.6, 0.7),
            improvement,
            clusters: 6,
        }
    }

    #[test]
    fn holds_back_a_model_whose_improvement_interval_reaches_zero() {
        let d = decide(
            false,
            EnableModels::Gated,
            vec![cnn(est(-0.03, -0.08, 0.02))],
            1,
        );
        assert!(!d.enable);
        assert!(
            d.reason.starts_with("held back: the CNN's macro-F1 0.610 [0.550, 0.670] does not beat the NDVI rule's 0.640"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn holds_back_a_model_judged_on_a_single_test_block() {
        let one_block = GateEvidence {
            clusters: 1,
            ..cnn(est(0.2, 0.2, 0.2))
        };
        let d = decide(false, EnableModels::Gated, vec![one_block], 1);
        assert!(!d.enable);
        assert!(d.reason.contains("1 independent unit"), "{}", d.reason);
    }

    #[test]
    fn holds_back_simulated_data_even_when_the_model_wins() {
        let d = decide(true, EnableModels::Gated, vec![cnn(est(0.2, 0.1, 0.3))], 1);
        assert!(!d.enable);
        assert!(d.reason.contains("simulated"), "{}", d.reason);
    }

    #[test]
    fn always_overrides_and_says_so() {
        let d = decide(true, EnableModels::Always, vec![cnn(est(0.2, 0.1, 0.3))], 1);
        assert!(d.enable && d.forced);
        assert!(d.reason.starts_with("forced"), "{}", d.reason);
    }

    #[test]
    fn passes_real_data_that_beats_its_baseline() {
        let d = decide(false, EnableModels::Gated, vec![cnn(est(0.2, 0.1, 0.3))], 1);
        assert!(d.enable && !d.forced);
    }

    #[test]
    fn a_missing_comparison_holds_back() {
        let d = decide(false, EnableModels::Gated, vec![cnn(est(0.2, 0.1, 0.3))], 2);
        assert!(!d.enable);
    }
}
