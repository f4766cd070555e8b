//! Drawing helpers shared by the charts: a pixel-space painter, the title, legends, the
//! "no data" note, label fitting and numeric axes.
//!
//! Everything is laid out in pixels on the root drawing area, so the SVG and the PNG of a
//! chart come from the same code and measure text with the same (bundled) font.

use plotters::prelude::*;

/// The result of a drawing operation on backend `DB`.
pub(super) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A pixel rectangle, `x0..x1` by `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rect {
    pub(super) x0: i32,
    pub(super) y0: i32,
    pub(super) x1: i32,
    pub(super) y1: i32,
}

impl Rect {
    /// The width in pixels.
    pub(super) fn width(&self) -> i32 {
        self.x1 - self.x0
    }

    /// The height in pixels.
    pub(super) fn height(&self) -> i32 {
        self.y1 - self.y0
    }

    /// The horizontal centre.
    pub(super) fn cx(&self) -> i32 {
        (self.x0 + self.x1) / 2
    }

    /// The vertical centre.
    pub(super) fn cy(&self) -> i32 {
        (self.y0 + self.y1) / 2
    }
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    pub(super) lo: f64,
    pub(super) hi: f64,
    /// The pixel of `lo`.
    pub(super) p0: i32,
    /// The pixel of `hi`.
    pub(super) p1: i32,
}

impl Scale {
    /// The pixel of `v` (values outside the range map outside the pixel range).
    pub(super) fn px(&self, v: f64) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        let t = if t.is_finite() { t } else { 0.5 };
        (f64::from(self.p0) + t * f64::from(self.p1 - self.p0)).round() as i32
    }
}

/// The shapes that tell series apart besides their colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
    Cross,
}

impl Marker {
    /// The marker for the `i`-th series.
    pub(super) fn nth(i: usize) -> Marker {
        [
            Marker::Circle,
            Marker::Triangle,
            Marker::Square,
            Marker::Diamond,
            Marker::Cross,
        ][i % 5]
    }
}

/// What a legend entry shows before its label.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    /// A filled box, for bars.
    Box(RGBColor),
    /// A line, solid or dashed, for curves.
    Line { color: RGBColor, dashed: bool },
    /// A point marker, for scatters.
    Point(Marker, RGBColor),
    /// The "best epoch" marker of training curves.
    Best,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(super) struct LegendItem {
    pub(super) swatch: Swatch,
    pub(super) label: String,
}

/// The range `lo..hi` of the finite values, padded by `pad` of its span on both sides (or
/// widened around a single value); `None` when there is no finite value.
pub(super) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (lo, hi) =
        values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(None, |acc: Option<(f64, f64)>, v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })?;
    if hi > lo {
        let d = (hi - lo) * pad;
        Some((lo - d, hi + d))
    } else {
        let d = (lo.abs() * 0.1).max(0.5);
        Some((lo - d, hi + d))
    }
}

/// The distance between two lines of text of `px` pixels.
pub(super) fn line_height(px: f64) -> i32 {
    (px * 1.25).round() as i32
}
