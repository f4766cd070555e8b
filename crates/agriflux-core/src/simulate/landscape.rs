//! A simulated Punjab-like landscape: rectangular field parcels with crops and phenology,
//! roads, a village and a pond. Everything is derived from the seed, so a seed always gives
//! the same fields.

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What covers a pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cover {
    /// A crop field (index into [`Landscape::parcels`]).
    Field(usize),
    /// A road (bright, little vegetation).
    Road,
    /// Houses and yards.
    BuiltUp,
    /// Open water.
    Water,
}

/// One growing season of a crop, as days of year (the season may wrap over New Year).
#[derive(Clone, Copy, Debug)]
struct Season {
    sow: f64,
    peak: f64,
    harvest: f64,
}

/// Crops of the region with their calendars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crop {
    /// Rabi wheat followed by kharif rice, the dominant rotation in Punjab.
    WheatRice,
    /// Kharif cotton.
    Cotton,
    /// Sugarcane, nearly all year.
    Sugarcane,
    /// Kharif maize.
    Maize,
    /// Fallow: bare soil with some weeds in the monsoon.
    Fallow,
}

impl Crop {
    fn seasons(self) -> &'static [Season] {
        const WHEAT: Season = Season {
            sow: 314.0,
            peak: 65.0,
            harvest: 110.0,
        };
        const RICE: Season = Season {
            sow: 170.0,
            peak: 245.0,
            harvest: 300.0,
        };
        match self {
            Self::WheatRice => &[WHEAT, RICE],
            Self::Cotton => &[Season {
                sow: 120.0,
                peak: 230.0,
                harvest: 305.0,
            }],
            Self::Sugarcane => &[Season {
                sow: 45.0,
                peak: 250.0,
                harvest: 355.0,
            }],
            Self::Maize => &[Season {
                sow: 160.0,
                peak: 215.0,
                harvest: 265.0,
            }],
            Self::Fallow => &[],
        }
    }
}

/// A field: crop, how well it grows, and a small shift of its calendar.
#[derive(Clone, Copy, Debug)]
pub struct Parcel {
    /// The crop grown.
    pub crop: Crop,
    /// Peak NDVI the field reaches (health: about 0.86 healthy down to 0.28 failing).
    pub peak_ndvi: f64,
    /// Days by which this field's calendar is shifted.
    pub shift_days: f64,
}

/// NDVI of bare soil in the region.
pub const SOIL_NDVI: f64 = 0.14;

/// The static part of the simulation: land cover per pixel and field parcels.
pub struct Landscape {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Cover per pixel, row-major.
    pub cover: Vec<Cover>,
    /// The field parcels.
    pub parcels: Vec<Parcel>,
    /// Smooth within-field variation of NDVI per pixel (about ±0.04).
    pub texture: Vec<f32>,
}

impl Landscape {
    /// Builds the landscape of a `width` x `height` grid from `seed`.
    pub fn generate(width: usize, height: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1a4d_5ca9);
        let mut cover = vec![Cover::Water; width * height];
        let mut parcels = Vec::new();
        // Fields in rows of jittered rectangles, separated by one-pixel bunds (roads every
        // few rows), as on the Punjab plain.
        let mut y = 0;
        let mut row_index = 0;
        while y < height {
            let row_h = rng.random_range(28..56).min(height - y);
            let road_row = row_index % 3 == 2;
            let mut x = 0;
            while x < width {
                let w = rng.random_range(24..72).min(width - x);
                let parcel = parcels.len();
                parcels.push(random_parcel(&mut rng));
                for yy in y..y + row_h {
                    for xx in x..x + w {
                        cover[yy * width + xx] = Cover::Field(parcel);
                    }
                }
                x += w;
            }
            if road_row {
                for yy in y..(y + 2).min(height) {
                    for xx in 0..width {
                        cover[yy * width + xx] = Cover::Road;
                    }
                }
            }
            y += row_h;
            row_index += 1;
        }
        let road_x = rng.random_range(width / 4..width * 3 / 4);
        for yy in 0..height {
            for xx in road_x..(road_x + 2).min(width) {
                cover[yy * width + xx] = Cover::Road;
            }
        }
        let (vx, vy) = (
            rng.random_range(0..width) as f64,
            rng.random_range(0..height) as f64,
        );
        let village_r = (width.min(height) as f64 * 0.09).max(6.0);
        let (px, py) = (
            rng.random_range(0..width) as f64,
            rng.random_range(0..height) as f64,
        );
        let (pond_a, pond_b) = (village_r * 0.9, village_r * 0.55);
        for yy in 0..height {
            for xx in 0..width {
                let (fx, fy) = (xx as f64, yy as f64);
                let village = ((fx - vx).powi(2) + (fy - vy).powi(2)).sqrt() < village_r;
                let pond = ((fx - px) / pond_a).powi(2) + ((fy - py) / pond_b).powi(2) < 1.0;
                if pond {
                    cover[yy * width + xx] = Cover::Water;
                } else if village {
                    cover[yy * width + xx] = Cover::BuiltUp;
                }
            }
        }
        let texture = smooth_noise(width, height, 12, &mut rng)
            .into_iter()
            .map(|v| v * 0.04)
            .collect();
        Self {
            width,
            height,
            cover,
            parcels,
            texture,
        }
    }

    /// The true (noise-free) NDVI of a pixel on `date`.
    pub fn ndvi(&self, pixel: usize, date: NaiveDate) -> f64 {
        match self.cover[pixel] {
            Cover::Water => -0.32,
            Cover::Road => 0.08,
            Cover::BuiltUp => 0.12,
            Cover::Field(p) => {
                let parcel = &self.parcels[p];
                let doy = date.ordinal0() as f64;
                let growth = parcel
                    .crop
                    .seasons()
                    .iter()
                    .map(|s| phenology(doy - parcel.shift_days, s))
                    .fold(0.0, f64::max);
                let base = if parcel.crop == Crop::Fallow {
                    // Monsoon weeds on fallow land.
                    SOIL_NDVI
                        + 0.2
                            * phenology(
                                doy,
                                &Season {
                                    sow: 190.0,
                                    peak: 240.0,
                                    harvest: 290.0,
                                },
                            )
                } else {
                    SOIL_NDVI
                };
                let value = base + (parcel.peak_ndvi - SOIL_NDVI) * growth;
                (value + self.texture[pixel] as f64 * growth.max(0.3)).clamp(-1.0, 0.95)
            }
        }
    }
}

