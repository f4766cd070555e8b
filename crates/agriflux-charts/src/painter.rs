//! The pixel-space painter every chart draws with: text measured with the bundled font,
//! the title, legends, the "no data" note and numeric axes.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::layout::{DrawResult, LegendItem, Marker, Rect, Scale, Swatch};
use super::style::{AXIS, GRID, LABEL_PX, MUTED, TEXT, TICK_PX, TITLE_PX, Ticks, text_style};

/// Width of a swatch plus the gap before its label.
const SWATCH_W: i32 = 30;
/// Space between two legend entries in a row.
const ITEM_GAP: i32 = 26;
/// Height of a legend row.
const LEGEND_ROW_H: i32 = 22;

/// Pixel-space drawing on the root area of a chart.
pub(super) struct Painter<'a, DB: DrawingBackend> {
    pub(super) area: &'a DrawingArea<DB, Shift>,
}

impl<'a, DB: DrawingBackend> Painter<'a, DB> {
    /// A painter on `area`, whose origin must be the chart's top-left corner.
    pub(super) fn new(area: &'a DrawingArea<DB, Shift>) -> Self {
        Painter { area }
    }

    /// The chart's full rectangle.
    pub(super) fn bounds(&self) -> Rect {
        let (w, h) = self.area.dim_in_pixel();
        Rect {
            x0: 0,
            y0: 0,
            x1: w as i32,
            y1: h as i32,
        }
    }

    /// The width of `text` at `px` pixels, rounded up.
    pub(super) fn text_width(&self, text: &str, px: f64) -> i32 {
        let st = text_style(px, TEXT, HPos::Left, VPos::Top);
        match self.area.estimate_text_size(text, &st) {
            Ok((w, _)) => w as i32 + 1,
            // Without a usable font the drawing itself fails and reports it; guess meanwhile.
            Err(_) => (text.chars().count() as f64 * px * 0.6).ceil() as i32,
        }
    }

    /// Draws `text` at `pos`, anchored at (`h`, `v`).
    pub(super) fn text(
        &self,
        text: &str,
        pos: (i32, i32),
        px: f64,
        color: RGBColor,
        h: HPos,
        v: VPos,
    ) -> DrawResult<DB> {
        self.area.draw_text(text, &text_style(px, color, h, v), pos)
    }

    /// Draws `text` reading bottom to top, centred on `pos` along its length, with its top
    /// (the left side once rotated) at `pos.0`.
    pub(super) fn text_up(
        &self,
        text: &str,
        pos: (i32, i32),
        px: f64,
        color: RGBColor,
    ) -> DrawResult<DB> {
        self.text_rotated(text, pos, px, color, HPos::Center, VPos::Top)
    }

    /// Draws `text` reading bottom to top; `h` and `v` anchor it as if it were upright
    /// (`HPos::Right` hangs it below `pos`, `VPos::Center` centres it across).
    pub(super) fn text_rotated(
        &self,
        text: &str,
        pos: (i32, i32),
        px: f64,
        color: RGBColor,
        h: HPos,
        v: VPos,
    ) -> DrawResult<DB> {
        let st = text_style(px, color, h, v).transform(FontTransform::Rotate270);
        self.area.draw_text(text, &st, pos)
    }

    /// Fills the rectangle spanned by two corners.
    pub(super) fn fill_rect<C: Color>(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        color: &C,
    ) -> DrawResult<DB> {
        self.area.draw(&Rectangle::new([a, b], color.filled()))
    }

    /// Outlines the rectangle spanned by two corners.
    pub(super) fn stroke_rect<C: Color>(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        color: &C,
    ) -> DrawResult<DB> {
        self.area
            .draw(&Rectangle::new([a, b], color.stroke_width(1)))
    }

    /// A solid polyline.
    pub(super) fn line<C: Color>(
        &self,
        points: Vec<(i32, i32)>,
        color: &C,
        width: u32,
    ) -> DrawResult<DB> {
        self.area
            .draw(&PathElement::new(points, color.stroke_width(width)))
    }

    /// A dashed polyline, dashes continuing across vertices.
    pub(super) fn dashed<C: Color>(
        &self,
        points: Vec<(i32, i32)>,
        color: &C,
        width: u32,
        dash: i32,
        gap: i32,
    ) -> DrawResult<DB> {
        self.area.draw(&DashedPathElement::new(
            points,
            dash,
            gap,
            color.stroke_width(width),
        ))
    }

    /// A filled circle.
    pub(super) fn dot<C: Color>(&self, c: (i32, i32), r: i32, color: &C) -> DrawResult<DB> {
        self.area.draw(&Circle::new(c, r.max(1), color.filled()))
    }

