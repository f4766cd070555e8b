//! How each map layer is coloured, its legend, and the PNG overlays the window stacks.
//!
//! Ramps are interpolated between published anchor colours: viridis (perceptually uniform,
//! readable in grey and by colour-blind readers) for NDVI and its forecast, ColorBrewer's BrBG
//! (diverging at zero) for the forecast's change, ColorBrewer's Blues for confidence. Health
//! classes use the RdYlGn-like colours agronomists know, always beside their names.

use base64::Engine as _;

use super::view::LegendEntry;

/// An RGB colour.
pub(crate) type Rgb = [u8; 3];

/// A continuous colour ramp: anchors from low to high over `[low, high]`.
pub(crate) struct Ramp {
    pub low: f32,
    pub high: f32,
    pub anchors: &'static [Rgb],
    /// Where the legend puts labelled stops.
    pub stops: &'static [f32],
}

/// viridis at nine evenly spaced points (matplotlib's table).
const VIRIDIS: [Rgb; 9] = [
    [0x44, 0x01, 0x54],
    [0x47, 0x2d, 0x7b],
    [0x3b, 0x52, 0x8b],
    [0x2c, 0x72, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x28, 0xae, 0x80],
    [0x5e, 0xc9, 0x62],
    [0xad, 0xdc, 0x30],
    [0xfd, 0xe7, 0x25],
];

/// ColorBrewer BrBG, five classes: loss brown, no change near white, gain teal.
const BRBG: [Rgb; 5] = [
    [0xa6, 0x61, 0x1a],
    [0xdf, 0xc2, 0x7d],
    [0xf5, 0xf5, 0xf5],
    [0x80, 0xcd, 0xc1],
    [0x01, 0x85, 0x71],
];

/// ColorBrewer Blues, five classes.
const BLUES: [Rgb; 5] = [
    [0xef, 0xf3, 0xff],
    [0xbd, 0xd7, 0xe7],
    [0x6b, 0xae, 0xd6],
    [0x31, 0x82, 0xbd],
    [0x08, 0x51, 0x9c],
];

/// NDVI and its forecast: 0 (bare soil, water below) to 1 (dense green canopy).
pub(crate) const NDVI_RAMP: Ramp = Ramp {
    low: 0.0,
    high: 1.0,
    anchors: &VIRIDIS,
    stops: &[0.0, 0.25, 0.5, 0.75, 1.0],
};

/// The forecast's change from the shown date's NDVI.
pub(crate) const CHANGE_RAMP: Ramp = Ramp {
    low: -0.2,
    high: 0.2,
    anchors: &BRBG,
    stops: &[-0.2, -0.1, 0.0, 0.1, 0.2],
};

/// The CNN's probability of its predicted class (at least 1/4 with four classes).
pub(crate) const CONFIDENCE_RAMP: Ramp = Ramp {
    low: 0.25,
    high: 1.0,
    anchors: &BLUES,
    stops: &[0.25, 0.5, 0.75, 1.0],
};

/// Colours of the crop-health classes, Healthy to Critical.
pub(crate) const CLASS_COLOURS: [Rgb; 4] = [
    [0x1a, 0x96, 0x41],
    [0xa6, 0xd9, 0x6a],
    [0xfd, 0xae, 0x61],
    [0xd7, 0x19, 0x1c],
];

/// What the cloud layer marks, with its colour and opacity: pixels the pipeline does not use.
pub(crate) const CLOUD_CLASSES: [(&str, Rgb, u8); 5] = [
    ("Cloud", [0xff, 0xff, 0xff], 220),
    ("Thin cirrus", [0xc6, 0xdb, 0xef], 170),
    ("Cloud shadow", [0x40, 0x40, 0x40], 170),
    ("Snow or ice", [0x9e, 0xe7, 0xf5], 200),
    ("No data or defective", [0x00, 0x00, 0x00], 140),
];

impl Ramp {
    /// The colour of `value` (clamped to the ramp's range).
    pub fn colour(&self, value: f32) -> Rgb {
        let t = ((value - self.low) / (self.high - self.low)).clamp(0.0, 1.0);
        let segments = (self.anchors.len() - 1) as f32;
        let position = t * segments;
        let k = (position.floor() as usize).min(self.anchors.len() - 2);
        let f = position - k as f32;
        let (a, b) = (self.anchors[k], self.anchors[k + 1]);
        std::array::from_fn(|c| {
            (f32::from(a[c]) + f * (f32::from(b[c]) - f32::from(a[c]))).round() as u8
        })
    }

    /// The legend: labelled stops from low to high.
    pub fn legend(&self, decimals: usize) -> Vec<LegendEntry> {
        self.stops
            .iter()
            .map(|v| LegendEntry {
                label: if *v > 0.0 && self.low < 0.0 {
                    format!("+{v:.decimals$}")
                } else {
                    format!("{v:.decimals$}")
                },
                colour: hex(self.colour(*v)),
            })
            .collect()
    }

    /// RGBA pixels of `values` (transparent where a value is not finite).
    pub fn paint(&self, values: &[f32]) -> Vec<u8> {
        let mut rgba = Vec::with_capacity(values.len() * 4);
        for v in values {
            if v.is_finite() {
                rgba.extend_from_slice(&self.colour(*v));
                rgba.push(255);
            } else {
                rgba.extend_from_slice(&[0, 0, 0, 0]);
            }
        }
        rgba
    }
}

/// `#rrggbb`.
pub(crate) fn hex([r, g, b]: Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The legend of the health classes.
pub(crate) fn class_legend(names: &[&str]) -> Vec<LegendEntry> {
    names
        .iter()
        .zip(CLASS_COLOURS)
        .map(|(name, colour)| LegendEntry {
            label: (*name).to_string(),
            colour: hex(colour),
        })
        .collect()
}

/// The legend of the cloud layer.
pub(crate) fn cloud_legend() -> Vec<LegendEntry> {
    CLOUD_CLASSES
        .iter()
        .map(|(name, colour, _)| LegendEntry {
            label: (*name).to_string(),
            colour: hex(*colour),
        })
        .collect()
}

/// PNG bytes of an RGBA image.
pub(crate) fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgba).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A PNG file's bytes as a `data:` URL the window can show without file access.
pub(crate) fn png_data_url(bytes: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}
