//! Tests of the chart functions: SVG content, saved files, awkward input.

use std::path::Path;

use super::*;

const CLASSES: [&str; 4] = ["healthy", "moderate stress", "severe stress", "bare soil"];

fn bars_chart() -> Chart {
    metric_bars(
        "cnn-metrics",
        "CNN test metrics: real vs synthetic training data",
        &[
            ("accuracy", 0.912, 0.874),
            ("macro F1", 0.884, 0.829),
            ("precision", 0.897, 0.851),
            ("recall", 0.879, 0.822),
            ("Cohen's kappa", 0.861, 0.803),
        ],
        (0.0, 1.0),
    )
    .unwrap()
}

fn confusion(shift: u64) -> Vec<Vec<u64>> {
    vec![
        vec![412, 31 + shift, 6, 3],
        vec![28 + shift, 287, 22, 5],
        vec![4, 19, 198 - shift, 11],
        vec![2, 3, 9 + shift, 241],
    ]
}

fn confusion_chart() -> Chart {
    confusion_matrices(
        "cnn-confusion",
        "CNN confusion matrices on the test split",
        &CLASSES,
        ("trained on real data", &confusion(0)),
        ("trained on synthetic data", &confusion(17)),
    )
    .unwrap()
}

fn f1_chart() -> Chart {
    per_class_f1(
        "cnn-f1-per-class",
        "Per-class F1 on the test split",
        &CLASSES,
        &[
            ("real", &[0.94, 0.86, 0.83, 0.96]),
            ("synthetic", &[0.91, 0.79, 0.74, 0.93]),
        ],
    )
    .unwrap()
}

fn loss(start: f64, floor: f64, epoch: f64, overfit: f64) -> f64 {
    floor + (start - floor) * (-epoch / 6.0).exp() + overfit * (epoch / 30.0).powi(2)
}

fn curve(label: &str, dashed: bool, f: impl Fn(f64) -> f64) -> CurveSeries {
    let points: Vec<(f64, f64)> = (1..=30).map(|e| (f64::from(e), f(f64::from(e)))).collect();
    let best = points
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|p| p.0 as usize);
    CurveSeries {
        label: label.to_string(),
        points,
        best_epoch: if dashed { best } else { None },
        dashed,
    }
}

fn curves_chart() -> Chart {
    training_curves(
        "cnn-loss",
        "CNN training and validation loss",
        "cross-entropy loss",
        &[
            curve("real · train", false, |e| loss(1.35, 0.18, e, 0.0)),
            curve("real · validation", true, |e| loss(1.38, 0.29, e, 0.12)),
            curve("synthetic · train", false, |e| loss(1.30, 0.12, e, 0.0)),
            curve("synthetic · validation", true, |e| {
                loss(1.36, 0.41, e, 0.2)
            }),
        ],
    )
    .unwrap()
}

/// Deterministic pseudo-noise in -1..1.
fn noise(i: usize, salt: u32) -> f32 {
    let x = (i as u32)
        .wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503));
    let x = x ^ (x >> 15);
    (x % 2001) as f32 / 1000.0 - 1.0
}

fn scatter_data() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = 400;
    let actual: Vec<f32> = (0..n)
        .map(|i| 0.45 + 0.3 * ((i as f32) * 0.37).sin() + 0.05 * noise(i, 1))
        .collect();
    let real = actual
        .iter()
        .enumerate()
        .map(|(i, a)| a + 0.04 * noise(i, 2))
        .collect();
    let synthetic = actual
        .iter()
        .enumerate()
        .map(|(i, a)| 0.9 * a + 0.06 + 0.07 * noise(i, 3))
        .collect();
    let persistence = actual
        .iter()
        .enumerate()
        .map(|(i, a)| a + 0.11 * noise(i, 4))
        .collect();
    (actual, real, synthetic, persistence)
}

fn scatter_chart() -> Chart {
    let (actual, real, synthetic, persistence) = scatter_data();
    predicted_vs_actual(
        "lstm-predicted-vs-actual",
        "LSTM next-step NDVI on the test split",
        &actual,
        &[
            ("real-trained", &real),
            ("synthetic-trained", &synthetic),
            ("persistence", &persistence),
        ],
    )
    .unwrap()
}

fn all_charts() -> Vec<Chart> {
    vec![
        bars_chart(),
        confusion_chart(),
        f1_chart(),
        curves_chart(),
        scatter_chart(),
    ]
}

