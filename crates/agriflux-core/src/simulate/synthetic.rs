//! The synthetic-data baseline, made the original's way: one base scene perturbed by a
//! seasonal sine, a linear trend and noise. Models trained on it show what real imagery adds.

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gaussian;
use crate::raster::scene::Scene;

/// Amplitude of the seasonal sine applied to near-infrared (and, opposite, to red).
pub const SEASONAL_AMPLITUDE: f64 = 0.35;
/// Relative change per year of the linear trend.
pub const TREND_PER_YEAR: f64 = 0.05;
/// Standard deviation of the additive reflectance noise.
pub const NOISE_STD: f64 = 0.01;

/// Synthetic scenes on `dates`, each the `base` scene perturbed by season, trend and noise.
/// Pixels invalid in the base stay invalid; nothing else about clouds is simulated.
pub fn synthetic_series(base: &Scene, dates: &[NaiveDate], seed: u64) -> Vec<Scene> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5717_7e71);
    let first = dates.first().copied().unwrap_or(base.date);
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    dates
        .iter()
        .map(|date| {
            let t = (*date - first).num_days() as f64;
            let season = (std::f64::consts::TAU * t / 365.0 + phase).sin() * SEASONAL_AMPLITUDE;
            let trend = 1.0 + TREND_PER_YEAR * t / 365.0;
            let factors = [
                1.0 - season * 0.5,
                1.0 - season * 0.3,
                1.0 - season,
                1.0 + season,
            ];
            let bands = base
                .bands
                .chunks_exact(4)
                .flat_map(|px| {
                    let mut out = [0f32; 4];
                    for b in 0..4 {
                        let noise = gaussian(&mut rng) * NOISE_STD;
                        let v = px[b] as f64 * factors[b] * trend + noise;
                        out[b] = if px[b].is_finite() {
                            v.max(0.0001) as f32
                        } else {
                            f32::NAN
                        };
                    }
                    out
                })
                .collect();
            Scene {
                date: *date,
                bands,
                cloud_cover: 0.0,
                ..base.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::geotiff::{Crs, GeoTransform};

    fn base() -> Scene {
        Scene {
            date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            width: 2,
            height: 1,
            transform: GeoTransform {
                origin_x: 0.0,
                origin_y: 0.0,
                pixel_width: 1.0,
                pixel_height: 1.0,
            },
            crs: Crs { epsg: 4326 },
            bands: vec![
                0.05,
                0.08,
                0.06,
                0.40,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
            ],
            scl: vec![4, 0],
            data_mask: vec![1, 0],
            cloud_cover: 3.0,
        }
    }

    #[test]
    fn synthetic_series_follows_a_seasonal_cycle() {
        let dates: Vec<_> = (0..12)
            .map(|m| NaiveDate::from_ymd_opt(2025, m + 1, 1).unwrap())
            .collect();
        let series = synthetic_series(&base(), &dates, 1);
        let ndvi: Vec<f32> = series
            .iter()
            .map(|s| (s.bands[3] - s.bands[2]) / (s.bands[3] + s.bands[2]))
            .collect();
        let (min, max) = ndvi
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(
            max - min > 0.1,
            "NDVI should swing with the season: {ndvi:?}"
        );
        assert!(
            series.iter().all(|s| s.bands[4].is_nan()),
            "invalid pixels stay invalid"
        );
    }
}
