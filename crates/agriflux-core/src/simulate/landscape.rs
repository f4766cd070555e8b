//! A simulated Punjab-like landscape with a hidden truth: rectangular field parcels of several
//! crops, each with its own calendar and its own healthy NDVI, a health that varies within the
//! field and changes over the season as stress events start and spread (drought patches,
//! disease spots, waterlogging), roads, a village and a pond. Everything follows from the
//! seed, so a seed always gives the same fields and the same truth.
//!
//! What a scout would record (the crop-health class) comes from this hidden state, never from
//! the NDVI a satellite would see: a young healthy crop and a stressed mature one can show the
//! same NDVI, and crops differ in how green a healthy canopy is, so a fixed NDVI threshold is
//! wrong for some fields on some dates.

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

    /// NDVI of a full, healthy canopy of this crop: cotton's open canopy is far less green
    /// than sugarcane's, so one NDVI threshold cannot fit every crop.
    pub fn healthy_ndvi(self) -> f64 {
        match self {
            Self::WheatRice => 0.84,
            Self::Cotton => 0.72,
            Self::Sugarcane => 0.90,
            Self::Maize => 0.79,
            Self::Fallow => 0.45,
        }
    }

    /// Blue and green reflectance of the healthy canopy (leaf colour and canopy structure).
    fn visible(self) -> [f64; 2] {
        match self {
            Self::WheatRice => [0.030, 0.068],
            Self::Cotton => [0.036, 0.075],
            Self::Sugarcane => [0.025, 0.058],
            Self::Maize => [0.032, 0.070],
            Self::Fallow => [0.040, 0.070],
        }
    }
}

/// A field: its crop, how well it grows without stress events, and a shift of its calendar.
#[derive(Clone, Copy, Debug)]
pub struct Parcel {
    /// The crop grown.
    pub crop: Crop,
    /// Health of the field's crop before any stress event, 0 (failing) to 1 (thriving).
    pub vigour: f64,
    /// Days by which this field's calendar is shifted.
    pub shift_days: f64,
}

/// What a stress event does to the crops it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StressKind {
    /// A dry patch that widens over weeks (sandy soil, a failed irrigation channel).
    Drought,
    /// A disease spot in fields of one crop, spreading from a first focus.
    Disease,
    /// Standing water after monsoon rain in a low part of the plain.
    Waterlogging,
}

/// A stress event: where it starts, when, how fast it spreads, how hard it hits.
#[derive(Clone, Copy, Debug)]
pub struct StressEvent {
    /// What it is.
    pub kind: StressKind,
    /// Centre, as (column, row).
    pub centre: (f64, f64),
    /// Day of year it starts.
    pub start: f64,
    /// Days it lasts before the crop recovers.
    pub duration: f64,
    /// Pixels its radius grows per day.
    pub spread: f64,
    /// Largest radius, pixels.
    pub max_radius: f64,
    /// Fraction of health lost at its centre.
    pub severity: f64,
    /// The crop it strikes (disease); `None` strikes every crop.
    pub crop: Option<Crop>,
}

impl StressEvent {
    /// How strongly the event weighs on pixel (`x`, `y`) on day of year `doy`, 0 to 1.
    fn weight(&self, x: f64, y: f64, doy: f64) -> f64 {
        let age = (doy - self.start).rem_euclid(365.0);
        if age > self.duration {
            return 0.0;
        }
        let radius = (self.spread * age).min(self.max_radius);
        let distance = ((x - self.centre.0).powi(2) + (y - self.centre.1).powi(2)).sqrt();
        // A soft edge of a few pixels; recovery in the last fifth of the event.
        let edge = ((radius + 3.0 - distance) / 6.0).clamp(0.0, 1.0);
        let recovery = ((self.duration - age) / (0.2 * self.duration)).clamp(0.0, 1.0);
        edge * recovery
    }
}

/// Canopy cover below which a scout records no crop-health class (the crop is not yet
/// established, or the field is bare).
pub const MIN_LABELLED_CANOPY: f64 = 0.25;

/// The hidden state of one pixel on one date.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelState {
    /// Fraction of the ground covered by the canopy, 0 to 1 (the growth stage).
    pub canopy: f64,
    /// Health of the canopy, 0 (dying) to 1 (thriving).
    pub health: f64,
}

/// The crop-health class (0 Healthy to 3 Critical) of a canopy's health, as a scout judges it.
pub fn health_class(health: f64) -> u8 {
    if health >= 0.8 {
        0
    } else if health >= 0.6 {
        1
    } else if health >= 0.4 {
        2
    } else {
        3
    }
}

