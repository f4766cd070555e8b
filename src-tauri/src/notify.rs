//! The desktop notification sent when a run ends while the window is not focused: a run of
//! real size takes hours, and the user is working elsewhere meanwhile.

use agriflux_core::pipeline::{RunReport, StepStatus};
use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime};
use tauri_plugin_notification::NotificationExt as _;

/// What a run-end notification says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunEndNotice {
    /// The headline: how the run ended and the models' verdict.
    pub title: String,
    /// How long it took, and the reason behind the verdict or the failure.
    pub body: String,
}

/// The notice for a finished run, from its report.
pub fn run_end_notice(report: &RunReport) -> RunEndNotice {
    let took = format!("Took {}.", duration_words(report.total_duration_seconds));
    let gate = report.summary_statistics.model_gate.as_ref();
    let gate_reason = gate
        .and_then(|g| g.get("reason"))
        .and_then(|r| r.as_str())
        .map(|r| sentence(&clip(r, 160)));
    match report.overall_status {
        StepStatus::Failed => {
            let failed = report.steps.iter().find(|s| s.status == StepStatus::Failed);
            let what = failed.map_or_else(
                || "A step failed.".to_string(),
                |s| {
                    let cause = s
                        .error_message
                        .as_deref()
                        .and_then(|m| m.lines().next())
                        .map(|m| format!(": {}", clip(m, 160)))
                        .unwrap_or_default();
                    format!("Step {} ({}) failed{cause}.", s.step_number, s.name)
                },
            );
            RunEndNotice {
                title: "AgriFlux run failed".into(),
                body: format!("{took} {what}"),
            }
        }
        StepStatus::Cancelled | StepStatus::Interrupted => RunEndNotice {
            title: "AgriFlux run stopped".into(),
            body: format!("{took} The run was cancelled before it ended."),
        },
        _ => match gate.and_then(|g| g.get("enable")).and_then(|e| e.as_bool()) {
            Some(true) => RunEndNotice {
                title: "AgriFlux run finished: models switched on".into(),
                body: format!("{took} USE_AI_MODELS=true was written to .env."),
            },
            Some(false) => RunEndNotice {
                title: "AgriFlux run finished: models held back".into(),
                body: format!(
                    "{took} {}",
                    gate_reason.unwrap_or_else(|| "The gate held the models back.".into())
                ),
            },
            None => RunEndNotice {
                title: "AgriFlux run finished".into(),
                body: format!("{took} Every step ended without error."),
            },
        },
    }
}

/// Sends the notice of `report` unless the main window has the focus (the user sees the cards
/// then). A notification that cannot be shown (no notification server) is logged, not an error.
pub fn notify_run_end<R: Runtime>(app: &AppHandle<R>, report: &RunReport) {
    if window_focused(app) {
        return;
    }
    let notice = run_end_notice(report);
    #[cfg(feature = "test-hooks")]
    crate::test_hooks::record_notification(app, &notice.title, &notice.body);
    if let Err(e) = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show()
    {
        tracing::warn!("run-end notification not shown: {e}");
    }
}

fn window_focused<R: Runtime>(app: &AppHandle<R>) -> bool {
    #[cfg(feature = "test-hooks")]
    if let Some(focused) = crate::test_hooks::focus_override(app) {
        return focused;
    }
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// "45 s", "3 min 12 s", "1 h 52 min".
fn duration_words(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

/// "held back: …" as a sentence of the notification: "Held back: …".
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(status: &str, gate: serde_json::Value) -> RunReport {
        let steps = json!([{
            "step_number": 5, "id": "train_cnn", "name": "Train CNN", "description": "",
            "status": if status == "failed" { "failed" } else { "success" },
            "start_time": null, "end_time": null, "duration_seconds": null,
            "error_message": "the dataset is empty\nmore detail", "output_summary": {}
        }]);
        serde_json::from_value(json!({
            "pipeline_name": "p", "run_id": "r", "source": "simulated", "simulated_data": true,
            "start_time": "", "end_time": "", "total_duration_seconds": 6725.0,
            "overall_status": status,
            "summary_statistics": {
                "total_steps": 8, "completed_steps": 8, "failed_steps": 0, "skipped_steps": 0,
                "cancelled_steps": 0, "step_durations": {}, "cnn_accuracy": null,
                "lstm_metrics": null, "model_comparison": null, "model_gate": gate
            },
            "settings": {}, "steps": steps
        }))
        .unwrap()
    }

    #[test]
    fn says_how_long_a_run_took_and_why_its_models_were_held_back() {
        let notice = run_end_notice(&report(
            "success",
            json!({"enable": false, "reason": "held back: the scenes were simulated"}),
        ));
        assert_eq!(notice.title, "AgriFlux run finished: models held back");
        assert_eq!(
            notice.body,
            "Took 1 h 52 min. Held back: the scenes were simulated"
        );
    }

    #[test]
    fn names_the_failed_step_and_the_first_line_of_its_error() {
        let notice = run_end_notice(&report("failed", serde_json::Value::Null));
        assert_eq!(notice.title, "AgriFlux run failed");
        assert_eq!(
            notice.body,
            "Took 1 h 52 min. Step 5 (Train CNN) failed: the dataset is empty."
        );
    }

    #[test]
    fn says_when_the_models_were_switched_on() {
        let notice = run_end_notice(&report(
            "success",
            json!({"enable": true, "reason": "passed"}),
        ));
        assert!(notice.title.ends_with("models switched on"));
    }

    #[test]
    fn words_durations_for_people() {
        assert_eq!(duration_words(44.6), "45 s");
        assert_eq!(duration_words(192.0), "3 min 12 s");
        assert_eq!(duration_words(6725.0), "1 h 52 min");
    }
}