fn random_parcel(rng: &mut ChaCha8Rng) -> Parcel {
    let crop = match rng.random_range(0..100) {
        0..50 => Crop::WheatRice,
        50..64 => Crop::Cotton,
        64..76 => Crop::Sugarcane,
        76..88 => Crop::Maize,
        _ => Crop::Fallow,
    };
    // Health: most fields grow well, some are stressed (water, nutrients, pests).
    let peak_ndvi = match rng.random_range(0..100) {
        0..45 => rng.random_range(0.80..0.90),
        45..72 => rng.random_range(0.60..0.70),
        72..90 => rng.random_range(0.42..0.50),
        _ => rng.random_range(0.24..0.31),
    };
    Parcel {
        crop,
        peak_ndvi,
        shift_days: rng.random_range(-12.0..12.0),
    }
}

/// Growth stage from 0 (bare) to 1 (peak green) of a season on day `doy`.
fn phenology(doy: f64, s: &Season) -> f64 {
    let since_sow = (doy - s.sow).rem_euclid(365.0);
    let to_peak = (s.peak - s.sow).rem_euclid(365.0);
    let length = (s.harvest - s.sow).rem_euclid(365.0);
    if since_sow > length {
        return 0.0;
    }
    let smooth = |t: f64| {
        let t = t.clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    };
    if since_sow <= to_peak {
        smooth(since_sow / to_peak.max(1.0))
    } else {
        // Senescence: leaves yellow before harvest, then the field is cut.
        let t = (since_sow - to_peak) / (length - to_peak).max(1.0);
        1.0 - 0.85 * smooth(t)
    }
}

/// Smooth noise in [-1, 1]: random values on a coarse grid, bilinearly interpolated.
pub fn smooth_noise(width: usize, height: usize, cell: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let gw = width / cell + 2;
    let gh = height / cell + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let gy = y as f32 / cell as f32;
        let (y0, ty) = (gy.floor() as usize, gy.fract());
        for x in 0..width {
            let gx = x as f32 / cell as f32;
            let (x0, tx) = (gx.floor() as usize, gx.fract());
            let g = |xx: usize, yy: usize| grid[yy * gw + xx];
            let top = g(x0, y0) * (1.0 - tx) + g(x0 + 1, y0) * tx;
            let bottom = g(x0, y0 + 1) * (1.0 - tx) + g(x0 + 1, y0 + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn same_seed_gives_same_landscape() {
        let a = Landscape::generate(120, 100, 7);
        let b = Landscape::generate(120, 100, 7);
        assert_eq!(a.cover, b.cover);
        assert_ne!(Landscape::generate(120, 100, 8).cover, a.cover);
    }

    #[test]
    fn landscape_has_fields_roads_village_and_water() {
        let l = Landscape::generate(380, 380, 42);
        let has = |f: fn(&Cover) -> bool| l.cover.iter().any(f);
        assert!(has(|c| matches!(c, Cover::Field(_))));
        assert!(has(|c| *c == Cover::Road));
        assert!(has(|c| *c == Cover::BuiltUp));
        assert!(has(|c| *c == Cover::Water));
    }

    #[test]
    fn wheat_is_green_in_february_and_bare_in_may() {
        let season = Crop::WheatRice.seasons()[0];
        assert!(phenology(date(2025, 2, 20).ordinal0() as f64, &season) > 0.9);
        assert_eq!(phenology(date(2025, 5, 20).ordinal0() as f64, &season), 0.0);
    }
}
