//! Predicted against actual values, with the 1:1 line, on a square plot.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::layout::{DrawResult, LegendItem, Marker, Rect, Scale, Swatch, padded_range};
use super::painter::Painter;
use super::style::{self, AXIS, LABEL_PX, MUTED, TICK_PX, nice_ticks};

/// Points drawn per series at most; larger series are thinned evenly.
const MAX_POINTS: usize = 3000;

/// Predictions of several models for the same actual values.
#[derive(Debug, Clone)]
pub(super) struct ScatterSpec {
    pub(super) actual: Vec<f32>,
    pub(super) series: Vec<(String, Vec<f32>)>,
}

impl ScatterSpec {
    /// The `(actual, predicted)` pairs of series `i` where both are finite.
    fn pairs(&self, i: usize) -> Vec<(f64, f64)> {
        self.actual
            .iter()
            .zip(&self.series[i].1)
            .map(|(a, p)| (f64::from(*a), f64::from(*p)))
            .filter(|(a, p)| a.is_finite() && p.is_finite())
            .collect()
    }

    /// Draws the chart.
    pub(super) fn draw<DB: DrawingBackend>(&self, p: &Painter<DB>, title: &str) -> DrawResult<DB> {
        let body = p.frame(title)?;
        let pairs: Vec<Vec<(f64, f64)>> = (0..self.series.len()).map(|i| self.pairs(i)).collect();
        let Some((lo, hi)) = padded_range(pairs.iter().flatten().flat_map(|&(a, b)| [a, b]), 0.05)
        else {
            return p.no_data(body, "there are no predictions to compare");
        };

        let keys: Vec<(&str, bool)> = self
            .series
            .iter()
            .map(|(l, _)| (l.as_str(), false))
            .collect();
        let colors = style::series_colors(&keys);
        let mut legend: Vec<LegendItem> = self
            .series
            .iter()
            .zip(&pairs)
            .enumerate()
            .map(|(i, ((label, _), pts))| LegendItem {
                swatch: Swatch::Point(Marker::nth(i), colors[i]),
                label: match rmse(pts) {
                    Some(e) => format!("{label} (RMSE {e:.3})"),
                    None => format!("{label} (no finite values)"),
                },
            })
            .collect();
        for item in &mut legend {
            item.label = p.truncate(&item.label, 270, LABEL_PX);
        }
        legend.push(LegendItem {
            swatch: Swatch::Line {
                color: AXIS,
                dashed: true,
            },
            label: "1:1 line".to_string(),
        });

        // A square plot and the legend beside it, centred together.
        let ticks = nice_ticks(lo, hi, 7, false);
        let x_label = "actual NDVI";
        let y_label = "predicted NDVI";
        let axis_w = p.y_axis_width(&ticks, Some(y_label));
        let axis_h = p.x_axis_height(Some(x_label));
        let legend_w = p.legend_column_width(&legend).min(300);
        let gap = 36;
        let side = (body.height() - 14 - axis_h - 10)
            .min(body.width() - 40 - axis_w - gap - legend_w)
            .max(50);
        let block_w = axis_w + side + gap + legend_w;
        let x0 = body.x0 + (body.width() - block_w).max(0) / 2;
        let plot = Rect {
            x0: x0 + axis_w,
            y0: body.y0 + 10,
            x1: x0 + axis_w + side,
            y1: body.y0 + 10 + side,
        };
        let x = Scale {
            lo,
            hi,
            p0: plot.x0,
            p1: plot.x1,
        };
        let y = Scale {
            lo,
            hi,
            p0: plot.y1,
            p1: plot.y0,
        };
        let outer = Rect { x0, ..body };
        p.y_axis(plot, outer, &y, &ticks, Some(y_label))?;
        p.x_axis(plot, &x, &ticks, Some(x_label))?;
        p.line(
            vec![(plot.x0, plot.y0), (plot.x1, plot.y0)],
            &AXIS.mix(0.35),
            1,
        )?;
        p.line(
            vec![(plot.x1, plot.y0), (plot.x1, plot.y1)],
            &AXIS.mix(0.35),
            1,
        )?;

        // Later series first, so the first-named models end up on top.
        let mut thinned = false;
        for (i, pts) in pairs.iter().enumerate().rev() {
            let stride = pts.len().div_ceil(MAX_POINTS).max(1);
            thinned |= stride > 1;
            let color = style::with_alpha(colors[i], 0.55);
            for &(a, b) in pts.iter().step_by(stride) {
                p.marker(Marker::nth(i), (x.px(a), y.px(b)), 3, color)?;
            }
        }
        p.dashed(
            vec![(x.px(lo), y.px(lo)), (x.px(hi), y.px(hi))],
            &AXIS.mix(0.9),
            2,
            7,
            5,
        )?;

        let lx = plot.x1 + gap;
        let legend_h = legend.len() as i32 * 24;
        let ly = plot.y0 + (side - legend_h).max(0) / 3;
        let below = p.legend_column(lx, ly, &legend)?;
        if thinned {
            let note = format!("every point used for RMSE; at most {MAX_POINTS} per model drawn");
            let (lines, px) = p.fit(&note, (body.x1 - lx - 10).max(60), &[TICK_PX - 1.0], 2);
            let mut ny = below + 10;
            for line in lines {
                p.text(&line, (lx, ny), px, MUTED, HPos::Left, VPos::Top)?;
                ny += (px * 1.3) as i32;
            }
        }
        Ok(())
    }
}

/// The root-mean-square error of predicted against actual, if there are points.
fn rmse(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let sse: f64 = pairs.iter().map(|(a, p)| (p - a) * (p - a)).sum();
    Some((sse / pairs.len() as f64).sqrt())
}
