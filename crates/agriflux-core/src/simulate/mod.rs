//! The built-in simulated Sentinel-2 source (the default when no account is configured) and
//! the synthetic-data baseline generator.
//!
//! Simulated scenes are plausible but not real: every file made from them says
//! `source: simulated`, and the report and UI label them so.

mod landscape;
pub mod synthetic;

use chrono::{Datelike, Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use landscape::{Cover, Crop, Landscape, PixelState, StressEvent, StressKind, health_class};

use crate::pipeline::CancelToken;
use crate::raster::geotiff::{Crs, GeoTransform};
use crate::raster::scene::Scene;
use crate::settings::{Bbox, DateRange, SourceKind};
use crate::source::{Acquisition, SceneSource, SourceError, TruthPoint};

/// Ground sampling distance of the simulated grid, metres.
pub const PIXEL_SIZE_M: f64 = 10.0;

/// A deterministic simulated Sentinel-2 L2A source.
pub struct SimulatedSource {
    seed: u64,
}

impl SimulatedSource {
    /// A source whose landscape, dates, clouds and noise all follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// Grid size of `area` at 10 m.
    pub fn grid_size(area: &Bbox) -> (usize, usize) {
        let (w, h) = area.size_m();
        (
            (w / PIXEL_SIZE_M).round().max(1.0) as usize,
            (h / PIXEL_SIZE_M).round().max(1.0) as usize,
        )
    }

    /// What a scout walking the area on each of `dates` would record: the crop-health class
    /// of the hidden state (never of the NDVI) at points every [`TRUTH_SPACING_PX`] pixels
    /// that lie on an established crop, as (lon, lat) of the pixel's centre.
    pub fn truth(&self, area: &Bbox, dates: &[NaiveDate]) -> Vec<TruthPoint> {
        let (width, height) = Self::grid_size(area);
        let landscape = Landscape::generate(width, height, self.seed);
        let (dx, dy) = (
            (area.max_lon - area.min_lon) / width as f64,
            (area.max_lat - area.min_lat) / height as f64,
        );
        let mut points = Vec::new();
        for date in dates {
            for row in (TRUTH_SPACING_PX..height).step_by(TRUTH_SPACING_PX) {
                for col in (TRUTH_SPACING_PX..width).step_by(TRUTH_SPACING_PX) {
                    if let Some(class) = landscape.observed_class(row * width + col, *date) {
                        let lon = area.min_lon + (col as f64 + 0.5) * dx;
                        let lat = area.max_lat - (row as f64 + 0.5) * dy;
                        points.push(([lon, lat], class, *date));
                    }
                }
            }
        }
        points
    }

    fn date_rng(&self, date: NaiveDate, salt: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(
            self.seed ^ (date.num_days_from_ce() as u64).wrapping_mul(0x9e37_79b9) ^ salt,
        )
    }
}

/// Mean tile cloud cover (percent) by day of year: the Punjab monsoon (July to mid-September)
/// is cloudy, the rest of the year mostly clear.
fn mean_cloud_cover(date: NaiveDate) -> f64 {
    match date.ordinal() {
        182..=258 => 55.0,
        15..=45 => 18.0,
        _ => 10.0,
    }
}

impl SceneSource for SimulatedSource {
    fn kind(&self) -> SourceKind {
        SourceKind::Simulated
    }

    fn search(
        &self,
        _area: &Bbox,
        dates: &DateRange,
        max_cloud_cover: f64,
        cancel: &CancelToken,
    ) -> Result<Vec<Acquisition>, SourceError> {
        // Sentinel-2A and 2B together revisit every 5 days; the first pass of the range is
        // placed by the seed so different seeds see different days.
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5e47_1e11);
        let mut date = dates.start + Days::new(rng.random_range(0..5));
        let mut found = Vec::new();
        while date <= dates.end {
            if cancel.is_cancelled() {
                return Err(SourceError::Cancelled);
            }
            let mut day_rng = self.date_rng(date, 1);
            let u: f64 = day_rng.random_range(1e-6..1.0);
            let cloud_cover = (-u.ln() * mean_cloud_cover(date)).min(100.0);
            if cloud_cover < max_cloud_cover {
                found.push(Acquisition {
                    date,
                    cloud_cover: (cloud_cover * 100.0).round() / 100.0,
                });
            }
            date = date + Days::new(5);
        }
        Ok(found)
    }

    fn fetch(&self, acquisition: &Acquisition, area: &Bbox) -> Result<Scene, SourceError> {
        let (width, height) = Self::grid_size(area);
        let landscape = Landscape::generate(width, height, self.seed);
        Ok(render_scene(
            &landscape,
            acquisition,
            area,
            &mut self.date_rng(acquisition.date, 2),
        ))
    }

    fn ground_truth(&self, area: &Bbox, dates: &[NaiveDate]) -> Option<Vec<TruthPoint>> {
        Some(self.truth(area, dates))
    }

    fn provenance(&self) -> serde_json::Value {
        serde_json::json!({
            "generator": "agriflux simulated Sentinel-2 L2A",
            "seed": self.seed,
            "note": "simulated data, not real imagery",
        })
    }
}