    /// A marker of radius `r` centred on `c`.
    pub(super) fn marker(
        &self,
        shape: Marker,
        c: (i32, i32),
        r: i32,
        color: RGBAColor,
    ) -> DrawResult<DB> {
        let (x, y) = c;
        match shape {
            Marker::Circle => self.dot(c, r, &color),
            Marker::Square => {
                let s = (f64::from(r) * 0.85).round() as i32;
                self.fill_rect((x - s, y - s), (x + s, y + s), &color)
            }
            Marker::Triangle => {
                let h = (f64::from(r) * 1.15).round() as i32;
                self.area.draw(&Polygon::new(
                    vec![(x, y - h), (x + h, y + r * 3 / 4), (x - h, y + r * 3 / 4)],
                    color.filled(),
                ))
            }
            Marker::Diamond => {
                let h = (f64::from(r) * 1.2).round() as i32;
                self.area.draw(&Polygon::new(
                    vec![(x, y - h), (x + h, y), (x, y + h), (x - h, y)],
                    color.filled(),
                ))
            }
            Marker::Cross => {
                self.line(vec![(x - r, y - r), (x + r, y + r)], &color, 2)?;
                self.line(vec![(x - r, y + r), (x + r, y - r)], &color, 2)
            }
        }
    }

    /// The "best epoch" marker: a dark ring around a dot of the series colour.
    pub(super) fn best_marker(&self, c: (i32, i32), color: RGBColor) -> DrawResult<DB> {
        self.dot(c, 7, &WHITE)?;
        self.dot(c, 6, &TEXT)?;
        self.dot(c, 4, &color)
    }

    /// Fills the chart white and draws the title centred at the top (shrinking a title that
    /// is too wide); returns the rest of the chart.
    pub(super) fn frame(&self, title: &str) -> Result<Rect, DrawingAreaErrorKind<DB::ErrorType>> {
        self.area.fill(&WHITE)?;
        let b = self.bounds();
        let (lines, px) = self.fit(title, b.width() - 40, &[TITLE_PX, 17.0, 15.0, 13.0], 2);
        let line_h = (px * 1.3).round() as i32;
        let mut y = 12;
        for line in &lines {
            self.text(line, (b.cx(), y), px, TEXT, HPos::Center, VPos::Top)?;
            y += line_h;
        }
        Ok(Rect { y0: y + 4, ..b })
    }

    /// Draws the "no data" note in `rect`.
    pub(super) fn no_data(&self, rect: Rect, note: &str) -> DrawResult<DB> {
        let r = Rect {
            x0: rect.x0 + 40,
            y0: rect.y0 + 10,
            x1: rect.x1 - 40,
            y1: rect.y1 - 30,
        };
        self.stroke_rect((r.x0, r.y0), (r.x1, r.y1), &GRID)?;
        self.text(
            "no data",
            (r.cx(), r.cy() - 12),
            18.0,
            MUTED,
            HPos::Center,
            VPos::Center,
        )?;
        let (lines, px) = self.fit(note, r.width() - 40, &[LABEL_PX, 12.0], 2);
        let mut y = r.cy() + 14;
        for line in lines {
            self.text(&line, (r.cx(), y), px, MUTED, HPos::Center, VPos::Top)?;
            y += (px * 1.3).round() as i32;
        }
        Ok(())
    }

    /// The width of a legend entry.
    fn item_width(&self, item: &LegendItem) -> i32 {
        SWATCH_W + self.text_width(&item.label, LABEL_PX)
    }

    /// Draws the swatch of an entry whose row is centred on `cy`, starting at `x`.
    fn swatch(&self, swatch: Swatch, x: i32, cy: i32) -> DrawResult<DB> {
        match swatch {
            Swatch::Box(c) => self.fill_rect((x + 4, cy - 7), (x + 18, cy + 7), &c),
            Swatch::Line { color, dashed } => {
                if dashed {
                    self.dashed(vec![(x, cy), (x + 23, cy)], &color, 2, 6, 3)
                } else {
                    self.line(vec![(x, cy), (x + 22, cy)], &color, 2)
                }
            }
            Swatch::Point(m, c) => self.marker(m, (x + 11, cy), 5, c.to_rgba()),
            Swatch::Best => self.best_marker((x + 11, cy), MUTED),
        }
    }

