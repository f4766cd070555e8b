//! The shared look of every chart: the bundled font, text sizes, the colour-blind-safe
//! palette, number formatting and "nice" axis ticks.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font family every chart uses; in SVG it lets the viewer pick its own sans-serif face.
pub(super) const FONT_FAMILY: &str = "sans-serif";

/// Chart titles.
pub(super) const TITLE_PX: f64 = 20.0;
/// Axis descriptions, legend entries and panel titles.
pub(super) const LABEL_PX: f64 = 14.0;
/// Tick labels and category names.
pub(super) const TICK_PX: f64 = 12.5;
/// Values printed on bars and in cells.
pub(super) const VALUE_PX: f64 = 12.0;
/// The smallest text we ever draw, when long labels have to shrink.
pub(super) const MIN_PX: f64 = 10.0;

/// plotters' SVG backend writes `font-size = size / 1.24`; scaling by this makes the SVG say
/// the pixel sizes above (which the PNG, rasterised from the SVG, keeps).
const PLOTTERS_FONT_SCALE: f64 = 1.24;

/// The colour of models trained on real data (matplotlib's tab:blue).
pub(super) const REAL: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// The colour of models trained on synthetic data (tab:orange).
pub(super) const SYNTHETIC: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// The colour of baselines such as persistence (tab:grey).
pub(super) const BASELINE: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);
/// Further series colours, in order of use (tab:green, purple, brown, pink, cyan).
const EXTRA: [RGBColor; 5] = [
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Body text.
pub(super) const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Secondary text: notes, "n/a", "no data".
pub(super) const MUTED: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
/// Axis lines and tick marks.
pub(super) const AXIS: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// Grid lines.
pub(super) const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);

/// Registers the bundled Ubuntu Light face as `sans-serif` for plotters' `ab_glyph` text
/// engine, once per process, so that text renders without any system font.
pub(super) fn ensure_fonts() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bundled font always parses; were it ever rejected, drawing text would fail with
        // a font error that the chart functions report as `ChartError::Render`.
        let _ = plotters::style::register_font(
            FONT_FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// The fonts `resvg` draws the SVG's text with: the same bundled face, as every generic
/// family, and no system font (a PNG must not depend on the machine's fonts).
pub(super) fn svg_fonts() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    static FONTS: std::sync::OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
            let family = db
                .faces()
                .next()
                .and_then(|face| face.families.first())
                .map(|(name, _)| name.clone())
                .unwrap_or_else(|| "Ubuntu".to_string());
            db.set_sans_serif_family(family.clone());
            db.set_serif_family(family.clone());
            db.set_monospace_family(family);
            std::sync::Arc::new(db)
        })
        .clone()
}

