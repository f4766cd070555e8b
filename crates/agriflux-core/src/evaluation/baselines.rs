//! The baselines every model is shown beside, computed on the same test samples: the
//! majority class of the training split and the original's NDVI-threshold rule for the CNN;
//! persistence and a linear trend for the LSTM.

use crate::datasets::class_of;
use crate::datasets::patches::{CHANNELS, PATCH};
use crate::datasets::sequences::{FEATURES, GAP_SCALE_DAYS};

/// The class with the most samples in `counts` (ties: the lower class index).
pub fn majority_class(counts: &[usize; 4]) -> usize {
    let mut best = 0;
    for (c, n) in counts.iter().enumerate() {
        if *n > counts[best] {
            best = c;
        }
    }
    best
}

/// Guesses drawn at random (seeded) with the training split's class frequencies: what a
/// model that learned nothing but the class balance scores. Macro-F1 rewards spreading
/// guesses over the classes, so this, more than the majority class, is the floor a model
/// trained on balanced classes must clear.
pub fn stratified_guesses(counts: &[usize; 4], n: usize, seed: u64) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; n];
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x57a7_1f1e);
    (0..n)
        .map(|_| {
            let mut draw = rng.random_range(0..total);
            counts
                .iter()
                .position(|c| {
                    if draw < *c {
                        true
                    } else {
                        draw -= c;
                        false
                    }
                })
                .unwrap_or(0)
        })
        .collect()
}

/// NDVI of one pixel of a patch stored as NHWC reflectance (B02, B03, B04, B08); NaN where
/// the pixel holds no data (stored as 0) or the denominator vanishes.
fn pixel_ndvi(patch: &[f32], r: usize, c: usize) -> f32 {
    let at = (r * PATCH + c) * CHANNELS;
    let (red, nir) = (patch[at + 2], patch[at + 3]);
    if red + nir > 1e-6 {
        (nir - red) / (nir + red)
    } else {
        f32::NAN
    }
}

/// The original's threshold rule (Healthy > 0.7, Moderate > 0.5, Stressed > 0.3, else
/// Critical) applied to each patch's centre pixel NDVI, or its mean NDVI with `mean`; a patch
/// without a valid NDVI gets `fallback`.
pub fn ndvi_rule(x: &[f32], n: usize, mean: bool, fallback: usize) -> Vec<usize> {
    let size = PATCH * PATCH * CHANNELS;
    (0..n)
        .map(|i| {
            let patch = &x[i * size..(i + 1) * size];
            let ndvi = if mean {
                let (mut sum, mut count) = (0.0f64, 0usize);
                for r in 0..PATCH {
                    for c in 0..PATCH {
                        let v = pixel_ndvi(patch, r, c);
                        if v.is_finite() {
                            sum += f64::from(v);
                            count += 1;
                        }
                    }
                }
                if count == 0 {
                    f32::NAN
                } else {
                    (sum / count as f64) as f32
                }
            } else {
                pixel_ndvi(patch, PATCH / 2, PATCH / 2)
            };
            class_of(ndvi).map_or(fallback, |c| c as usize)
        })
        .collect()
}

/// Dates the linear trend is fitted on (the last ones of each window).
pub const TREND_POINTS: usize = 3;

/// A linear-trend forecast of each sequence (rows of `seq_len` x [mean NDVI, days to next
/// date / 30]): a least-squares line through the last [`TREND_POINTS`] NDVI values against
/// their dates, extrapolated to the target date (so the real gaps between dates count).
pub fn linear_trend(x: &[f32], seq_len: usize) -> Vec<f32> {
    x.chunks_exact(seq_len * FEATURES)
        .map(|s| {
            // Days from the first date of the window; the target lies `total` days in.
            let mut t = Vec::with_capacity(seq_len);
            let mut day = 0.0f64;
            for k in 0..seq_len {
                t.push(day);
                day += f64::from(s[k * FEATURES + 1]) * GAP_SCALE_DAYS;
            }
            let target_day = day;
            let k0 = seq_len.saturating_sub(TREND_POINTS);
            let pts: Vec<(f64, f64)> = (k0..seq_len)
                .map(|k| (t[k], f64::from(s[k * FEATURES])))
                .collect();
            let n = pts.len() as f64;
            let (mt, my) = (
                pts.iter().map(|p| p.0).sum::<f64>() / n,
                pts.iter().map(|p| p.1).sum::<f64>() / n,
            );
            let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
            let sxy: f64 = pts.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
            let slope = if sxx > 1e-9 { sxy / sxx } else { 0.0 };
            (my + slope * (target_day - mt)) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_class_takes_the_most_common_one() {
        assert_eq!(majority_class(&[4, 19, 22, 115]), 3);
        assert_eq!(majority_class(&[5, 5, 1, 0]), 0);
    }

    #[test]
    fn stratified_guesses_follow_the_training_frequencies() {
        let guesses = stratified_guesses(&[700, 200, 100, 0], 10_000, 1);
        let mut seen = [0usize; 4];
        for g in &guesses {
            seen[*g] += 1;
        }
        assert!((6_700..7_300).contains(&seen[0]), "{seen:?}");
        assert!((1_700..2_300).contains(&seen[1]), "{seen:?}");
        assert_eq!(seen[3], 0, "a class absent from training is never guessed");
        assert_eq!(guesses, stratified_guesses(&[700, 200, 100, 0], 10_000, 1));
    }

    #[test]
    fn linear_trend_extends_a_straight_line_over_uneven_gaps() {
        // NDVI rises 0.01 per day; gaps 5, 10, 5 days, then 10 days to the target.
        let gaps = [5.0, 10.0, 5.0, 10.0];
        let mut x = Vec::new();
        let mut day = 0.0;
        for g in gaps {
            x.push(0.2 + 0.01 * day as f32);
            x.push((g / GAP_SCALE_DAYS) as f32);
            day += g;
        }
        let forecast = linear_trend(&x, 4)[0];
        assert!((forecast - (0.2 + 0.01 * 30.0)).abs() < 1e-5, "{forecast}");
    }

    #[test]
    fn ndvi_rule_reads_the_centre_pixel() {
        let mut patch = vec![0.0f32; PATCH * PATCH * CHANNELS];
        let at = ((PATCH / 2) * PATCH + PATCH / 2) * CHANNELS;
        patch[at + 2] = 0.05;
        patch[at + 3] = 0.45; // NDVI 0.8: Healthy
        assert_eq!(ndvi_rule(&patch, 1, false, 3), vec![0]);
        // The mean over a patch of no-data pixels but one is that pixel's class.
        assert_eq!(ndvi_rule(&patch, 1, true, 3), vec![0]);
        assert_eq!(ndvi_rule(&vec![0.0; patch.len()], 1, false, 2), vec![2]);
    }
}