    /// Lays the legend out in centred rows across the top of `rect`, wrapping as needed, and
    /// returns what is left of `rect` below it.
    pub(super) fn legend_top(
        &self,
        rect: Rect,
        items: &[LegendItem],
    ) -> Result<Rect, DrawingAreaErrorKind<DB::ErrorType>> {
        if items.is_empty() {
            return Ok(rect);
        }
        let max_w = rect.width() - 40;
        let mut rows: Vec<Vec<(&LegendItem, i32)>> = vec![Vec::new()];
        let mut row_w = 0;
        for item in items {
            let w = self.item_width(item);
            let last = rows.len() - 1;
            if !rows[last].is_empty() && row_w + ITEM_GAP + w > max_w {
                rows.push(Vec::new());
                row_w = 0;
            }
            let last = rows.len() - 1;
            row_w += if rows[last].is_empty() {
                w
            } else {
                ITEM_GAP + w
            };
            rows[last].push((item, w));
        }
        let mut cy = rect.y0 + LEGEND_ROW_H / 2;
        for row in &rows {
            let total: i32 =
                row.iter().map(|(_, w)| w).sum::<i32>() + ITEM_GAP * (row.len() as i32 - 1);
            let mut x = rect.cx() - total / 2;
            for (item, w) in row {
                self.swatch(item.swatch, x, cy)?;
                self.text(
                    &item.label,
                    (x + SWATCH_W, cy),
                    LABEL_PX,
                    TEXT,
                    HPos::Left,
                    VPos::Center,
                )?;
                x += w + ITEM_GAP;
            }
            cy += LEGEND_ROW_H;
        }
        Ok(Rect {
            y0: rect.y0 + LEGEND_ROW_H * rows.len() as i32 + 6,
            ..rect
        })
    }

    /// The width a vertical legend of `items` needs.
    pub(super) fn legend_column_width(&self, items: &[LegendItem]) -> i32 {
        items.iter().map(|i| self.item_width(i)).max().unwrap_or(0)
    }