/// The static part of the simulation: land cover per pixel, field parcels, stress events.
pub struct Landscape {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Cover per pixel, row-major.
    pub cover: Vec<Cover>,
    /// The field parcels.
    pub parcels: Vec<Parcel>,
    /// Smooth within-field variation of health per pixel (about ±0.08).
    pub texture: Vec<f32>,
    /// The season's stress events.
    pub events: Vec<StressEvent>,
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
            .map(|v| v * 0.08)
            .collect();
        let events = stress_events(width, height, &cover, &parcels, &mut rng);
        Self {
            width,
            height,
            cover,
            parcels,
            texture,
            events,
        }
    }

    /// The hidden state of a field pixel on `date`; `None` for roads, houses and water.
    pub fn state(&self, pixel: usize, date: NaiveDate) -> Option<PixelState> {
        let Cover::Field(p) = self.cover[pixel] else {
            return None;
        };
        let parcel = &self.parcels[p];
        let doy = date.ordinal0() as f64;
        let (x, y) = ((pixel % self.width) as f64, (pixel / self.width) as f64);
        let growth = if parcel.crop == Crop::Fallow {
            // Monsoon weeds on fallow land.
            0.3 * phenology(
                doy,
                &Season {
                    sow: 190.0,
                    peak: 240.0,
                    harvest: 290.0,
                },
            )
        } else {
            parcel
                .crop
                .seasons()
                .iter()
                .map(|s| phenology(doy - parcel.shift_days, s))
                .fold(0.0, f64::max)
        };
        let mut health = parcel.vigour + f64::from(self.texture[pixel]);
        for event in &self.events {
            if event.crop.is_some_and(|c| c != parcel.crop) {
                continue;
            }
            health *= 1.0 - event.severity * event.weight(x, y, doy);
        }
        let health = health.clamp(0.05, 1.0);
        // A stressed crop is also stunted: it covers less ground than a healthy one.
        Some(PixelState {
            canopy: growth * (0.7 + 0.3 * health),
            health,
        })
    }

    /// The crop-health class a scout would record at `pixel` on `date` (0 Healthy to 3
    /// Critical), or `None` where there is no established crop to judge.
    pub fn observed_class(&self, pixel: usize, date: NaiveDate) -> Option<u8> {
        let Cover::Field(p) = self.cover[pixel] else {
            return None;
        };
        if self.parcels[p].crop == Crop::Fallow {
            return None;
        }
        let state = self.state(pixel, date)?;
        (state.canopy >= MIN_LABELLED_CANOPY).then(|| health_class(state.health))
    }

    /// Clear-sky surface reflectance (B02, B03, B04, B08) of a pixel on `date`: bare soil and
    /// the crop's canopy mixed by canopy cover, the canopy yellowing as its health falls.
    pub fn reflectance(&self, pixel: usize, date: NaiveDate) -> [f64; 4] {
        match self.cover[pixel] {
            Cover::Water => WATER,
            Cover::BuiltUp => BUILT_UP,
            Cover::Road => ROAD,
            Cover::Field(p) => {
                let crop = self.parcels[p].crop;
                let state = self.state(pixel, date).expect("a field has a state");
                let [blue, green] = crop.visible();
                let nir = 0.42;
                let red = nir * (1.0 - crop.healthy_ndvi()) / (1.0 + crop.healthy_ndvi());
                let canopy = mix(&CHLOROTIC, &[blue, green, red, nir], state.health);
                mix(&SOIL, &canopy, state.canopy)
            }
        }
    }
}

/// Surface reflectance (B02, B03, B04, B08) of bare soil, of a yellowing (chlorotic) canopy,
/// of water and of houses.
pub const SOIL: [f64; 4] = [0.075, 0.105, 0.135, 0.20];
const CHLOROTIC: [f64; 4] = [0.048, 0.092, 0.105, 0.27];
/// Open water.
pub const WATER: [f64; 4] = [0.060, 0.055, 0.035, 0.018];
/// Roads: packed earth and tarmac.
const ROAD: [f64; 4] = [0.095, 0.115, 0.135, 0.175];
/// Houses and yards.
pub const BUILT_UP: [f64; 4] = [0.115, 0.125, 0.135, 0.165];

/// `a` and `b` mixed, `t` of `b`.
fn mix(a: &[f64; 4], b: &[f64; 4], t: f64) -> [f64; 4] {
    std::array::from_fn(|i| a[i] * (1.0 - t) + b[i] * t)
}

fn random_parcel(rng: &mut ChaCha8Rng) -> Parcel {
    let crop = match rng.random_range(0..100) {
        0..45 => Crop::WheatRice,
        45..60 => Crop::Cotton,
        60..74 => Crop::Sugarcane,
        74..88 => Crop::Maize,
        _ => Crop::Fallow,
    };
    // Most fields grow well, some are held back (soil, water, nutrients, pests).
    let vigour = match rng.random_range(0..100) {
        0..40 => rng.random_range(0.86..1.0),
        40..68 => rng.random_range(0.64..0.78),
        68..88 => rng.random_range(0.44..0.58),
        _ => rng.random_range(0.22..0.38),
    };
    Parcel {
        crop,
        vigour,
        shift_days: rng.random_range(-12.0..12.0),
    }
}

