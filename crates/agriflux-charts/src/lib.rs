//! Charts that compare the models trained on real data with those trained on synthetic data.
//!
//! Each chart function checks its input, renders the chart to SVG at once and returns a
//! [`Chart`]; [`Chart::save`] writes that SVG and a PNG rasterised from the same SVG by
//! `resvg`, so both look the same (plotters' own bitmap text engine spaced digits wrongly:
//! "0.6 31" for 0.631). Text is measured and rasterised with a bundled font (Ubuntu Light from
//! `epaint_default_fonts`), so PNGs render the same on machines without fonts.
//!
//! All charts share one look: white background, 20 px titles, 14 px labels, legends above or
//! beside the data (never on it), and a colour-blind-safe palette in which series named
//! "real" are blue, "synthetic" orange and "persistence"/"baseline" grey. NaN values are
//! skipped; empty input gives a chart with a "no data" note.

mod bars;
mod confusion;
mod curves;
mod error;
mod labels;
mod layout;
mod painter;
mod scatter;
mod style;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use agriflux_base::atomic_file;
pub use curves::CurveSeries;
pub use error::ChartError;
use layout::DrawResult;
use painter::Painter;

/// A rendered chart: a stable name (file stem, also used as the UI test id `chart-<name>`), a title, and SVG text.
#[derive(Debug, Clone)]
pub struct Chart {
    /// The file stem and UI id: ASCII letters, digits, `-` and `_`.
    pub name: String,
    /// The title drawn at the top of the chart.
    pub title: String,
    /// The chart as a standalone SVG document.
    pub svg: String,
    /// Width and height in pixels.
    size: (u32, u32),
}

/// What a chart shows, in owned form.
#[derive(Debug, Clone)]
enum Spec {
    Bars(bars::BarsSpec),
    Confusion(confusion::ConfusionSpec),
    Curves(curves::CurvesSpec),
    Scatter(scatter::ScatterSpec),
}

impl Spec {
    /// The chart's size in pixels.
    fn size(&self) -> (u32, u32) {
        match self {
            Spec::Confusion(_) => confusion::SIZE,
            _ => (800, 500),
        }
    }

    /// Draws the whole chart on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> DrawResult<DB> {
        let p = Painter::new(root);
        match self {
            Spec::Bars(s) => s.draw(&p, title),
            Spec::Confusion(s) => s.draw(&p, title),
            Spec::Curves(s) => s.draw(&p, title),
            Spec::Scatter(s) => s.draw(&p, title),
        }
    }
}

impl Chart {
    /// Checks the name and renders `spec` to SVG.
    fn render(name: &str, title: &str, spec: Spec) -> Result<Chart, ChartError> {
        check_name(name)?;
        style::ensure_fonts();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, spec.size()).into_drawing_area();
            spec.draw(&root, title).map_err(render_error)?;
            root.present().map_err(render_error)?;
        }
        Ok(Chart {
            name: name.to_string(),
            title: title.to_string(),
            svg,
            size: spec.size(),
        })
    }

    /// The chart's size in pixels, the same for the SVG and the PNG.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Writes `<name>.svg` and `<name>.png` into `dir` (created if missing), each through a temporary file renamed into place; returns both paths.
    pub fn save(&self, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
        check_name(&self.name)?;
        fs::create_dir_all(dir).map_err(|source| ChartError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let svg_path = dir.join(format!("{}.svg", self.name));
        let png_path = dir.join(format!("{}.png", self.name));

        atomic_file::write(&svg_path, self.svg.as_bytes()).map_err(|source| ChartError::Io {
            path: svg_path.clone(),
            source,
        })?;
        let png = self.render_png()?;
        atomic_file::write(&png_path, &png).map_err(|source| ChartError::Io {
            path: png_path.clone(),
            source,
        })?;
        Ok(vec![svg_path, png_path])
    }

    /// The PNG of the chart: its SVG rasterised by `resvg` at the same size, text in the
    /// bundled font.
    pub fn render_png(&self) -> Result<Vec<u8>, ChartError> {
        use resvg::{tiny_skia, usvg};
        let options = usvg::Options {
            fontdb: style::svg_fonts(),
            ..Default::default()
        };
        let tree = usvg::Tree::from_str(&self.svg, &options)
            .map_err(|e| ChartError::Render(format!("the chart's SVG does not parse: {e}")))?;
        let (w, h) = self.size;
        let mut pixmap = tiny_skia::Pixmap::new(w, h)
            .ok_or_else(|| ChartError::Render(format!("no {w} x {h} image")))?;
        let scale = (
            w as f32 / tree.size().width(),
            h as f32 / tree.size().height(),
        );
        resvg::render(
            &tree,
            tiny_skia::Transform::from_scale(scale.0, scale.1),
            &mut pixmap.as_mut(),
        );
        pixmap
            .encode_png()
            .map_err(|e| ChartError::Render(format!("PNG encoding failed: {e}")))
    }
}

/// Turns a plotters error into a [`ChartError::Render`].
fn render_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError::Render(e.to_string())
}

/// Chart names become file names and UI ids: 1 to 100 ASCII letters, digits, `-` or `_`.
fn check_name(name: &str) -> Result<(), ChartError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ChartError::InvalidInput(format!(
            "chart name {name:?} must be 1 to 100 ASCII letters, digits, '-' or '_'"
        )))
    }
}