/// Checks the SVG is well formed as far as tags and entities go: every `<` opens a tag,
/// tags nest properly, and every `&` starts an entity.
fn assert_well_formed(svg: &str) {
    assert!(
        svg.starts_with("<svg"),
        "SVG must start with <svg: {}",
        &svg[..40.min(svg.len())]
    );
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert_entities(text);
        let close = rest[open..].find('>').expect("unterminated tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "raw < inside a tag: {tag}");
        assert_entities(tag);
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else if !tag.ends_with('/') {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(!name.is_empty(), "not a tag: <{tag}>");
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

fn assert_entities(s: &str) {
    for (i, _) in s.match_indices('&') {
        let entity = &s[i..s[i..].find(';').map_or(s.len(), |j| i + j + 1)];
        assert!(
            ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"].contains(&entity)
                || entity.starts_with("&#"),
            "bare & in SVG: {entity}"
        );
    }
}

/// Whether the SVG has a `<text>` element reading exactly `s` (plotters puts text on its own line).
fn has_text(svg: &str, s: &str) -> bool {
    svg.contains(&format!(">\n{s}\n</text>"))
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "PNG too short");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk must be IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn metric_bars_svg_shows_title_legend_metric_names_and_values() {
    let c = bars_chart();
    assert_well_formed(&c.svg);
    assert_eq!(c.name, "cnn-metrics");
    assert_eq!(c.size(), (800, 500));
    for text in [
        "CNN test metrics: real vs synthetic training data",
        "real",
        "synthetic",
        "accuracy",
        "Cohen&apos;s kappa",
        "0.912",
        "0.874",
    ] {
        assert!(has_text(&c.svg, text), "missing {text:?}");
    }
}

#[test]
fn confusion_matrices_svg_shows_both_panels_counts_axis_names_and_classes() {
    let c = confusion_chart();
    assert_well_formed(&c.svg);
    assert_eq!(c.size(), (900, 420));
    for text in [
        "CNN confusion matrices on the test split",
        "true",
        "predicted",
        "healthy",
        "bare soil",
        "412",
        "287",
    ] {
        assert!(has_text(&c.svg, text), "missing {text:?}");
    }
    for caption in [
        "trained on real data · accuracy",
        "trained on synthetic data · accuracy",
    ] {
        assert!(c.svg.contains(caption), "missing {caption:?}");
    }
}

#[test]
fn per_class_f1_svg_shows_title_series_and_class_names() {
    let c = f1_chart();
    assert_well_formed(&c.svg);
    for text in [
        "Per-class F1 on the test split",
        "real",
        "synthetic",
        "healthy",
        "F1 score",
        "0.940",
    ] {
        assert!(has_text(&c.svg, text), "missing {text:?}");
    }
}

#[test]
fn training_curves_svg_shows_title_series_labels_axis_names_and_best_epoch() {
    let c = curves_chart();
    assert_well_formed(&c.svg);
    for text in [
        "CNN training and validation loss",
        "real · train",
        "real · validation",
        "synthetic · validation",
        "cross-entropy loss",
        "epoch",
        "best epoch",
    ] {
        assert!(has_text(&c.svg, text), "missing {text:?}");
    }
}

#[test]
fn predicted_vs_actual_svg_shows_title_series_with_rmse_and_the_identity_line() {
    let c = scatter_chart();
    assert_well_formed(&c.svg);
    for text in [
        "LSTM next-step NDVI on the test split",
        "real-trained (RMSE",
        "synthetic-trained (RMSE",
        "persistence (RMSE",
        "1:1 line",
        "actual NDVI",
        "predicted NDVI",
    ] {
        assert!(c.svg.contains(text), "missing {text:?}");
    }
}

#[test]
fn series_named_real_synthetic_and_persistence_are_blue_orange_and_grey() {
    let c = scatter_chart();
    for colour in ["#1F77B4", "#FF7F0E", "#7F7F7F"] {
        assert!(
            c.svg.to_uppercase().contains(colour),
            "missing colour {colour}"
        );
    }
}

#[test]
fn save_writes_svg_and_png_of_the_chart_size_and_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    for chart in all_charts() {
        let paths = chart.save(dir.path()).unwrap();
        let svg_path = dir.path().join(format!("{}.svg", chart.name));
        let png_path = dir.path().join(format!("{}.png", chart.name));
        assert_eq!(paths, vec![svg_path.clone(), png_path.clone()]);
        assert_eq!(std::fs::read_to_string(&svg_path).unwrap(), chart.svg);
        let png = std::fs::read(&png_path).unwrap();
        assert_eq!(png_size(&png), chart.size(), "{}", chart.name);
    }
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

#[test]
fn save_creates_the_directory_and_replaces_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("reports").join("charts");
    bars_chart().save(&nested).unwrap();
    let mut chart = f1_chart();
    chart.name = "cnn-metrics".to_string();
    chart.save(&nested).unwrap();
    let svg = std::fs::read_to_string(nested.join("cnn-metrics.svg")).unwrap();
    assert!(svg.contains("Per-class F1"));
}

#[test]
fn empty_inputs_render_a_no_data_chart() {
    let charts = [
        metric_bars("a", "Empty metrics", &[], (0.0, 1.0)).unwrap(),
        confusion_matrices(
            "b",
            "Empty confusion",
            &[],
            ("real", &[]),
            ("synthetic", &[]),
        )
        .unwrap(),
        per_class_f1("c", "Empty F1", &[], &[]).unwrap(),
        training_curves("d", "Empty curves", "loss", &[]).unwrap(),
        predicted_vs_actual("e", "Empty scatter", &[], &[]).unwrap(),
    ];
    let dir = tempfile::tempdir().unwrap();
    for chart in charts {
        assert_well_formed(&chart.svg);
        assert!(chart.svg.contains("no data"), "{}", chart.name);
        assert!(chart.svg.contains(&chart.title));
        chart.save(dir.path()).unwrap();
    }
}

#[test]
fn series_without_points_and_a_missing_matrix_still_render() {
    let curves = training_curves(
        "curves",
        "One empty series",
        "loss",
        &[
            CurveSeries {
                label: "real".into(),
                points: vec![],
                best_epoch: Some(3),
                dashed: false,
            },
            CurveSeries {
                label: "synthetic".into(),
                points: vec![(1.0, 0.5)],
                best_epoch: Some(1),
                dashed: true,
            },
        ],
    )
    .unwrap();
    assert!(curves.svg.contains("synthetic") && !curves.svg.contains("no data"));
    let confusion = confusion_matrices(
        "cm",
        "Only one model",
        &CLASSES,
        ("real", &confusion(0)),
        ("synthetic", &[]),
    )
    .unwrap();
    assert!(has_text(&confusion.svg, "no data") && has_text(&confusion.svg, "412"));
}

#[test]
fn nan_values_are_skipped_without_panicking() {
    let nan = f64::NAN;
    let dir = tempfile::tempdir().unwrap();
    let bars = metric_bars(
        "a",
        "Metrics with gaps",
        &[("accuracy", nan, 0.8), ("F1", 0.7, nan)],
        (0.0, 1.0),
    )
    .unwrap();
    assert!(bars.svg.contains("n/a") && bars.svg.contains("0.800"));
    let all_nan = metric_bars(
        "b",
        "All values missing",
        &[("accuracy", nan, nan)],
        (nan, nan),
    )
    .unwrap();
    assert!(all_nan.svg.contains("no data"));
    let f1 = per_class_f1(
        "c",
        "F1 with gaps",
        &["a", "b"],
        &[("real", &[nan, 0.5]), ("synthetic", &[0.4, nan])],
    )
    .unwrap();
    let curves = training_curves(
        "d",
        "Curves with gaps",
        "loss",
        &[CurveSeries {
            label: "real".into(),
            points: vec![(1.0, 1.0), (2.0, nan), (3.0, 0.5), (nan, 0.4), (5.0, 0.3)],
            best_epoch: Some(2),
            dashed: false,
        }],
    )
    .unwrap();
    let f = f32::NAN;
    let scatter = predicted_vs_actual(
        "e",
        "Scatter with gaps",
        &[0.1, f, 0.3, 0.4],
        &[
            ("real", &[0.1, 0.2, f, 0.41]),
            ("persistence", &[f, f, f, f]),
        ],
    )
    .unwrap();
    assert!(scatter.svg.contains("persistence (no finite values)"));
    for chart in [bars, all_nan, f1, curves, scatter] {
        assert_well_formed(&chart.svg);
        assert!(!chart.svg.contains("NaN"), "{} prints NaN", chart.name);
        chart.save(dir.path()).unwrap();
    }
}

#[test]
fn extreme_values_are_clipped_to_the_axis_range() {
    let c = metric_bars(
        "m",
        "Out of range",
        &[("R²", -3.5, 1.7), ("loss", 1e9, 0.0)],
        (0.0, 1.0),
    )
    .unwrap();
    assert_well_formed(&c.svg);
    let c = metric_bars("m", "Auto range", &[("RMSE", 0.043, 0.061)], (1.0, 0.0)).unwrap();
    assert!(c.svg.contains("0.043"));
    let huge = CurveSeries {
        label: "real".into(),
        points: vec![
            (0.0, f64::MAX),
            (1.0, -f64::MAX),
            (f64::MAX, 1.0),
            (2.0, f64::INFINITY),
        ],
        best_epoch: Some(usize::MAX),
        dashed: true,
    };
    let c = training_curves("h", "Huge values", "loss", &[huge]).unwrap();
    assert_well_formed(&c.svg);
    c.save(tempfile::tempdir().unwrap().path()).unwrap();
    let max = u64::MAX;
    let c = confusion_matrices(
        "o",
        "Overflowing counts",
        &["a", "b"],
        ("real", &[vec![max, max], vec![max, 0]]),
        ("synthetic", &[]),
    )
    .unwrap();
    assert_well_formed(&c.svg);
    let c = predicted_vs_actual("s", "Constant", &[0.5, 0.5], &[("real", &[0.5, 0.5])]).unwrap();
    assert!(c.svg.contains("RMSE 0.000"));
}

#[test]
fn special_characters_in_titles_and_labels_are_escaped() {
    let title = r#"<script>alert("x")</script> & NDVI < 0.2 "quoted""#;
    let charts = [
        metric_bars("a", title, &[("<b>", 0.5, 0.6)], (0.0, 1.0)).unwrap(),
        confusion_matrices(
            "b",
            title,
            &["<x>", "a&b"],
            ("<real>", &[vec![1, 2], vec![3, 4]]),
            ("\"s\"", &[vec![1, 0], vec![0, 1]]),
        )
        .unwrap(),
        per_class_f1("c", title, &["<x>"], &[("<real>", &[0.5])]).unwrap(),
        training_curves("d", title, "<loss>", &[curve("a<b", true, |e| 1.0 / e)]).unwrap(),
        predicted_vs_actual("e", title, &[0.1, 0.2], &[("&real", &[0.1, 0.25])]).unwrap(),
    ];
    for chart in charts {
        assert_well_formed(&chart.svg);
        assert!(chart.svg.contains("&lt;script&gt;"), "{}", chart.name);
        assert!(chart.svg.contains("&amp;") && chart.svg.contains("&quot;"));
        assert!(
            !chart.svg.contains("<script"),
            "{} has a raw <script",
            chart.name
        );
        assert!(
            !chart.svg.contains("<b>")
                && !chart.svg.contains("<x>")
                && !chart.svg.contains("<real>")
        );
    }
}

#[test]
fn names_that_are_not_plain_file_stems_are_rejected() {
    for name in [
        "",
        "../escape",
        "a/b",
        "with space",
        "dot.ted",
        &"x".repeat(101),
    ] {
        let err = metric_bars(name, "t", &[], (0.0, 1.0)).unwrap_err();
        assert!(
            matches!(err, ChartError::InvalidInput(_)),
            "{name:?}: {err}"
        );
    }
    let mut chart = bars_chart();
    chart.name = "../../etc/passwd".into();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        chart.save(dir.path()),
        Err(ChartError::InvalidInput(_))
    ));
}