/// Reflectance of thick cloud.
const CLOUD: [f64; 4] = [0.42, 0.43, 0.44, 0.47];

/// Spacing, in pixels, of the simulated scouting points: the patch stride with observed labels
/// ([`crate::datasets::patches::OBSERVED_LABELS_STRIDE`]), so that every
/// patch centre that lies on an established crop has an observation.
pub const TRUTH_SPACING_PX: usize = 16;

/// A standard normal sample (Box-Muller).
pub(crate) fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(1e-12..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn render_scene(
    landscape: &Landscape,
    acq: &Acquisition,
    area: &Bbox,
    rng: &mut ChaCha8Rng,
) -> Scene {
    let (width, height) = (landscape.width, landscape.height);
    let n = width * height;
    // Clouds over the area: smooth blobs thresholded to a fraction that follows the tile's
    // cloud cover (the area can be clearer or cloudier than the tile).
    let area_cloud = (acq.cloud_cover / 100.0 * rng.random_range(0.0..2.5)).min(0.7);
    let opacity = cloud_opacity(width, height, area_cloud, rng);
    let (shadow_dx, shadow_dy) = (rng.random_range(6..14), rng.random_range(4..10));
    // One acquisition in eight sits at the edge of the swath: a strip without data.
    let no_data_cols = if rng.random_range(0..8) == 0 {
        (width as f64 * rng.random_range(0.08..0.2)) as usize
    } else {
        0
    };
    let clear = blurred_reflectance(landscape, acq.date);
    // Haze: a thin, uneven veil that brightens blue most and NIR least; heavier on some dates.
    let haze_amount = rng.random_range(0.0..1.0f64).powi(2) * 0.03;
    let haze = landscape::smooth_noise(width, height, 64, rng);
    let mut bands = Vec::with_capacity(n * 4);
    let mut scl = Vec::with_capacity(n);
    let mut data_mask = Vec::with_capacity(n);
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if x < no_data_cols {
                bands.extend([f32::NAN; 4]);
                scl.push(0);
                data_mask.push(0);
                continue;
            }
            let clear = clear[i];
            let ndvi = (clear[3] - clear[2]) / (clear[3] + clear[2]);
            let veil = haze_amount * (0.6 + 0.4 * f64::from(haze[i]));
            let cloud = opacity[i];
            let shadow = x >= shadow_dx
                && y >= shadow_dy
                && opacity[(y - shadow_dy) * width + (x - shadow_dx)] > 0.3
                && cloud < 0.1;
            for (b, value) in clear.iter().enumerate() {
                let mut r = value * (1.0 - cloud) + CLOUD[b] * cloud + veil * (4 - b) as f64 / 4.0;
                if shadow {
                    r *= 0.45;
                }
                r += gaussian(rng) * 0.004;
                bands.push(r.max(0.0001) as f32);
            }
            scl.push(if cloud > 0.6 {
                9
            } else if cloud > 0.3 {
                8
            } else if cloud > 0.1 {
                10
            } else if shadow {
                3
            } else if landscape.cover[i] == Cover::Water {
                6
            } else if ndvi > 0.35 {
                4
            } else {
                5
            });
            data_mask.push(1);
        }
    }
    let (w_deg, h_deg) = (area.max_lon - area.min_lon, area.max_lat - area.min_lat);
    Scene {
        date: acq.date,
        width,
        height,
        transform: GeoTransform {
            origin_x: area.min_lon,
            origin_y: area.max_lat,
            pixel_width: w_deg / width as f64,
            pixel_height: h_deg / height as f64,
        },
        crs: Crs { epsg: 4326 },
        bands,
        scl,
        data_mask,
        cloud_cover: acq.cloud_cover,
    }
}

/// Clear-sky reflectance of every pixel seen through the sensor's point-spread function: each
/// pixel takes a little of its neighbours, so pixels at field edges mix both fields.
fn blurred_reflectance(landscape: &Landscape, date: NaiveDate) -> Vec<[f64; 4]> {
    let (width, height) = (landscape.width, landscape.height);
    let sharp: Vec<[f64; 4]> = (0..width * height)
        .map(|i| landscape.reflectance(i, date))
        .collect();
    let mut out = sharp.clone();
    for y in 0..height {
        for x in 0..width {
            let mut sum = [0.0; 4];
            let mut weight = 0.0;
            for (dy, dx, w) in PSF {
                let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                if yy < 0 || xx < 0 || yy >= height as i64 || xx >= width as i64 {
                    continue;
                }
                let r = sharp[yy as usize * width + xx as usize];
                for b in 0..4 {
                    sum[b] += w * r[b];
                }
                weight += w;
            }
            out[y * width + x] = sum.map(|s| s / weight);
        }
    }
    out
}

