//! Two confusion matrices side by side, with a shared colour scale.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::error::ChartError;
use super::labels::CategoryLabels;
use super::layout::{DrawResult, Rect, line_height};
use super::painter::Painter;
use super::style::{self, AXIS, LABEL_PX, MIN_PX, MUTED, TEXT, TICK_PX, VALUE_PX};

/// The size of a confusion-matrix pair.
pub(super) const SIZE: (u32, u32) = (900, 420);

/// Width kept on the right for the colour scale.
const SCALE_W: i32 = 96;
/// Height of a panel's title line.
const PANEL_TITLE_H: i32 = 26;
/// Widest row label, in pixels.
const MAX_ROW_LABEL_W: i32 = 120;
/// Longest column label when column labels have to be turned upright.
const MAX_COL_LABEL_LEN: i32 = 100;

/// One matrix: its caption and counts indexed `[true][predicted]` (empty for "no data").
#[derive(Debug, Clone)]
struct Panel {
    label: String,
    counts: Vec<Vec<u64>>,
}

/// Two confusion matrices over the same classes.
#[derive(Debug, Clone)]
pub(super) struct ConfusionSpec {
    classes: Vec<String>,
    panels: [Panel; 2],
}

impl ConfusionSpec {
    /// Checks that each matrix is empty or square with one row per class.
    pub(super) fn new(
        class_names: &[&str],
        left: (&str, &[Vec<u64>]),
        right: (&str, &[Vec<u64>]),
    ) -> Result<ConfusionSpec, ChartError> {
        let n = class_names.len();
        for (label, m) in [left, right] {
            let square = m.len() == n && m.iter().all(|row| row.len() == n);
            if !m.is_empty() && !square {
                return Err(ChartError::InvalidInput(format!(
                    "confusion matrix {label:?} must be {n}x{n} (one row and column per class), got {} rows with {:?} columns",
                    m.len(),
                    m.iter().map(Vec::len).collect::<Vec<_>>()
                )));
            }
        }
        let panel = |(label, m): (&str, &[Vec<u64>])| Panel {
            label: label.to_string(),
            counts: m.to_vec(),
        };
        Ok(ConfusionSpec {
            classes: class_names.iter().map(|c| c.to_string()).collect(),
            panels: [panel(left), panel(right)],
        })
    }

