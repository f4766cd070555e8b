//! Grouped bar charts: metric comparisons and per-class F1 scores.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::labels::CategoryLabels;
use super::layout::{DrawResult, LegendItem, Rect, Scale, Swatch};
use super::painter::Painter;
use super::style::{
    self, AXIS, MIN_PX, MUTED, TEXT, VALUE_PX, format_value, nice_ticks, value_decimals,
};

/// Groups of bars, one bar per series in each group.
#[derive(Debug, Clone)]
pub(super) struct BarsSpec {
    groups: Vec<String>,
    series: Vec<(String, Vec<f64>)>,
    y_range: (f64, f64),
    y_label: Option<String>,
}

impl BarsSpec {
    /// A bar chart of `series` (label, one value per group) over `groups`; an unusable
    /// `y_range` is replaced by one that fits the values.
    pub(super) fn new(
        groups: Vec<String>,
        series: Vec<(String, Vec<f64>)>,
        y_range: (f64, f64),
        y_label: Option<String>,
    ) -> BarsSpec {
        let (lo, hi) = y_range;
        let y_range = if lo.is_finite() && hi.is_finite() && lo < hi {
            y_range
        } else {
            let finite = series
                .iter()
                .flat_map(|s| s.1.iter().copied())
                .filter(|v| v.is_finite());
            let (min, max) = finite.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
            if max > min {
                let pad = (max - min) * 0.1;
                (
                    if min < 0.0 { min - pad } else { 0.0 },
                    if max > 0.0 { max + pad } else { 0.0 },
                )
            } else {
                (0.0, 1.0)
            }
        };
        BarsSpec {
            groups,
            series,
            y_range,
            y_label,
        }
    }

    /// Draws the chart.
    pub(super) fn draw<DB: DrawingBackend>(&self, p: &Painter<DB>, title: &str) -> DrawResult<DB> {
        let body = p.frame(title)?;
        let has_value = self
            .series
            .iter()
            .any(|(_, v)| v.iter().any(|x| x.is_finite()));
        if self.groups.is_empty() || self.series.is_empty() || !has_value {
            return p.no_data(body, "there are no values to compare");
        }

        let keys: Vec<(&str, bool)> = self
            .series
            .iter()
            .map(|(l, _)| (l.as_str(), false))
            .collect();
        let colors = style::series_colors(&keys);
        let legend: Vec<LegendItem> = self
            .series
            .iter()
            .zip(&colors)
            .map(|((label, _), c)| LegendItem {
                swatch: Swatch::Box(*c),
                label: label.clone(),
            })
            .collect();
        let body = p.legend_top(body, &legend)?;

        let (lo, hi) = self.y_range;
        let ticks = nice_ticks(lo, hi, 8, false);
        let y_label = self.y_label.as_deref();
        let left = body.x0 + p.y_axis_width(&ticks, y_label) + 8;
        let right = body.x1 - 24;
        let n = self.groups.len();
        let band = f64::from(right - left) / n as f64;

        // Category labels under the groups: wrapped and shrunk to fit, else rotated.
        let labels = CategoryLabels::layout(p, &self.groups, (band * 0.94) as i32 - 2, 120);
        let plot = Rect {
            x0: left,
            y0: body.y0 + 8,
            x1: right,
            y1: body.y1 - 6 - labels.height(),
        };
        let y = Scale {
            lo,
            hi,
            p0: plot.y1,
            p1: plot.y0,
        };
        p.y_axis(plot, body, &y, &ticks, y_label)?;

        // Bars: 80 % of each band, split evenly between the series, 2 px apart.
        let n_series = self.series.len();
        let pitch = band * 0.8 / n_series as f64;
        let bar_w = (pitch - 2.0).max(1.0);
        let base = 0f64.clamp(lo, hi);
        let base_px = y.px(base);
        let value_fmt = self.value_format(p, pitch);
        for g in 0..n {
            let gx = f64::from(plot.x0) + band * (g as f64 + 0.5);
            for (s, ((_, values), color)) in self.series.iter().zip(&colors).enumerate() {
                let v = values.get(g).copied().unwrap_or(f64::NAN);
                let bx0 = gx - band * 0.4 + pitch * s as f64 + 1.0;
                let (x0, x1) = (bx0.round() as i32, (bx0 + bar_w).round() as i32);
                let cx = (x0 + x1) / 2;
                if !v.is_finite() {
                    p.text(
                        "n/a",
                        (cx, base_px - 3),
                        VALUE_PX - 1.5,
                        MUTED,
                        HPos::Center,
                        VPos::Bottom,
                    )?;
                    continue;
                }
                let top = y.px(v.clamp(lo, hi));
                if top != base_px {
                    p.fill_rect((x0, top.min(base_px)), (x1, top.max(base_px)), color)?;
                }
                if let Some((decimals, px)) = value_fmt {
                    let text = format_value(v, decimals);
                    let inside = style::text_on(*color);
                    self.value_label(p, plot, (cx, top, base_px), &text, (px, inside), v >= base)?;
                }
            }
            labels.draw(p, g, gx.round() as i32, plot.y1)?;
        }
        if lo < 0.0 && hi > 0.0 {
            p.line(vec![(plot.x0, base_px), (plot.x1, base_px)], &AXIS, 1)?;
        }
        p.line(vec![(plot.x0, plot.y1), (plot.x1, plot.y1)], &AXIS, 1)
    }

    /// The decimals and text size that let every value label fit over its bar (`pitch`
    /// pixels apart), or `None` when even the smallest would not.
    fn value_format<DB: DrawingBackend>(
        &self,
        p: &Painter<DB>,
        pitch: f64,
    ) -> Option<(usize, f64)> {
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| v.is_finite())
            .collect();
        let max_abs = values.iter().fold(0f64, |m, v| m.max(v.abs()));
        let decimals = value_decimals(max_abs);
        let max_w = pitch as i32 - 3;
        let fits = |d: usize, px: f64| {
            values
                .iter()
                .all(|v| p.text_width(&format_value(*v, d), px) <= max_w)
        };
        [
            (decimals, VALUE_PX),
            (decimals.saturating_sub(1), VALUE_PX),
            (decimals.saturating_sub(1), MIN_PX),
        ]
        .into_iter()
        .find(|&(d, px)| fits(d, px))
    }

    /// Prints a value beyond the end of its bar, or just inside it when there is no room
    /// left in the plot.
    fn value_label<DB: DrawingBackend>(
        &self,
        p: &Painter<DB>,
        plot: Rect,
        (cx, top, base): (i32, i32, i32),
        text: &str,
        (px, inside): (f64, RGBColor),
        upward: bool,
    ) -> DrawResult<DB> {
        let h = (px * 1.25).round() as i32;
        let room_inside = (base - top).abs() > h + 6;
        if upward {
            if top - 4 - h >= plot.y0 - 2 || !room_inside {
                p.text(text, (cx, top - 4), px, TEXT, HPos::Center, VPos::Bottom)
            } else {
                p.text(text, (cx, top + 4), px, inside, HPos::Center, VPos::Top)
            }
        } else if top + 4 + h <= plot.y1 || !room_inside {
            p.text(text, (cx, top + 4), px, TEXT, HPos::Center, VPos::Top)
        } else {
            p.text(text, (cx, top - 4), px, inside, HPos::Center, VPos::Bottom)
        }
    }
}