/// The point-spread function's weights over a pixel and its eight neighbours.
const PSF: [(i64, i64, f64); 9] = [
    (0, 0, 0.52),
    (-1, 0, 0.08),
    (1, 0, 0.08),
    (0, -1, 0.08),
    (0, 1, 0.08),
    (-1, -1, 0.04),
    (-1, 1, 0.04),
    (1, -1, 0.04),
    (1, 1, 0.04),
];

/// Cloud opacity per pixel in [0, 1], covering about `fraction` of the area.
fn cloud_opacity(width: usize, height: usize, fraction: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    if fraction < 0.01 {
        return vec![0.0; width * height];
    }
    let field = landscape::smooth_noise(width, height, 40, rng);
    let mut sorted: Vec<f32> = field.clone();
    sorted.sort_by(f32::total_cmp);
    let cut = sorted[((1.0 - fraction) * (sorted.len() - 1) as f64) as usize] as f64;
    field
        .iter()
        .map(|v| ((*v as f64 - cut) / 0.15).clamp(0.0, 1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_area() -> Bbox {
        crate::settings::SIMULATED_BBOX
    }

    fn range() -> DateRange {
        DateRange {
            start: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        }
    }

    #[test]
    fn search_finds_uneven_clear_dates_below_threshold() {
        let source = SimulatedSource::new(42);
        let found = source
            .search(&settings_area(), &range(), 20.0, &CancelToken::new())
            .unwrap();
        assert!(found.len() >= 20, "only {} dates", found.len());
        assert!(found.iter().all(|a| a.cloud_cover < 20.0));
        let gaps: std::collections::BTreeSet<i64> = found
            .windows(2)
            .map(|w| (w[1].date - w[0].date).num_days())
            .collect();
        assert!(
            gaps.len() > 1,
            "revisits should be uneven after cloud filtering"
        );
    }

    #[test]
    fn same_seed_gives_identical_scene() {
        let acq = Acquisition {
            date: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            cloud_cover: 15.0,
        };
        let a = SimulatedSource::new(3)
            .fetch(&acq, &settings_area())
            .unwrap();
        let b = SimulatedSource::new(3)
            .fetch(&acq, &settings_area())
            .unwrap();
        assert!(
            a.bands
                .iter()
                .zip(&b.bands)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        assert_eq!(a.scl, b.scl);
    }

    #[test]
    fn the_truth_comes_from_the_hidden_state_at_patch_centres() {
        let area = settings_area();
        let source = SimulatedSource::new(42);
        let dates = [
            NaiveDate::from_ymd_opt(2025, 2, 20).unwrap(),
            NaiveDate::from_ymd_opt(2025, 8, 30).unwrap(),
        ];
        let truth = source.truth(&area, &dates);
        assert!(truth.len() > 100, "{} points", truth.len());
        let (width, height) = SimulatedSource::grid_size(&area);
        let landscape = Landscape::generate(width, height, 42);
        for ([lon, lat], class, date) in truth.iter().step_by(17) {
            let col =
                ((lon - area.min_lon) / (area.max_lon - area.min_lon) * width as f64) as usize;
            let row =
                ((area.max_lat - lat) / (area.max_lat - area.min_lat) * height as f64) as usize;
            assert_eq!((row % TRUTH_SPACING_PX, col % TRUTH_SPACING_PX), (0, 0));
            assert_eq!(
                landscape.observed_class(row * width + col, *date),
                Some(*class)
            );
        }
    }

    #[test]
    fn cloudy_pixels_are_flagged_in_scl() {
        let acq = Acquisition {
            date: NaiveDate::from_ymd_opt(2025, 8, 1).unwrap(),
            cloud_cover: 19.0,
        };
        let scene = (0..20)
            .map(|s| {
                SimulatedSource::new(s)
                    .fetch(&acq, &settings_area())
                    .unwrap()
            })
            .find(|s| s.scl.contains(&9))
            .expect("some seed gives clouds");
        for (i, class) in scene.scl.iter().enumerate() {
            if *class == 9 {
                assert!(
                    scene.bands[i * 4] > 0.2,
                    "thick cloud must be bright in blue"
                );
            }
        }
        assert!(scene.valid_fraction() < 1.0);
    }
}
