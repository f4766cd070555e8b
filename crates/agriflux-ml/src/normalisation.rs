//! Per-channel standardisation fitted on the training split and saved with each model.

use serde::{Deserialize, Serialize};

use super::MlError;

/// Smallest standard deviation a fitted channel gets, so constant channels do not divide by 0.
pub const STD_FLOOR: f32 = 1e-6;

/// Per-channel (or per-feature) mean/std fitted on the TRAIN split only, saved with the model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Normalisation {
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel (population, floored at [`STD_FLOOR`]).
    pub std: Vec<f32>,
}

impl Normalisation {
    /// Fits mean and standard deviation per channel; `x` is interleaved (last axis = channel).
    ///
    /// Non-finite values are ignored, a trailing partial record is ignored, a channel without
    /// values gets mean 0 and std 1, and `channels == 0` gives an empty normalisation.
    pub fn fit(x: &[f32], channels: usize) -> Self {
        if channels == 0 {
            return Self {
                mean: Vec::new(),
                std: Vec::new(),
            };
        }
        let (count, mean, sq) = match channels {
            // The usual case (four bands), unrolled so the channels add side by side: the
            // same additions in the same order, so the same bits.
            4 => {
                let (count, mean, sq) = moments::<4>(x);
                (count.to_vec(), mean.to_vec(), sq.to_vec())
            }
            _ => moments_any(x, channels),
        };
        let std = sq
            .iter()
            .zip(&count)
            .map(|(&s, &n)| {
                if n == 0 {
                    1.0
                } else {
                    ((s / n as f64).sqrt() as f32).max(STD_FLOOR)
                }
            })
            .collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// A normalisation that leaves `channels` channels unchanged (mean 0, std 1).
    pub fn identity(channels: usize) -> Self {
        Self {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// Number of channels this normalisation covers.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// Checks that it covers exactly `channels` channels with finite means and positive stds.
    pub fn check(&self, channels: usize) -> Result<(), MlError> {
        if self.mean.len() != channels || self.std.len() != channels {
            return Err(MlError::InvalidNormalisation(format!(
                "expected {channels} channels, got {} means and {} stds",
                self.mean.len(),
                self.std.len()
            )));
        }
        if let Some(c) = self.mean.iter().position(|m| !m.is_finite()) {
            return Err(MlError::InvalidNormalisation(format!(
                "mean of channel {c} is not finite"
            )));
        }
        if let Some(c) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(MlError::InvalidNormalisation(format!(
                "std of channel {c} is {} (must be positive and finite)",
                self.std[c]
            )));
        }
        Ok(())
    }

    /// Normalises one value of channel `c` (caller guarantees `c < channels`).
    #[inline]
    pub(crate) fn apply(&self, c: usize, v: f32) -> f32 {
        (v - self.mean[c]) / self.std[c]
    }
}

/// Per channel of interleaved records of `C` values: count of finite values, their mean, and
/// the sum of squared deviations from it (two passes, in `f64`). Non-finite values add `+0.0`
/// and nothing to the count, which leaves every sum bit-identical to skipping them (the sums
/// start at `+0.0` and are never `-0.0`).
fn moments<const C: usize>(x: &[f32]) -> ([u64; C], [f64; C], [f64; C]) {
    let mut count = [0u64; C];
    let mut sum = [0f64; C];
    for record in x.chunks_exact(C) {
        for c in 0..C {
            let v = record[c];
            let finite = v.is_finite();
            count[c] += u64::from(finite);
            sum[c] += if finite { f64::from(v) } else { 0.0 };
        }
    }
    let mean: [f64; C] = std::array::from_fn(|c| {
        if count[c] == 0 {
            0.0
        } else {
            sum[c] / count[c] as f64
        }
    });
    // Second pass for the variance: numerically safer than sum of squares.
    let mut sq = [0f64; C];
    for record in x.chunks_exact(C) {
        for c in 0..C {
            let v = record[c];
            let d = f64::from(v) - mean[c];
            sq[c] += if v.is_finite() { d * d } else { 0.0 };
        }
    }
    (count, mean, sq)
}

/// [`moments`] for any number of channels.
fn moments_any(x: &[f32], channels: usize) -> (Vec<u64>, Vec<f64>, Vec<f64>) {
    let mut count = vec![0u64; channels];
    let mut sum = vec![0f64; channels];
    for record in x.chunks_exact(channels) {
        for (c, &v) in record.iter().enumerate() {
            if v.is_finite() {
                count[c] += 1;
                sum[c] += f64::from(v);
            }
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(&s, &n)| if n == 0 { 0.0 } else { s / n as f64 })
        .collect();
    let mut sq = vec![0f64; channels];
    for record in x.chunks_exact(channels) {
        for (c, &v) in record.iter().enumerate() {
            if v.is_finite() {
                let d = f64::from(v) - mean[c];
                sq[c] += d * d;
            }
        }
    }
    (count, mean, sq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_gives_per_channel_mean_and_population_std() {
        // Two channels interleaved: channel 0 = 1, 3; channel 1 = 10, 10 (constant).
        let n = Normalisation::fit(&[1.0, 10.0, 3.0, 10.0], 2);
        assert_eq!(n.mean, vec![2.0, 10.0]);
        assert_eq!(n.std, vec![1.0, STD_FLOOR]);
        assert!(n.check(2).is_ok());
        assert!(n.check(3).is_err());
    }

    #[test]
    fn fit_ignores_non_finite_values_and_handles_degenerate_input() {
        let n = Normalisation::fit(&[1.0, f32::NAN, 3.0, 5.0], 2);
        assert_eq!(n.mean, vec![2.0, 5.0]);
        let empty = Normalisation::fit(&[], 3);
        assert_eq!(empty, Normalisation::identity(3));
        assert_eq!(Normalisation::fit(&[1.0], 0).channels(), 0);
    }

    #[test]
    fn four_channel_fast_path_gives_the_same_bits_as_the_general_one() {
        let x: Vec<f32> = (0..4003)
            .map(|i| match i % 97 {
                5 => f32::NAN,
                9 => f32::INFINITY,
                13 => -0.0,
                _ => ((i * 7919) % 1000) as f32 * 1e-3 - 0.3,
            })
            .collect();
        let (count, mean, sq) = moments::<4>(&x);
        let general = moments_any(&x, 4);
        assert_eq!(count.to_vec(), general.0);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&mean), bits(&general.1));
        assert_eq!(bits(&sq), bits(&general.2));
    }
}