/// Grouped bars: for each metric, a "real" and a "synthetic" bar, values printed above bars.
///
/// `metrics` holds `(metric name, real value, synthetic value)`; bars are clipped to
/// `y_range` (a range that is not finite and increasing is replaced by one fitting the data).
pub fn metric_bars(
    name: &str,
    title: &str,
    metrics: &[(&str, f64, f64)],
    y_range: (f64, f64),
) -> Result<Chart, ChartError> {
    let spec = bars::BarsSpec::new(
        metrics.iter().map(|m| m.0.to_string()).collect(),
        vec![
            ("real".to_string(), metrics.iter().map(|m| m.1).collect()),
            (
                "synthetic".to_string(),
                metrics.iter().map(|m| m.2).collect(),
            ),
        ],
        y_range,
        None,
    );
    Chart::render(name, title, Spec::Bars(spec))
}

/// Two confusion matrices side by side (left: real-trained model, right: synthetic-trained), counts in cells, colour by row-normalised fraction, axis labels "true" / "predicted", class names on ticks.
///
/// Each matrix is indexed `[true class][predicted class]` and must be square with one row
/// per class name; an empty matrix draws as "no data".
pub fn confusion_matrices(
    name: &str,
    title: &str,
    class_names: &[&str],
    left: (&str, &[Vec<u64>]),
    right: (&str, &[Vec<u64>]),
) -> Result<Chart, ChartError> {
    let spec = confusion::ConfusionSpec::new(class_names, left, right)?;
    Chart::render(name, title, Spec::Confusion(spec))
}

/// Per-class F1 bars, grouped by class, two series.
///
/// Each series is `(label, one F1 score per class)`; any number of series is drawn, the
/// y axis runs from 0 to 1.
pub fn per_class_f1(
    name: &str,
    title: &str,
    class_names: &[&str],
    series: &[(&str, &[f64])],
) -> Result<Chart, ChartError> {
    for (label, values) in series {
        if values.len() != class_names.len() {
            return Err(ChartError::InvalidInput(format!(
                "series {label:?} has {} F1 scores for {} classes",
                values.len(),
                class_names.len()
            )));
        }
    }
    let spec = bars::BarsSpec::new(
        class_names.iter().map(|c| c.to_string()).collect(),
        series
            .iter()
            .map(|(label, values)| (label.to_string(), values.to_vec()))
            .collect(),
        (0.0, 1.0),
        Some("F1 score".to_string()),
    );
    Chart::render(name, title, Spec::Bars(spec))
}

/// Grouped bars of any figures: one group per category, one bar per series (e.g. a model and
/// its baselines on the same test split), on the value range `y_range`.
pub fn grouped_bars(
    name: &str,
    title: &str,
    categories: &[&str],
    series: &[(&str, Vec<f64>)],
    y_range: (f64, f64),
    y_label: &str,
) -> Result<Chart, ChartError> {
    if let Some((label, values)) = series.iter().find(|(_, v)| v.len() != categories.len()) {
        return Err(ChartError::InvalidInput(format!(
            "series {label:?} has {} values for {} categories",
            values.len(),
            categories.len()
        )));
    }
    let spec = bars::BarsSpec::new(
        categories.iter().map(|c| c.to_string()).collect(),
        series
            .iter()
            .map(|(label, values)| (label.to_string(), values.clone()))
            .collect(),
        y_range,
        Some(y_label.to_string()),
    );
    Chart::render(name, title, Spec::Bars(spec))
}

/// Training curves: any number of named series of (epoch, value), e.g. train/val loss for real and synthetic models, with the y axis labelled `y_label` and an optional "best epoch" marker per series.
pub fn training_curves(
    name: &str,
    title: &str,
    y_label: &str,
    series: &[CurveSeries],
) -> Result<Chart, ChartError> {
    let spec = curves::CurvesSpec {
        y_label: y_label.to_string(),
        series: series.to_vec(),
    };
    Chart::render(name, title, Spec::Curves(spec))
}

/// LSTM predicted vs actual NDVI on the test split: scatter of predicted (y) vs actual (x) for the real-trained model, the synthetic-trained model and the persistence baseline (next = last), with the 1:1 line.
///
/// Each series is `(label, one prediction per actual value)`; the legend adds each series'
/// RMSE. Earlier series are drawn on top; very large series are thinned evenly for drawing
/// (the RMSE uses every point) and the chart says so.
pub fn predicted_vs_actual(
    name: &str,
    title: &str,
    actual: &[f32],
    series: &[(&str, &[f32])],
) -> Result<Chart, ChartError> {
    for (label, predicted) in series {
        if predicted.len() != actual.len() {
            return Err(ChartError::InvalidInput(format!(
                "series {label:?} has {} predictions for {} actual values",
                predicted.len(),
                actual.len()
            )));
        }
    }
    let spec = scatter::ScatterSpec {
        actual: actual.to_vec(),
        series: series
            .iter()
            .map(|(label, predicted)| (label.to_string(), predicted.to_vec()))
            .collect(),
    };
    Chart::render(name, title, Spec::Scatter(spec))
}
