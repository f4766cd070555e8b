//! Spectral vegetation and water indices computed per pixel from Sentinel-2 reflectances.
//!
//! Every function takes band slices of equal length plus a validity mask and returns one value
//! per pixel. A pixel is NaN when it is masked out, when any input band is not finite, or when
//! the formula's denominator has a magnitude below [`MIN_DENOMINATOR`]. Values are never
//! clipped: an EVI of 1.3 from odd reflectances stays 1.3, so downstream checks can see it.
//! Arithmetic is done in `f64` and rounded once to `f32`.
//!
//! # Panics
//!
//! Each function panics if the slices do not all have the same length (a programming error).

/// Denominators with a smaller magnitude than this give NaN instead of a huge ratio.
pub const MIN_DENOMINATOR: f64 = 1e-6;

/// NDVI = (B08 − B04) / (B08 + B04).
pub fn ndvi(b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("ndvi", [b04, b08], valid, |[red, nir]| {
        (nir - red, nir + red)
    })
}

/// SAVI = 1.5 (B08 − B04) / (B08 + B04 + 0.5), the soil-adjusted index with L = 0.5.
pub fn savi(b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("savi", [b04, b08], valid, |[red, nir]| {
        (1.5 * (nir - red), nir + red + 0.5)
    })
}

/// EVI = 2.5 (B08 − B04) / (B08 + 6 B04 − 7.5 B02 + 1).
pub fn evi(b02: &[f32], b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("evi", [b02, b04, b08], valid, |[blue, red, nir]| {
        (2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0)
    })
}

/// NDWI (McFeeters) = (B03 − B08) / (B03 + B08).
pub fn ndwi(b03: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("ndwi", [b03, b08], valid, |[green, nir]| {
        (green - nir, green + nir)
    })
}

