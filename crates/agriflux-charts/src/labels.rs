//! Category labels under an axis: upright and wrapped when they fit, rotated and shortened
//! when they do not.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::layout::{DrawResult, line_height};
use super::painter::Painter;
use super::style::{MIN_PX, TEXT, TICK_PX};

/// Labels under a row of categories (bar groups, matrix columns): horizontal, wrapped onto
/// up to three lines and shrunk to fit their slot, or, when even that would cut them,
/// turned to read bottom to top.
#[derive(Debug, Clone)]
pub(super) enum CategoryLabels {
    /// Upright labels, each as lines at size `px`.
    Upright { lines: Vec<Vec<String>>, px: f64 },
    /// Rotated labels at size `px`, shortened to `max_len` pixels where necessary.
    Rotated {
        texts: Vec<String>,
        px: f64,
        len: i32,
    },
}

impl CategoryLabels {
    /// Lays out `texts` for slots `slot_w` pixels wide; rotated labels get at most `max_len`.
    pub(super) fn layout<DB: DrawingBackend>(
        p: &Painter<DB>,
        texts: &[String],
        slot_w: i32,
        max_len: i32,
    ) -> Self {
        let sizes = [TICK_PX, TICK_PX - 1.0, MIN_PX];
        if let Some(&px) = sizes
            .iter()
            .find(|&&px| texts.iter().all(|t| p.wrap(t, slot_w, px, 3).is_some()))
        {
            let lines = texts
                .iter()
                .map(|t| p.wrap(t, slot_w, px, 3).unwrap_or_else(|| vec![t.clone()]))
                .collect();
            return CategoryLabels::Upright { lines, px };
        }
        let px = if f64::from(slot_w) >= TICK_PX * 1.3 {
            TICK_PX
        } else {
            MIN_PX
        };
        let texts: Vec<String> = texts.iter().map(|t| p.truncate(t, max_len, px)).collect();
        let len = texts.iter().map(|t| p.text_width(t, px)).max().unwrap_or(0);
        CategoryLabels::Rotated { texts, px, len }
    }

    /// The height the labels take below the axis, gap included.
    pub(super) fn height(&self) -> i32 {
        match self {
            CategoryLabels::Upright { lines, px } => {
                let n = lines.iter().map(Vec::len).max().unwrap_or(1) as i32;
                8 + n * line_height(*px)
            }
            CategoryLabels::Rotated { len, .. } => 8 + len,
        }
    }

    /// Draws label `i` centred on `x`, starting 8 pixels below `y`.
    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        p: &Painter<DB>,
        i: usize,
        x: i32,
        y: i32,
    ) -> DrawResult<DB> {
        match self {
            CategoryLabels::Upright { lines, px } => {
                let mut ty = y + 8;
                for line in lines.get(i).into_iter().flatten() {
                    p.text(line, (x, ty), *px, TEXT, HPos::Center, VPos::Top)?;
                    ty += line_height(*px);
                }
                Ok(())
            }
            CategoryLabels::Rotated { texts, px, .. } => match texts.get(i) {
                Some(t) => p.text_rotated(t, (x, y + 7), *px, TEXT, HPos::Right, VPos::Center),
                None => Ok(()),
            },
        }
    }
}