    /// Draws the chart.
    pub(super) fn draw<DB: DrawingBackend>(&self, p: &Painter<DB>, title: &str) -> DrawResult<DB> {
        let body = p.frame(title)?;
        let body = Rect {
            y1: body.y1 - 10,
            ..body
        };
        if self.classes.is_empty() || self.panels.iter().all(|p| p.counts.is_empty()) {
            return p.no_data(body, "there are no classes or no predictions");
        }
        let n = self.classes.len() as i32;

        // Shared geometry, so both matrices get the same cell size and line up.
        let desc_w = LABEL_PX as i32 + 10;
        let panel_w = (body.width() - SCALE_W - 10) / 2;
        let widest = |rows: &[Vec<String>], px: f64| {
            rows.iter()
                .flatten()
                .map(|l| p.text_width(l, px))
                .max()
                .unwrap_or(0)
        };
        let cell_for = |row_w: i32, labels_h: i32| {
            let h = body.height() - PANEL_TITLE_H - labels_h - 6 - LABEL_PX as i32 - 4;
            let w = panel_w - desc_w - row_w - 8 - 16;
            (w.min(h) / n).max(4)
        };
        // Row labels on one line, or two where long names need it and the rows are tall enough.
        let (mut rows, mut row_px) =
            p.fit_all(&self.classes, MAX_ROW_LABEL_W, &[TICK_PX, MIN_PX], 2);
        let mut row_w = widest(&rows, row_px);
        let mut cell = cell_for(row_w, 8 + line_height(TICK_PX));
        if rows.iter().any(|l| l.len() > 1) && cell < 2 * line_height(row_px) + 4 {
            (rows, row_px) = p.fit_all(&self.classes, MAX_ROW_LABEL_W, &[TICK_PX, MIN_PX], 1);
            row_w = widest(&rows, row_px);
            cell = cell_for(row_w, 8 + line_height(TICK_PX));
        }
        // Column labels: taller labels leave smaller cells, which may need taller labels.
        let mut cols = CategoryLabels::layout(p, &self.classes, cell - 4, MAX_COL_LABEL_LEN);
        for _ in 0..4 {
            let smaller = cell_for(row_w, cols.height());
            if smaller >= cell {
                break;
            }
            cell = smaller;
            cols = CategoryLabels::layout(p, &self.classes, cell - 4, MAX_COL_LABEL_LEN);
        }
        let side = cell * n;
        let block_h = PANEL_TITLE_H + side + cols.height() + 6 + LABEL_PX as i32;
        let top = body.y0 + (body.height() - block_h).max(0) / 2 + PANEL_TITLE_H;

        for (k, panel) in self.panels.iter().enumerate() {
            let px0 = body.x0 + 10 + k as i32 * panel_w;
            let block_w = desc_w + row_w + 8 + side;
            let gx0 = px0 + (panel_w - block_w) / 2 + desc_w + row_w + 8;
            let grid = Rect {
                x0: gx0,
                y0: top,
                x1: gx0 + side,
                y1: top + side,
            };
            self.draw_panel(p, panel, grid, cell, (&rows, row_px), &cols)?;
            // Axis descriptions.
            p.text_up(
                "true",
                (gx0 - row_w - 8 - desc_w, grid.cy()),
                LABEL_PX,
                TEXT,
            )?;
            let below = grid.y1 + cols.height() + 6;
            p.text(
                "predicted",
                (grid.cx(), below),
                LABEL_PX,
                TEXT,
                HPos::Center,
                VPos::Top,
            )?;
        }
        let scale = Rect {
            x0: body.x1 - SCALE_W + 6,
            y0: top,
            x1: body.x1 - SCALE_W + 20,
            y1: top + side,
        };
        colour_scale(p, scale)
    }