/// The season's stress events, more of them on a larger area.
fn stress_events(
    width: usize,
    height: usize,
    cover: &[Cover],
    parcels: &[Parcel],
    rng: &mut ChaCha8Rng,
) -> Vec<StressEvent> {
    let area = (width * height) as f64;
    let mut events = Vec::new();
    let place = |rng: &mut ChaCha8Rng| {
        (
            rng.random_range(0.0..width as f64),
            rng.random_range(0.0..height as f64),
        )
    };
    for _ in 0..1 + (area / 90_000.0) as usize {
        events.push(StressEvent {
            kind: StressKind::Drought,
            centre: place(rng),
            start: rng.random_range(0.0..365.0),
            duration: rng.random_range(40.0..80.0),
            spread: rng.random_range(1.0..2.5),
            max_radius: rng.random_range(35.0..80.0),
            severity: rng.random_range(0.35..0.6),
            crop: None,
        });
    }
    for _ in 0..3 + (area / 20_000.0) as usize {
        let centre = place(rng);
        let pixel =
            (centre.1 as usize).min(height - 1) * width + (centre.0 as usize).min(width - 1);
        let crop = match cover[pixel] {
            Cover::Field(p) if parcels[p].crop != Crop::Fallow => parcels[p].crop,
            _ => Crop::WheatRice,
        };
        events.push(StressEvent {
            kind: StressKind::Disease,
            centre,
            start: rng.random_range(0.0..365.0),
            duration: rng.random_range(25.0..50.0),
            spread: rng.random_range(0.4..1.2),
            max_radius: rng.random_range(10.0..28.0),
            severity: rng.random_range(0.5..0.8),
            crop: Some(crop),
        });
    }
    for _ in 0..1 + (area / 150_000.0) as usize {
        events.push(StressEvent {
            kind: StressKind::Waterlogging,
            centre: place(rng),
            // After monsoon downpours.
            start: rng.random_range(190.0..240.0),
            duration: rng.random_range(20.0..40.0),
            spread: rng.random_range(2.0..4.0),
            max_radius: rng.random_range(20.0..45.0),
            severity: rng.random_range(0.3..0.5),
            crop: None,
        });
    }
    events
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

    /// NDVI of clear-sky reflectance.
    fn ndvi(r: [f64; 4]) -> f64 {
        (r[3] - r[2]) / (r[3] + r[2])
    }

    #[test]
    fn a_fixed_ndvi_threshold_misjudges_many_observed_classes() {
        let l = Landscape::generate(380, 380, 42);
        let (mut labelled, mut agree) = (0, 0);
        for month in 1..=12 {
            let day = date(2025, month, 15);
            for pixel in (0..l.cover.len()).step_by(7) {
                let Some(class) = l.observed_class(pixel, day) else {
                    continue;
                };
                labelled += 1;
                let by_rule = crate::datasets::class_of(ndvi(l.reflectance(pixel, day)) as f32);
                agree += usize::from(by_rule == Some(i64::from(class)));
            }
        }
        let share = agree as f64 / labelled as f64;
        assert!(labelled > 5_000, "{labelled} labelled pixels");
        assert!(
            (0.2..0.8).contains(&share),
            "the NDVI rule agrees with the truth on {share:.3} of pixels"
        );
    }

    #[test]
    fn every_class_is_observed_over_a_season() {
        let l = Landscape::generate(380, 380, 42);
        let mut seen = [0usize; 4];
        for month in 1..=12 {
            for pixel in (0..l.cover.len()).step_by(11) {
                if let Some(c) = l.observed_class(pixel, date(2025, month, 15)) {
                    seen[c as usize] += 1;
                }
            }
        }
        assert!(seen.iter().all(|n| *n > 100), "{seen:?}");
    }

    #[test]
    fn a_drought_spreads_over_weeks_then_the_crop_recovers() {
        let event = StressEvent {
            kind: StressKind::Drought,
            centre: (100.0, 100.0),
            start: 60.0,
            duration: 60.0,
            spread: 2.0,
            max_radius: 50.0,
            severity: 0.5,
            crop: None,
        };
        let reached = |doy: f64| {
            (0..200)
                .filter(|x| event.weight(f64::from(*x), 100.0, doy) > 0.5)
                .count()
        };
        assert!(reached(65.0) < reached(75.0));
        assert!(reached(75.0) < reached(90.0));
        assert_eq!(reached(59.0), 0);
        assert_eq!(reached(125.0), 0, "over after its duration");
    }

    #[test]
    fn healthy_canopies_of_different_crops_differ_in_ndvi() {
        let ndvis: Vec<f64> = [Crop::Cotton, Crop::WheatRice, Crop::Sugarcane]
            .iter()
            .map(|c| c.healthy_ndvi())
            .collect();
        assert!(ndvis[2] - ndvis[0] > 0.15, "{ndvis:?}");
    }

    #[test]
    fn wheat_is_green_in_february_and_bare_in_may() {
        let season = Crop::WheatRice.seasons()[0];
        assert!(phenology(date(2025, 2, 20).ordinal0() as f64, &season) > 0.9);
        assert_eq!(phenology(date(2025, 5, 20).ordinal0() as f64, &season), 0.0);
    }
}
