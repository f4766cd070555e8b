//! Training curves: a value per epoch for any number of series.

use plotters::prelude::*;

use super::layout::{DrawResult, LegendItem, Rect, Scale, Swatch, padded_range};
use super::painter::Painter;
use super::style::{self, nice_ticks};

/// One line of [`training_curves`](crate::training_curves): `(epoch, value)` points, an optional best epoch to mark and a line style.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveSeries {
    /// The legend label, e.g. "real · validation".
    pub label: String,
    /// `(epoch, value)` points in drawing order; points with a NaN break the line.
    pub points: Vec<(f64, f64)>,
    /// The epoch to mark (matched against the points' epochs), e.g. the one whose weights were kept.
    pub best_epoch: Option<usize>,
    /// Draw the line dashed, e.g. for validation curves.
    pub dashed: bool,
}

/// Curves over epochs.
#[derive(Debug, Clone)]
pub(super) struct CurvesSpec {
    pub(super) y_label: String,
    pub(super) series: Vec<CurveSeries>,
}

/// The legend label of the best-epoch marker.
const BEST_LABEL: &str = "best epoch";

impl CurvesSpec {
    /// The finite points of all series.
    fn finite_points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    /// Draws the chart.
    pub(super) fn draw<DB: DrawingBackend>(&self, p: &Painter<DB>, title: &str) -> DrawResult<DB> {
        let body = p.frame(title)?;
        let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) = (
            padded_range(self.finite_points().map(|pt| pt.0), 0.0),
            padded_range(self.finite_points().map(|pt| pt.1), 0.06),
        ) else {
            return p.no_data(body, "no epochs have been recorded");
        };

        let keys: Vec<(&str, bool)> = self
            .series
            .iter()
            .map(|s| (s.label.as_str(), s.dashed))
            .collect();
        let colors = style::series_colors(&keys);
        let best: Vec<Option<(f64, f64)>> = self.series.iter().map(best_point).collect();
        let mut legend: Vec<LegendItem> = self
            .series
            .iter()
            .zip(&colors)
            .map(|(s, c)| LegendItem {
                swatch: Swatch::Line {
                    color: *c,
                    dashed: s.dashed,
                },
                label: s.label.clone(),
            })
            .collect();
        if best.iter().any(Option::is_some) {
            legend.push(LegendItem {
                swatch: Swatch::Best,
                label: BEST_LABEL.to_string(),
            });
        }
        let body = p.legend_top(body, &legend)?;

        let integer_epochs = self.finite_points().all(|(x, _)| x.fract() == 0.0);
        let x_ticks = nice_ticks(x_lo, x_hi, 10, integer_epochs);
        let y_ticks = nice_ticks(y_lo, y_hi, 8, false);
        let y_label = Some(self.y_label.as_str()).filter(|l| !l.is_empty());
        let plot = Rect {
            x0: body.x0 + p.y_axis_width(&y_ticks, y_label) + 8,
            y0: body.y0 + 8,
            x1: body.x1 - 28,
            y1: body.y1 - p.x_axis_height(Some("epoch")) - 6,
        };
        // A few pixels between the first and last epochs and the plot's edges.
        let x = Scale {
            lo: x_lo,
            hi: x_hi,
            p0: plot.x0 + 6,
            p1: plot.x1 - 6,
        };
        let y = Scale {
            lo: y_lo,
            hi: y_hi,
            p0: plot.y1,
            p1: plot.y0,
        };
        p.y_axis(plot, body, &y, &y_ticks, y_label)?;
        p.x_axis(plot, &x, &x_ticks, Some("epoch"))?;

        // Lines first, markers last so no line hides a marker.
        for (s, color) in self.series.iter().zip(&colors) {
            for run in finite_runs(&s.points) {
                let pts: Vec<(i32, i32)> = run.iter().map(|&(a, b)| (x.px(a), y.px(b))).collect();
                if pts.len() == 1 {
                    p.dot(pts[0], 3, color)?;
                } else if s.dashed {
                    p.dashed(pts, color, 2, 7, 4)?;
                } else {
                    p.line(pts, color, 2)?;
                }
            }
        }
        for (b, color) in best.iter().zip(&colors) {
            if let Some((bx, by)) = b {
                p.best_marker((x.px(*bx), y.px(*by)), *color)?;
            }
        }
        Ok(())
    }
}

/// The point of a series at its best epoch (the finite point whose epoch is nearest, within
/// half an epoch), if it has one.
fn best_point(s: &CurveSeries) -> Option<(f64, f64)> {
    let epoch = s.best_epoch? as f64;
    s.points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (x - epoch).abs() <= 0.5)
        .min_by(|a, b| (a.0 - epoch).abs().total_cmp(&(b.0 - epoch).abs()))
}

/// The runs of consecutive finite points; a NaN or infinite value ends a run.
fn finite_runs(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    points
        .split(|(x, y)| !(x.is_finite() && y.is_finite()))
        .filter(|run| !run.is_empty())
        .collect()
}
