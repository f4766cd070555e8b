//! The self-contained HTML export of a run's report: headline, the evaluation beside its
//! baselines, the charts inlined, steps and settings, with no outside references.

use std::path::PathBuf;

use base64::Engine as _;

use super::{Headline, HistoryError, ReportView, interval, load_report};
use crate::atomic_file;
use crate::maps::ReportMap;
use crate::pipeline::WorkDir;

/// "Is it good enough?": each model's figure with its interval beside its baselines, and the
/// gate's decision.
fn render_evaluation(h: &Headline) -> String {
    let e = escape_html;
    let mut html = String::new();
    if h.cnn_evaluation.is_none() && h.lstm_evaluation.is_none() && h.gate.is_none() {
        return html;
    }
    html.push_str(
        "<section class=\"evaluation\"><h2>Is the model good enough? (95 % intervals)</h2>",
    );
    if let Some(c) = &h.cnn_evaluation {
        html.push_str(&format!(
            "<p>CNN macro-F1 {} · accuracy {} · kappa {}</p><ul>",
            interval(c.get("macro_f1")),
            interval(c.get("accuracy")),
            interval(c.get("cohen_kappa"))
        ));
        for (name, f) in c["baselines"].as_object().into_iter().flatten() {
            html.push_str(&format!(
                "<li>baseline {}: macro-F1 {} · accuracy {}</li>",
                e(&name.replace('_', " ")),
                interval(f.get("macro_f1")),
                interval(f.get("accuracy"))
            ));
        }
        html.push_str("</ul>");
        if let Some(note) = c["labels"]["note"].as_str() {
            html.push_str(&format!("<p class=\"note\">{}</p>", e(note)));
        }
    }
    if let Some(l) = &h.lstm_evaluation {
        html.push_str(&format!(
            "<p>LSTM MAE {} · skill vs persistence {}</p><ul>",
            interval(l.get("mae")),
            interval(l.get("skill_vs_persistence"))
        ));
        for (name, f) in l["baselines"].as_object().into_iter().flatten() {
            html.push_str(&format!(
                "<li>baseline {}: MAE {}</li>",
                e(&name.replace('_', " ")),
                interval(f.get("mae"))
            ));
        }
        html.push_str("</ul>");
    }
    if let Some(g) = &h.gate {
        html.push_str(&format!(
            "<p class=\"gate\"><b>Models {}</b>: {}</p>",
            if g["enable"] == true {
                "switched on"
            } else {
                "held back"
            },
            e(g["reason"].as_str().unwrap_or(""))
        ));
    }
    html.push_str("</section>");
    html
}

