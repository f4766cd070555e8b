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

use agriflux_base::simd::with_avx2_if_available;

/// Denominators with a smaller magnitude than this give NaN instead of a huge ratio.
pub const MIN_DENOMINATOR: f64 = 1e-6;

/// NDVI = (B08 − B04) / (B08 + B04).
pub fn ndvi(b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("ndvi", [b04, b08], valid, ndvi_ratio)
}

/// SAVI = 1.5 (B08 − B04) / (B08 + B04 + 0.5), the soil-adjusted index with L = 0.5.
pub fn savi(b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("savi", [b04, b08], valid, savi_ratio)
}

/// EVI = 2.5 (B08 − B04) / (B08 + 6 B04 − 7.5 B02 + 1).
pub fn evi(b02: &[f32], b04: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("evi", [b02, b04, b08], valid, evi_ratio)
}

/// NDWI (McFeeters) = (B03 − B08) / (B03 + B08).
pub fn ndwi(b03: &[f32], b08: &[f32], valid: &[bool]) -> Vec<f32> {
    per_pixel("ndwi", [b03, b08], valid, ndwi_ratio)
}

#[inline(always)]
fn ndvi_ratio([red, nir]: [f64; 2]) -> (f64, f64) {
    (nir - red, nir + red)
}

#[inline(always)]
fn savi_ratio([red, nir]: [f64; 2]) -> (f64, f64) {
    (1.5 * (nir - red), nir + red + 0.5)
}

#[inline(always)]
fn evi_ratio([blue, red, nir]: [f64; 3]) -> (f64, f64) {
    (2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0)
}

#[inline(always)]
fn ndwi_ratio([green, nir]: [f64; 2]) -> (f64, f64) {
    (green - nir, green + nir)
}

/// NDVI of every pixel of a band-interleaved raster (`B02, B03, B04, B08` per pixel, as
/// [`Scene::bands`](super::scene::Scene::bands) stores them): bit-identical to [`ndvi`] of the
/// B04 and B08 planes, without extracting them.
///
/// # Panics
///
/// If `bands` does not hold four values per entry of `valid`.
pub fn ndvi_interleaved(bands: &[f32], valid: &[bool]) -> Vec<f32> {
    check_interleaved("ndvi", bands, valid);
    let mut out = vec![0.0f32; valid.len()];
    with_avx2_if_available(|| {
        for ((o, px), &ok) in out.iter_mut().zip(bands.chunks_exact(4)).zip(valid) {
            *o = finish(ok, [px[2], px[3]], ndvi_ratio);
        }
    });
    out
}

/// NDVI, SAVI, EVI and NDWI of every pixel of a band-interleaved raster in one pass:
/// bit-identical to [`ndvi`], [`savi`], [`evi`] and [`ndwi`] of the band planes.
///
/// # Panics
///
/// If `bands` does not hold four values per entry of `valid`.
pub fn all_interleaved(bands: &[f32], valid: &[bool]) -> [Vec<f32>; 4] {
    check_interleaved("indices", bands, valid);
    let n = valid.len();
    let [mut ndvi, mut savi, mut evi, mut ndwi] = [(); 4].map(|_| vec![0.0f32; n]);
    with_avx2_if_available(|| {
        let outputs = ndvi.iter_mut().zip(&mut savi).zip(&mut evi).zip(&mut ndwi);
        for ((((a, b), c), d), (px, &ok)) in outputs.zip(bands.chunks_exact(4).zip(valid)) {
            let [blue, green, red, nir] = [px[0], px[1], px[2], px[3]];
            *a = finish(ok, [red, nir], ndvi_ratio);
            *b = finish(ok, [red, nir], savi_ratio);
            *c = finish(ok, [blue, red, nir], evi_ratio);
            *d = finish(ok, [green, nir], ndwi_ratio);
        }
    });
    [ndvi, savi, evi, ndwi]
}

/// Panics unless `bands` holds four values per pixel of `valid`.
fn check_interleaved(name: &str, bands: &[f32], valid: &[bool]) {
    assert_eq!(
        bands.len(),
        4 * valid.len(),
        "{name}: {} band values for {} pixels",
        bands.len(),
        valid.len()
    );
}