#[test]
fn mismatched_lengths_and_non_square_matrices_are_rejected() {
    let err = per_class_f1("f", "t", &["a", "b"], &[("real", &[0.5])]).unwrap_err();
    assert!(matches!(err, ChartError::InvalidInput(_)), "{err}");
    let err = predicted_vs_actual("p", "t", &[0.1, 0.2], &[("real", &[0.1])]).unwrap_err();
    assert!(matches!(err, ChartError::InvalidInput(_)), "{err}");
    let err = confusion_matrices(
        "c",
        "t",
        &["a", "b"],
        ("real", &[vec![1, 2], vec![3]]),
        ("synthetic", &[]),
    )
    .unwrap_err();
    assert!(matches!(err, ChartError::InvalidInput(_)), "{err}");
    let err = confusion_matrices(
        "c",
        "t",
        &["a"],
        ("real", &[vec![1]]),
        ("synthetic", &[vec![1, 2]]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("synthetic"), "{err}");
}

#[test]
fn long_titles_and_many_classes_still_render() {
    let title = "A very long title that goes on and on about the CNN crop-health classifier trained on simulated Sentinel-2 scenes (simulated data)";
    let classes: Vec<String> = (0..12).map(|i| format!("class number {i}")).collect();
    let names: Vec<&str> = classes.iter().map(String::as_str).collect();
    let m: Vec<Vec<u64>> = (0..12)
        .map(|i| {
            (0..12)
                .map(|j| if i == j { 1000 } else { (i + j) as u64 })
                .collect()
        })
        .collect();
    let c = confusion_matrices("many", title, &names, ("real", &m), ("synthetic", &m)).unwrap();
    assert_well_formed(&c.svg);
    let values: Vec<f64> = (0..12).map(|i| f64::from(i) / 12.0).collect();
    let c = per_class_f1(
        "many-f1",
        title,
        &names,
        &[("real", &values), ("synthetic", &values)],
    )
    .unwrap();
    assert_well_formed(&c.svg);
}

/// Renders one of each chart, and a few awkward ones, as PNG and SVG into
/// `$CHARTS_PREVIEW_DIR` (default `/tmp/charts-preview`) for a visual check.
#[test]
#[ignore = "writes preview files; run with --ignored"]
fn render_previews() {
    let dir =
        std::env::var_os("CHARTS_PREVIEW_DIR").unwrap_or_else(|| "/tmp/charts-preview".into());
    let dir = Path::new(&dir);
    let mut charts = all_charts();
    let (actual, real, _, persistence) = scatter_data();
    let big: Vec<f32> = actual.iter().cycle().take(9000).copied().collect();
    let big_real: Vec<f32> = real.iter().cycle().take(9000).copied().collect();
    let big_p: Vec<f32> = persistence.iter().cycle().take(9000).copied().collect();
    charts.push(
        predicted_vs_actual(
            "preview-scatter-thinned",
            "LSTM next-step NDVI (simulated data)",
            &big,
            &[("real-trained", &big_real), ("persistence", &big_p)],
        )
        .unwrap(),
    );
    charts.push(
        metric_bars(
            "preview-empty",
            "CNN test metrics (simulated data)",
            &[],
            (0.0, 1.0),
        )
        .unwrap(),
    );
    charts.push(
        metric_bars(
            "preview-lstm-metrics",
            "LSTM test metrics: real vs synthetic training data (simulated data)",
            &[
                ("RMSE", 0.043, 0.061),
                ("MAE", 0.031, 0.047),
                ("R²", 0.91, -0.12),
                ("skill vs persistence", 0.38, f64::NAN),
            ],
            (-0.2, 1.0),
        )
        .unwrap(),
    );
    let classes: Vec<String> = [
        "healthy",
        "moderate water stress",
        "severe water stress",
        "nutrient deficiency",
        "pest damage",
        "bare soil",
    ]
    .map(String::from)
    .to_vec();
    let names: Vec<&str> = classes.iter().map(String::as_str).collect();
    let m: Vec<Vec<u64>> = (0..6)
        .map(|i| {
            (0..6)
                .map(|j| {
                    if i == j {
                        1200 + 37 * i as u64
                    } else {
                        (7 * i + 3 * j) as u64 % 40
                    }
                })
                .collect()
        })
        .collect();
    charts.push(
        confusion_matrices(
            "preview-confusion-6",
            "CNN confusion matrices (simulated data)",
            &names,
            ("real", &m),
            ("synthetic", &m),
        )
        .unwrap(),
    );
    let f1: Vec<f64> = vec![0.95, 0.81, 0.77, 0.69, 0.88, 0.99];
    let f1s: Vec<f64> = vec![0.93, 0.72, 0.70, 0.51, 0.83, 0.98];
    charts.push(
        per_class_f1(
            "preview-f1-6",
            "Per-class F1 (simulated data)",
            &names,
            &[("real", &f1), ("synthetic", &f1s)],
        )
        .unwrap(),
    );
    for chart in charts {
        let paths = chart.save(dir).unwrap();
        println!("{}", paths[1].display());
    }
}

#[test]
fn the_png_is_the_svg_rasterised_with_its_text_in_the_bundled_font() {
    let chart = bars_chart();
    let png = chart.render_png().unwrap();
    assert_eq!(png_size(&png), chart.size());
    // Decode with tiny-skia's own PNG reader and look for the title's glyphs: text colour
    // (#222) pixels in the band the title occupies. Without a font, resvg leaves text out.
    let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
    let (w, _) = chart.size();
    let dark = (0..40u32)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = pixmap.pixel(x, y).unwrap();
            p.red() < 0x60 && p.green() < 0x60 && p.blue() < 0x60
        })
        .count();
    assert!(dark > 200, "the title's text is drawn: {dark} dark pixels");
    // The background is white, as in the SVG.
    let corner = pixmap.pixel(w - 1, 0).unwrap();
    assert_eq!(
        (corner.red(), corner.green(), corner.blue()),
        (255, 255, 255)
    );
}