    /// Draws a vertical legend with its top-left corner at `(x, y)`; returns the y below it.
    pub(super) fn legend_column(
        &self,
        x: i32,
        y: i32,
        items: &[LegendItem],
    ) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
        let mut cy = y + LEGEND_ROW_H / 2;
        for item in items {
            self.swatch(item.swatch, x, cy)?;
            self.text(
                &item.label,
                (x + SWATCH_W, cy),
                LABEL_PX,
                TEXT,
                HPos::Left,
                VPos::Center,
            )?;
            cy += LEGEND_ROW_H + 2;
        }
        Ok(cy - LEGEND_ROW_H / 2)
    }

    /// Fits `text` into `max_w` pixels: on one line at the first size of `sizes` that fits,
    /// else split into at most `max_lines` lines at spaces, else at the last size, shortened
    /// with an ellipsis. Returns the lines and the size.
    pub(super) fn fit(
        &self,
        text: &str,
        max_w: i32,
        sizes: &[f64],
        max_lines: usize,
    ) -> (Vec<String>, f64) {
        let sizes = if sizes.is_empty() {
            &[TICK_PX][..]
        } else {
            sizes
        };
        for &px in sizes {
            if let Some(lines) = self.wrap(text, max_w, px, max_lines) {
                return (lines, px);
            }
        }
        let px = sizes[sizes.len() - 1];
        (vec![self.truncate(text, max_w, px)], px)
    }

    /// Fits every text of `texts` into `max_w` pixels like [`Painter::fit`], all at one
    /// size: the first of `sizes` at which each fits on at most `max_lines` lines.
    pub(super) fn fit_all(
        &self,
        texts: &[String],
        max_w: i32,
        sizes: &[f64],
        max_lines: usize,
    ) -> (Vec<Vec<String>>, f64) {
        let sizes = if sizes.is_empty() {
            &[TICK_PX][..]
        } else {
            sizes
        };
        let px = sizes
            .iter()
            .copied()
            .find(|&px| {
                texts
                    .iter()
                    .all(|t| self.wrap(t, max_w, px, max_lines).is_some())
            })
            .unwrap_or(sizes[sizes.len() - 1]);
        let lines = texts
            .iter()
            .map(|t| self.fit(t, max_w, &[px], max_lines).0)
            .collect();
        (lines, px)
    }

    /// `text` on at most `max_lines` lines of at most `max_w` pixels at `px` pixels: one
    /// line if it fits, else two balanced lines, else words filled greedily; `None` if it
    /// cannot fit without cutting a word.
    pub(super) fn wrap(
        &self,
        text: &str,
        max_w: i32,
        px: f64,
        max_lines: usize,
    ) -> Option<Vec<String>> {
        if self.text_width(text, px) <= max_w {
            return Some(vec![text.to_string()]);
        }
        if max_lines < 2 {
            return None;
        }
        if let Some((a, b)) = self.split_two(text, px)
            && self.text_width(&a, px) <= max_w
            && self.text_width(&b, px) <= max_w
        {
            return Some(vec![a, b]);
        }
        let mut lines: Vec<String> = Vec::new();
        for word in text.split_whitespace() {
            if self.text_width(word, px) > max_w {
                return None;
            }
            match lines.last_mut() {
                Some(line) if self.text_width(&format!("{line} {word}"), px) <= max_w => {
                    line.push(' ');
                    line.push_str(word);
                }
                _ => lines.push(word.to_string()),
            }
        }
        (lines.len() <= max_lines).then_some(lines)
    }

    /// `text` split at the space that best balances the two lines, if it has a space.
    fn split_two(&self, text: &str, px: f64) -> Option<(String, String)> {
        text.char_indices()
            .filter(|&(_, c)| c == ' ' || c == '-' || c == '_' || c == '/')
            .map(|(i, c)| {
                // Keep a hyphen or slash at the end of the first line; drop a space.
                let (a, b) = if c == ' ' {
                    (&text[..i], &text[i + 1..])
                } else {
                    (&text[..i + c.len_utf8()], &text[i + c.len_utf8()..])
                };
                (a.trim().to_string(), b.trim().to_string())
            })
            .filter(|(a, b)| !a.is_empty() && !b.is_empty())
            .min_by_key(|(a, b)| self.text_width(a, px).max(self.text_width(b, px)))
    }

    /// `text` shortened with a trailing ellipsis until it fits into `max_w` pixels.
    pub(super) fn truncate(&self, text: &str, max_w: i32, px: f64) -> String {
        if self.text_width(text, px) <= max_w {
            return text.to_string();
        }
        let chars: Vec<char> = text.chars().collect();
        for keep in (0..chars.len()).rev() {
            let candidate: String = chars[..keep]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string()
                + "…";
            if self.text_width(&candidate, px) <= max_w {
                return candidate;
            }
        }
        "…".to_string()
    }

    /// The width of the left axis area: tick labels, tick marks and the rotated description.
    pub(super) fn y_axis_width(&self, ticks: &Ticks, label: Option<&str>) -> i32 {
        let labels_w = ticks
            .values
            .iter()
            .map(|v| self.text_width(&ticks.label(*v), TICK_PX))
            .max()
            .unwrap_or(0);
        labels_w
            + 10
            + if label.is_some() {
                LABEL_PX as i32 + 14
            } else {
                0
            }
            + 8
    }

    /// Draws horizontal grid lines, tick labels and the left axis of `plot`, with the
    /// description centred at the left edge of `outer`.
    pub(super) fn y_axis(
        &self,
        plot: Rect,
        outer: Rect,
        y: &Scale,
        ticks: &Ticks,
        label: Option<&str>,
    ) -> DrawResult<DB> {
        for &v in &ticks.values {
            let py = y.px(v);
            if py < plot.y0 - 1 || py > plot.y1 + 1 {
                continue;
            }
            if py < plot.y1 - 1 {
                self.line(vec![(plot.x0, py), (plot.x1, py)], &GRID, 1)?;
            }
            self.line(vec![(plot.x0 - 5, py), (plot.x0, py)], &AXIS, 1)?;
            self.text(
                &ticks.label(v),
                (plot.x0 - 9, py),
                TICK_PX,
                TEXT,
                HPos::Right,
                VPos::Center,
            )?;
        }
        self.line(vec![(plot.x0, plot.y0), (plot.x0, plot.y1)], &AXIS, 1)?;
        if let Some(label) = label {
            let label = self.truncate(label, plot.height(), LABEL_PX);
            self.text_up(&label, (outer.x0 + 8, plot.cy()), LABEL_PX, TEXT)?;
        }
        Ok(())
    }

    /// The height of the bottom axis area of a numeric axis.
    pub(super) fn x_axis_height(&self, label: Option<&str>) -> i32 {
        TICK_PX as i32
            + 14
            + if label.is_some() {
                LABEL_PX as i32 + 12
            } else {
                0
            }
    }

    /// Draws vertical grid lines, tick labels, the bottom axis of `plot` and its
    /// description below.
    pub(super) fn x_axis(
        &self,
        plot: Rect,
        x: &Scale,
        ticks: &Ticks,
        label: Option<&str>,
    ) -> DrawResult<DB> {
        for &v in &ticks.values {
            let px = x.px(v);
            if px < plot.x0 - 1 || px > plot.x1 + 1 {
                continue;
            }
            if px > plot.x0 + 1 {
                self.line(vec![(px, plot.y0), (px, plot.y1)], &GRID, 1)?;
            }
            self.line(vec![(px, plot.y1), (px, plot.y1 + 5)], &AXIS, 1)?;
            self.text(
                &ticks.label(v),
                (px, plot.y1 + 8),
                TICK_PX,
                TEXT,
                HPos::Center,
                VPos::Top,
            )?;
        }
        self.line(vec![(plot.x0, plot.y1), (plot.x1, plot.y1)], &AXIS, 1)?;
        if let Some(label) = label {
            let y = plot.y1 + 8 + TICK_PX as i32 + 10;
            self.text(
                label,
                (plot.cx(), y),
                LABEL_PX,
                TEXT,
                HPos::Center,
                VPos::Top,
            )?;
        }
        Ok(())
    }
}