/// Applies `ratio` (returning numerator and denominator) to every valid, finite pixel.
fn per_pixel<const N: usize>(
    name: &str,
    bands: [&[f32]; N],
    valid: &[bool],
    ratio: impl Fn([f64; N]) -> (f64, f64) + Copy,
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
    // Re-sliced to exactly the mask's length so the loop has no bounds checks and no
    // branches, and the compiler vectorises it.
    let n = valid.len();
    let bands = bands.map(|band| &band[..n]);
    (0..n)
        .map(|px| finish(valid[px], bands.map(|band| band[px]), ratio))
        .collect()
}

/// One pixel: NaN unless valid, finite and with a large enough denominator; else the ratio in
/// `f64` rounded once to `f32`.
#[inline(always)]
fn finish<const N: usize>(
    valid: bool,
    values: [f32; N],
    ratio: impl Fn([f64; N]) -> (f64, f64),
) -> f32 {
    let finite = values.iter().fold(true, |acc, v| acc & v.is_finite());
    let (num, den) = ratio(values.map(f64::from));
    let value = (num / den) as f32;
    if valid & finite & (den.abs() >= MIN_DENOMINATOR) {
        value
    } else {
        f32::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_over_interleaved_bands_gives_the_same_bits_as_the_planes() {
        // Odd values on purpose: NaN and infinite bands, a zero denominator, masked pixels.
        let mut bands: Vec<f32> = (0..4 * 1003)
            .map(|i| ((i * 7919) % 1000) as f32 / 997.0)
            .collect();
        bands[4 * 5 + 2] = f32::NAN;
        bands[4 * 9 + 3] = f32::INFINITY;
        bands[4 * 12 + 2] = 0.0;
        bands[4 * 12 + 3] = 0.0;
        let valid: Vec<bool> = (0..1003).map(|i| i % 11 != 3).collect();
        let plane = |b: usize| bands.iter().skip(b).step_by(4).copied().collect::<Vec<_>>();
        let (b02, b03, b04, b08) = (plane(0), plane(1), plane(2), plane(3));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let [n, s, e, w] = all_interleaved(&bands, &valid);
        assert_eq!(bits(&n), bits(&ndvi(&b04, &b08, &valid)));
        assert_eq!(bits(&s), bits(&savi(&b04, &b08, &valid)));
        assert_eq!(bits(&e), bits(&evi(&b02, &b04, &b08, &valid)));
        assert_eq!(bits(&w), bits(&ndwi(&b03, &b08, &valid)));
        assert_eq!(bits(&ndvi_interleaved(&bands, &valid)), bits(&n));
        assert!(n[5].is_nan() && n[9].is_nan() && n[12].is_nan() && n[3].is_nan());
    }

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
    fn interleaved_ndvi_is_bit_identical_to_the_plane_version() {
        let mut bands = Vec::new();
        let mut valid = Vec::new();
        let specials = [0.0, -0.0, 0.5, -0.4999995, f32::NAN, f32::INFINITY, 1e-8];
        for (i, &a) in specials.iter().enumerate() {
            for (j, &b) in specials.iter().enumerate() {
                bands.extend([0.03, 0.05, a, b]);
                valid.push((i + j) % 5 != 0);
            }
        }
        for k in 0..1000 {
            let red = 0.001 * k as f32;
            bands.extend([0.04, 0.06, red, 0.9 - red * 0.7]);
            valid.push(k % 7 != 3);
        }
        let plane = |b: usize| -> Vec<f32> { bands.iter().skip(b).step_by(4).copied().collect() };
        let bits = |v: Vec<f32>| -> Vec<u32> { v.into_iter().map(f32::to_bits).collect() };
        let expected: Vec<f32> = (0..valid.len())
            .map(|px| {
                let (red, nir) = (f64::from(plane(2)[px]), f64::from(plane(3)[px]));
                let finite = plane(2)[px].is_finite() && plane(3)[px].is_finite();
                let den = nir + red;
                if !valid[px] || !finite || den.abs() < MIN_DENOMINATOR {
                    f32::NAN
                } else {
                    ((nir - red) / den) as f32
                }
            })
            .collect();
        assert_eq!(
            bits(ndvi_interleaved(&bands, &valid)),
            bits(expected.clone())
        );
        assert_eq!(bits(ndvi(&plane(2), &plane(3), &valid)), bits(expected));
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