/// Applies `ratio` (returning numerator and denominator) to every valid, finite pixel.
fn per_pixel<const N: usize>(
    name: &str,
    bands: [&[f32]; N],
    valid: &[bool],
    ratio: impl Fn([f64; N]) -> (f64, f64),
) -> Vec<f32> {
    for (i, band) in bands.iter().enumerate() {
        assert_eq!(
            band.len(),
            valid.len(),
            "{name}: band {i} has {} pixels but the validity mask has {}",
            band.len(),
            valid.len()
        );
    }
    (0..valid.len())
        .map(|px| {
            if !valid[px] {
                return f32::NAN;
            }
            let values = bands.map(|band| band[px]);
            if values.iter().any(|v| !v.is_finite()) {
                return f32::NAN;
            }
            let (num, den) = ratio(values.map(f64::from));
            if den.abs() < MIN_DENOMINATOR {
                f32::NAN
            } else {
                (num / den) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(actual: f32, expected: f64) {
        assert!(
            (f64::from(actual) - expected).abs() < 1e-6,
            "got {actual}, expected {expected}"
        );
    }

    #[test]
    fn ndvi_matches_hand_computed_values() {
        // (0.5 - 0.1) / (0.5 + 0.1) = 2/3; (0.3 - 0.3) / 0.6 = 0; (0.1 - 0.4) / 0.5 = -0.6.
        let out = ndvi(&[0.1, 0.3, 0.4], &[0.5, 0.3, 0.1], &[true; 3]);
        assert_close(out[0], 2.0 / 3.0);
        assert_close(out[1], 0.0);
        assert_close(out[2], -0.6);
    }

    #[test]
    fn savi_matches_hand_computed_values() {
        // 1.5 * 0.4 / (0.5 + 0.1 + 0.5) = 0.6 / 1.1.
        let out = savi(&[0.1, 0.2], &[0.5, 0.2], &[true, true]);
        assert_close(out[0], 0.6 / 1.1);
        assert_close(out[1], 0.0);
    }

    #[test]
    fn evi_matches_hand_computed_values() {
        // 2.5 * (0.5 - 0.1) / (0.5 + 0.6 - 0.375 + 1) = 1.0 / 1.725.
        let out = evi(&[0.05], &[0.1], &[0.5], &[true]);
        assert_close(out[0], 1.0 / 1.725);
    }

    #[test]
    fn ndwi_matches_hand_computed_values() {
        // (0.3 - 0.1) / (0.3 + 0.1) = 0.5; water-free vegetation is negative.
        let out = ndwi(&[0.3, 0.05], &[0.1, 0.45], &[true, true]);
        assert_close(out[0], 0.5);
        assert_close(out[1], -0.8);
    }

    #[test]
    fn indices_are_never_clipped() {
        // EVI: 2.5 * 0.1 / (0.1 + 0 - 0.9 + 1) = 0.25 / 0.2 = 1.25.
        assert_close(evi(&[0.12], &[0.0], &[0.1], &[true])[0], 1.25);
        // EVI with a negative denominator: 0.25 / (0.1 - 1.5 + 1) = -0.625.
        assert_close(evi(&[0.2], &[0.0], &[0.1], &[true])[0], -0.625);
        // NDVI from a (bad) negative reflectance: 0.4 / 0.2 = 2.
        assert_close(ndvi(&[-0.1], &[0.3], &[true])[0], 2.0);
        // NDWI: 0.4 / -0.2 = -2.
        assert_close(ndwi(&[0.1], &[-0.3], &[true])[0], -2.0);
    }

    #[test]
    fn ndvi_is_nan_where_pixel_invalid() {
        let out = ndvi(&[0.1, 0.1, 0.1], &[0.5, 0.5, 0.5], &[true, false, true]);
        assert!(!out[0].is_nan());
        assert!(out[1].is_nan());
        assert!(!out[2].is_nan());
    }

    #[test]
    fn every_index_is_nan_where_an_input_is_not_finite() {
        let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        for b in bad {
            let ok = [0.1f32];
            let v = [true];
            assert!(ndvi(&[b], &ok, &v)[0].is_nan());
            assert!(ndvi(&ok, &[b], &v)[0].is_nan());
            assert!(savi(&[b], &ok, &v)[0].is_nan());
            assert!(savi(&ok, &[b], &v)[0].is_nan());
            assert!(evi(&[b], &ok, &ok, &v)[0].is_nan());
            assert!(evi(&ok, &[b], &ok, &v)[0].is_nan());
            assert!(evi(&ok, &ok, &[b], &v)[0].is_nan());
            assert!(ndwi(&[b], &ok, &v)[0].is_nan());
            assert!(ndwi(&ok, &[b], &v)[0].is_nan());
        }
    }

    #[test]
    fn indices_are_nan_where_denominator_is_below_1e_6() {
        // Exactly zero denominators.
        assert!(ndvi(&[0.2], &[-0.2], &[true])[0].is_nan());
        assert!(ndvi(&[0.0], &[0.0], &[true])[0].is_nan());
        assert!(ndwi(&[0.25], &[-0.25], &[true])[0].is_nan());
        assert!(savi(&[-0.25], &[-0.25], &[true])[0].is_nan());
        // 0.2 + 0 - 7.5 * 0.16 + 1 = 0.
        assert!(evi(&[0.16], &[0.0], &[0.2], &[true])[0].is_nan());
        // |B04 + B08| of about 5e-7: still NaN; 2e-6: a (large) finite value.
        assert!(ndvi(&[0.5], &[-0.4999995], &[true])[0].is_nan());
        let big = ndvi(&[0.5], &[-0.499998], &[true])[0];
        assert!(big.is_finite() && big < -1e5, "got {big}");
    }

    #[test]
    fn empty_inputs_give_empty_output() {
        assert!(ndvi(&[], &[], &[]).is_empty());
        assert!(evi(&[], &[], &[], &[]).is_empty());
    }

    #[test]
    #[should_panic(expected = "ndvi: band 1 has 1 pixels but the validity mask has 2")]
    fn mismatched_lengths_are_a_programming_error() {
        ndvi(&[0.1, 0.2], &[0.1], &[true, true]);
    }
}