/// Writes `reports/report_<run id>.html`: headline, charts (inline), steps and settings, with
/// no outside references, and returns its path.
pub fn export_html(workdir: &WorkDir, report_file: &str) -> Result<PathBuf, HistoryError> {
    let view = load_report(workdir, report_file)?;
    let html = render_html(&view);
    let path = workdir.reports().join(format!(
        "report_{}.html",
        safe_file_part(&view.summary.run_id)
    ));
    atomic_file::write(&path, html.as_bytes()).map_err(|source| HistoryError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

fn safe_file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// The latest date's health and forecast maps with their legends, and the fields table.
fn render_map(map: &ReportMap) -> String {
    let e = escape_html;
    let mut html = format!(
        "<h2>Map of {}{}</h2>",
        e(&map.date),
        if map.simulated {
            " (simulated data)"
        } else {
            ""
        }
    );
    html.push_str("<section class=\"cards\">");
    for layer in &map.layers {
        // The PNG comes from the engine as a data URL; only its base64 payload is kept.
        let data = layer
            .png
            .strip_prefix("data:image/png;base64,")
            .unwrap_or_default();
        let legend: Vec<String> = layer
            .legend
            .iter()
            .map(|l| {
                format!(
                    "<span class=\"swatch\" style=\"background:{}\"></span>{}",
                    e(&l.colour),
                    e(&l.label)
                )
            })
            .collect();
        html.push_str(&format!(
            "<figure><img class=\"map\" alt=\"{}\" src=\"data:image/png;base64,{data}\"><figcaption>{} · {}</figcaption></figure>",
            e(&layer.title),
            e(&layer.title),
            legend.join(" ")
        ));
    }
    html.push_str("</section>");
    for note in &map.notes {
        html.push_str(&format!("<p class=\"note\">{}</p>", e(note)));
    }
    if map.fields.is_empty() {
        return html;
    }
    html.push_str("<h3>Fields, neediest first</h3><table><tr><th>Field</th><th>Area (ha)</th><th>Clear</th><th>NDVI mean ± sd</th><th>Predicted health</th><th>Forecast (change)</th></tr>");
    for f in &map.fields {
        let s = &f.stats;
        let shares: Vec<String> = s
            .class_shares
            .iter()
            .zip(&map.class_names)
            .filter(|(share, _)| **share > 0.0)
            .map(|(share, name)| format!("{} {:.0} %", e(name), share * 100.0))
            .collect();
        let forecast = f.next.as_ref().map_or("—".to_string(), |n| {
            format!("{:.3} ({})", n.value, fmt_opt(n.change, 3))
        });
        html.push_str(&format!(
            "<tr><td>{}</td><td>{:.2}</td><td>{:.0} %</td><td>{} ± {}</td><td>{}</td><td>{}</td></tr>",
            e(&f.name),
            f.area_ha,
            s.clear_fraction * 100.0,
            fmt_opt(s.ndvi_mean, 3),
            fmt_opt(s.ndvi_std, 3),
            shares.join(" · "),
            forecast
        ));
    }
    html.push_str("</table>");
    html
}

fn render_html(view: &ReportView) -> String {
    let s = &view.summary;
    let e = escape_html;
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>AgriFlux run {}</h1><p class=\"meta\">{} · status <b>{}</b> · {:.0} s · source {}{}</p>",
        e(&s.run_id),
        e(&s.started_at),
        s.status.as_str(),
        s.duration_s,
        e(&s.source),
        if s.simulated {
            " <span class=\"badge\">Simulated data</span>"
        } else {
            ""
        }
    ));
    body.push_str("<section class=\"cards\">");
    if let Some(c) = &view.headline.cnn {
        body.push_str(&format!(
            "<div class=\"card\"><h2>CNN (test split)</h2><p>accuracy {:.3} · kappa {}</p><p>synthetic-trained {} · {} points ({} % relative)</p></div>",
            c.accuracy,
            fmt_opt(c.kappa, 3),
            fmt_opt(c.synthetic_accuracy, 3),
            fmt_opt(c.improvement_points, 1),
            fmt_opt(c.improvement_relative_pct, 1),
        ));
    }
    if let Some(l) = &view.headline.lstm {
        body.push_str(&format!(
            "<div class=\"card\"><h2>LSTM (test split)</h2><p>MAE {:.4} · R² {}</p><p>persistence MAE {} · synthetic-trained MAE {}</p></div>",
            l.mae,
            fmt_opt(l.r2, 3),
            fmt_opt(l.persistence_mae, 4),
            fmt_opt(l.synthetic_mae, 4),
        ));
    }
    body.push_str("</section>");
    body.push_str(&render_evaluation(&view.headline));
    if let Some(note) = &view.charts_note {
        body.push_str(&format!("<p class=\"note\">{}</p>", e(note)));
    }
    for chart in &view.charts {
        // As an image, the SVG can carry no script into the page.
        let data = base64::engine::general_purpose::STANDARD.encode(chart.svg.as_bytes());
        body.push_str(&format!(
            "<figure><img alt=\"{}\" src=\"data:image/svg+xml;base64,{data}\"><figcaption>{}</figcaption></figure>",
            e(&chart.title),
            e(&chart.title)
        ));
    }
    if let Some(map) = &view.map {
        body.push_str(&render_map(map));
    }
    body.push_str("<h2>Steps</h2><table><tr><th>#</th><th>Step</th><th>Status</th><th>Seconds</th><th>Error</th></tr>");
    for step in &view.steps {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            step.number,
            e(&step.name),
            step.status.as_str(),
            fmt_opt(step.duration_s, 1),
            e(step.error.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("</table><h2>Settings</h2><table>");
    if let Some(settings) = view.settings.as_object() {
        for (key, value) in settings {
            body.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                e(key),
                e(&value.to_string())
            ));
        }
    }
    body.push_str("</table>");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AgriFlux run {}</title><style>{}</style></head><body>{body}</body></html>\n",
        e(&s.run_id),
        HTML_STYLE
    )
}

const HTML_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1d2428}\
h1{font-size:1.6rem}.meta{color:#555}.badge{background:#f5c66b;color:#3d2b00;padding:.1rem .5rem;border-radius:.5rem}\
.cards{display:flex;gap:1rem}.card{border:1px solid #ccd;border-radius:.5rem;padding:.5rem 1rem;flex:1}\
figure{margin:1.5rem 0}img{max-width:100%}table{border-collapse:collapse;font-variant-numeric:tabular-nums}\
td,th{border-bottom:1px solid #dde;padding:.25rem .6rem;text-align:left;vertical-align:top}.note{color:#8a5a00}\
img.map{image-rendering:pixelated;width:420px;border:1px solid #ccd}.swatch{display:inline-block;width:.8em;height:.8em;border:1px solid #999;margin:0 .2em 0 .6em}";