/// A text style of `px` pixels in `color`, anchored at (`h`, `v`).
pub(super) fn text_style(px: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle {
        font: FontDesc::new(
            FontFamily::Name(FONT_FAMILY),
            px * PLOTTERS_FONT_SCALE,
            FontStyle::Normal,
        ),
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

/// The colour for each series, given its label and whether it is drawn in a second style
/// (dashed): labels naming "real", "synthetic" or a "persistence"/"baseline" get their fixed
/// colour, as long as no earlier series of the same style has it; the rest take the first
/// colour still free.
pub(super) fn series_colors(series: &[(&str, bool)]) -> Vec<RGBColor> {
    let mut colors: Vec<Option<RGBColor>> = vec![None; series.len()];
    let mut taken: Vec<(RGBColor, bool)> = Vec::new();
    for (i, &(label, variant)) in series.iter().enumerate() {
        if let Some(c) = keyword_color(label)
            && !taken.contains(&(c, variant))
        {
            colors[i] = Some(c);
            taken.push((c, variant));
        }
    }
    let order: Vec<RGBColor> = [REAL, SYNTHETIC]
        .into_iter()
        .chain(EXTRA)
        .chain([BASELINE])
        .collect();
    for (i, &(_, variant)) in series.iter().enumerate() {
        if colors[i].is_some() {
            continue;
        }
        let c = order
            .iter()
            .copied()
            .find(|c| !taken.contains(&(*c, variant)))
            .unwrap_or(order[i % order.len()]);
        colors[i] = Some(c);
        taken.push((c, variant));
    }
    colors.into_iter().map(|c| c.unwrap_or(REAL)).collect()
}

/// The fixed colour a label asks for by naming what it shows, if any.
fn keyword_color(label: &str) -> Option<RGBColor> {
    let lower = label.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if has(&["synthetic", "synth"]) {
        Some(SYNTHETIC)
    } else if has(&["persistence", "baseline", "naive"]) {
        Some(BASELINE)
    } else if has(&["real"]) {
        Some(REAL)
    } else {
        None
    }
}

/// Text colour readable on a background of `c`: white on dark colours, near-black on light.
pub(super) fn text_on(c: RGBColor) -> RGBColor {
    let lin = |v: u8| {
        let v = f64::from(v) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2);
    if luminance > 0.3 { TEXT } else { WHITE }
}

/// `c` with opacity `alpha`.
pub(super) fn with_alpha(c: RGBColor, alpha: f64) -> RGBAColor {
    RGBAColor(c.0, c.1, c.2, alpha)
}

/// A point on the sequential "Blues" ramp (ColorBrewer) for `t` in 0..=1, from near-white to
/// dark blue; readable for all common forms of colour blindness since only lightness varies.
pub(super) fn blues(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (0xf7, 0xfb, 0xff),
        (0xde, 0xeb, 0xf7),
        (0xc6, 0xdb, 0xef),
        (0x9e, 0xca, 0xe1),
        (0x6b, 0xae, 0xd6),
        (0x42, 0x92, 0xc6),
        (0x21, 0x71, 0xb5),
        (0x08, 0x51, 0x9c),
        (0x08, 0x30, 0x6b),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// How many decimals values of this magnitude are printed with.
pub(super) fn value_decimals(max_abs: f64) -> usize {
    if !max_abs.is_finite() || max_abs >= 100.0 {
        0
    } else if max_abs >= 10.0 {
        1
    } else if max_abs >= 1.0 {
        2
    } else if max_abs >= 0.01 || max_abs == 0.0 {
        3
    } else {
        4
    }
}

/// `v` with `decimals` decimals, never printing "-0.00".
pub(super) fn format_value(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// Axis ticks: round values 1, 2 or 5 times a power of ten apart, and the decimals that
/// print them exactly.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ticks {
    /// The tick values, ascending, all within the axis range.
    pub(super) values: Vec<f64>,
    /// Decimals for the tick labels.
    pub(super) decimals: usize,
}

impl Ticks {
    /// The label of tick `v`.
    pub(super) fn label(&self, v: f64) -> String {
        format_value(v, self.decimals)
    }
}

/// At most about `max_n` round ticks between `lo` and `hi` (whole numbers if `integer`).
pub(super) fn nice_ticks(lo: f64, hi: f64, max_n: usize, integer: bool) -> Ticks {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Ticks {
            values: if lo.is_finite() { vec![lo] } else { vec![] },
            decimals: 2,
        };
    }
    // The smallest round step that gives at most `max_n` ticks.
    let max_n = max_n.max(2) as f64;
    let mag = 10f64.powf((span / max_n).log10().floor());
    let count = |step: f64| (hi / step + 1e-9).floor() - (lo / step - 1e-9).ceil() + 1.0;
    let mut step = [1.0, 2.0, 5.0, 10.0, 20.0]
        .into_iter()
        .map(|k| k * mag)
        .find(|&step| count(step) <= max_n)
        .unwrap_or(50.0 * mag);
    if integer && step < 1.0 {
        step = 1.0;
    }
    let decimals = if integer {
        0
    } else {
        (-step.log10() - 1e-9).ceil().max(0.0) as usize
    };
    let first = (lo / step - 1e-9).ceil();
    let mut values = Vec::new();
    for k in 0..=1000 {
        let v = (first + k as f64) * step;
        if v > hi + step * 1e-9 {
            break;
        }
        values.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
    }
    Ticks { values, decimals }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        let t = nice_ticks(0.0, 1.0, 6, false);
        assert_eq!(t.values.len(), 6);
        assert_eq!(t.decimals, 1);
        assert_eq!(t.label(t.values[3]), "0.6");
        let t = nice_ticks(1.0, 50.0, 10, true);
        assert!(
            t.values
                .iter()
                .all(|v| v.fract() == 0.0 && (1.0..=50.0).contains(v))
        );
        let t = nice_ticks(1.0, 3.0, 10, true);
        assert_eq!(t.values, vec![1.0, 2.0, 3.0]);
        let t = nice_ticks(0.06, 1.29, 6, false);
        assert_eq!(t.values.len(), 6, "{t:?}");
    }

    #[test]
    fn series_named_real_synthetic_and_persistence_get_their_colours() {
        let c = series_colors(&[
            ("persistence", false),
            ("synthetic", false),
            ("real", false),
        ]);
        assert_eq!(c, vec![BASELINE, SYNTHETIC, REAL]);
        let c = series_colors(&[
            ("real train", false),
            ("real val", true),
            ("real again", false),
        ]);
        assert_eq!(c[0], REAL);
        assert_eq!(c[1], REAL);
        assert_ne!(c[2], REAL);
    }

    #[test]
    fn negative_zero_prints_as_zero() {
        assert_eq!(format_value(-0.0001, 2), "0.00");
        assert_eq!(format_value(-0.5, 1), "-0.5");
    }
}