    /// Draws one matrix into `grid` with its caption above and class names beside.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        p: &Painter<DB>,
        panel: &Panel,
        grid: Rect,
        cell: i32,
        (rows, row_px): (&[Vec<String>], f64),
        cols: &CategoryLabels,
    ) -> DrawResult<DB> {
        let total = saturating_sum(panel.counts.iter().flatten());
        let correct = saturating_sum(
            panel
                .counts
                .iter()
                .enumerate()
                .filter_map(|(i, row)| row.get(i)),
        );
        let caption = if total > 0 {
            format!(
                "{} · accuracy {:.1} %",
                panel.label,
                100.0 * correct as f64 / total as f64
            )
        } else {
            panel.label.clone()
        };
        let caption = p.truncate(&caption, grid.width() + 140, LABEL_PX + 1.0);
        p.text(
            &caption,
            (grid.cx(), grid.y0 - 10),
            LABEL_PX + 1.0,
            TEXT,
            HPos::Center,
            VPos::Bottom,
        )?;

        let line_h = line_height(row_px);
        for (i, lines) in rows.iter().enumerate() {
            let cy = grid.y0 + cell * i as i32 + cell / 2;
            let mut y = cy - (lines.len() as i32 - 1) * line_h / 2;
            for line in lines {
                p.text(
                    line,
                    (grid.x0 - 8, y),
                    row_px,
                    TEXT,
                    HPos::Right,
                    VPos::Center,
                )?;
                y += line_h;
            }
        }
        for j in 0..self.classes.len() {
            cols.draw(p, j, grid.x0 + cell * j as i32 + cell / 2, grid.y1)?;
        }

        if panel.counts.is_empty() {
            p.stroke_rect((grid.x0, grid.y0), (grid.x1, grid.y1), &AXIS.mix(0.4))?;
            return p.text(
                "no data",
                (grid.cx(), grid.cy()),
                LABEL_PX + 2.0,
                MUTED,
                HPos::Center,
                VPos::Center,
            );
        }

        // Counts at a size that fits the widest count; row shares below when there is room.
        let widest = panel
            .counts
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string();
        let count_px = [VALUE_PX + 2.0, VALUE_PX, MIN_PX, 8.0]
            .into_iter()
            .find(|&px| p.text_width(&widest, px) <= cell - 6 && px * 1.3 <= f64::from(cell))
            .unwrap_or(0.0);
        let show_share = count_px > 0.0
            && f64::from(cell) >= count_px * 1.3 + 24.0
            && p.text_width("100 %", MIN_PX + 0.5) <= cell - 6;

        for (i, row) in panel.counts.iter().enumerate() {
            let row_total = saturating_sum(row);
            for (j, &count) in row.iter().enumerate() {
                let share = if row_total > 0 {
                    count as f64 / row_total as f64
                } else {
                    0.0
                };
                let fill = style::blues(share);
                let x0 = grid.x0 + cell * j as i32;
                let y0 = grid.y0 + cell * i as i32;
                p.fill_rect((x0, y0), (x0 + cell - 1, y0 + cell - 1), &fill)?;
                if count_px <= 0.0 {
                    continue;
                }
                let (cx, cy) = (x0 + cell / 2, y0 + cell / 2);
                let ink = style::text_on(fill);
                if show_share {
                    p.text(
                        &count.to_string(),
                        (cx, cy - 1),
                        count_px,
                        ink,
                        HPos::Center,
                        VPos::Bottom,
                    )?;
                    let share_text = if row_total > 0 {
                        format!("{:.0} %", share * 100.0)
                    } else {
                        "–".to_string()
                    };
                    p.text(
                        &share_text,
                        (cx, cy + 3),
                        MIN_PX + 0.5,
                        ink,
                        HPos::Center,
                        VPos::Top,
                    )?;
                } else {
                    p.text(
                        &count.to_string(),
                        (cx, cy),
                        count_px,
                        ink,
                        HPos::Center,
                        VPos::Center,
                    )?;
                }
            }
        }
        // A thin frame around the grid.
        p.stroke_rect(
            (grid.x0, grid.y0),
            (grid.x1 - 1, grid.y1 - 1),
            &AXIS.mix(0.5),
        )
    }
}

/// The vertical colour scale: 0 % at the bottom to 100 % at the top, with its meaning.
fn colour_scale<DB: DrawingBackend>(p: &Painter<DB>, r: Rect) -> DrawResult<DB> {
    let steps = 64;
    for k in 0..steps {
        let t0 = f64::from(k) / f64::from(steps);
        let t1 = f64::from(k + 1) / f64::from(steps);
        let ya = r.y1 - (t0 * f64::from(r.height())).round() as i32;
        let yb = r.y1 - (t1 * f64::from(r.height())).round() as i32;
        p.fill_rect((r.x0, yb), (r.x1, ya), &style::blues((t0 + t1) / 2.0))?;
    }
    p.stroke_rect((r.x0, r.y0), (r.x1, r.y1), &AXIS.mix(0.6))?;
    for (t, label) in [(0.0, "0 %"), (0.5, "50 %"), (1.0, "100 %")] {
        let y = r.y1 - (t * f64::from(r.height())).round() as i32;
        p.line(vec![(r.x1, y), (r.x1 + 4, y)], &AXIS, 1)?;
        p.text(
            label,
            (r.x1 + 7, y),
            TICK_PX - 1.0,
            TEXT,
            HPos::Left,
            VPos::Center,
        )?;
    }
    let label_x = r.x1 + 7 + p.text_width("100 %", TICK_PX - 1.0) + 6;
    p.text_up("share of true class", (label_x, r.cy()), TICK_PX, MUTED)
}

/// The sum of counts, saturating instead of overflowing.
fn saturating_sum<'a>(counts: impl IntoIterator<Item = &'a u64>) -> u64 {
    counts.into_iter().fold(0, |acc, &c| acc.saturating_add(c))
}
