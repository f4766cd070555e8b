//! Vectorised `sigmoid` and `tanh` over slices, and the LSTM cell built from them (forward and
//! backward), for the LSTM kernel.
//!
//! Why not `f32::exp` and `f32::tanh`: they are calls into the C library, one value at a
//! time, and the LSTM evaluates five activations per hidden unit per step. These loops are
//! straight-line arithmetic (Cephes' `expf` polynomial with the exponent built from bits), which
//! the compiler turns into SIMD code; on CPUs with AVX2 the same code runs eight lanes wide.
//! Results are the same whichever path runs: the arithmetic is identical, only the lane count
//! differs (no fused multiply-add is used).

use agriflux_base::simd::with_avx2_if_available;

/// `sigmoid(v) = 1 / (1 + e^-v)` for each value, in place (relative error below 1e-6).
pub(crate) fn sigmoid_in_place(values: &mut [f32]) {
    with_avx2_if_available(|| sigmoid_slice(values));
}

/// `tanh(v)` for each value, in place (absolute error below 1e-6).
pub(crate) fn tanh_in_place(values: &mut [f32]) {
    with_avx2_if_available(|| tanh_slice(values));
}

#[inline(always)]
fn sigmoid_slice(values: &mut [f32]) {
    for v in values {
        *v = sigmoid(*v);
    }
}

#[inline(always)]
fn tanh_slice(values: &mut [f32]) {
    for v in values {
        *v = tanh(*v);
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x) = 1 - 2 / (e^2x + 1)`, with a short series near zero where that form cancels.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let far = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
    let x2 = x * x;
    let near = x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0)));
    if x2 < 0.0625 * 0.0625 { near } else { far }
}

/// `e^x` (Cephes `expf`): `x = n ln 2 + r` with `|r| <= ln 2 / 2`, a degree-7 polynomial for
/// `e^r`, and `2^n` built from its bits. Inputs are clamped to the range where `e^x` is a normal
/// float.
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    // ln 2 in two parts, so that n * LN2_HI is exact.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * r * r + r + 1.0;
    let n_int = t.to_bits() as i32 - ROUND.to_bits() as i32;
    er * f32::from_bits(((n_int + 127) as u32) << 23)
}

/// One sequence's cell update: `a` holds the gates' pre-activations `[i | f | g | o]` and is
/// overwritten with their activations; writes the new cell state, its `tanh` and the new hidden
/// state.
pub(crate) fn cell_forward(
    a: &mut [f32],
    c_prev: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
) {
    let hd = c.len();
    let (ifg, o) = a.split_at_mut(3 * hd);
    let (i_f, g) = ifg.split_at_mut(2 * hd);
    sigmoid_in_place(i_f);
    tanh_in_place(g);
    sigmoid_in_place(o);
    let (i, f) = i_f.split_at(hd);
    for k in 0..hd {
        c[k] = f[k] * c_prev[k] + i[k] * g[k];
    }
    tc.copy_from_slice(c);
    tanh_in_place(tc);
    for k in 0..hd {
        h[k] = o[k] * tc[k];
    }
}

/// One sequence's step backwards: from the gradient `dh` of the new hidden state and `dc` of the
/// new cell state (which becomes the gradient of the previous cell state), the gradient of the
/// gates' pre-activations `da`.
pub(crate) fn cell_backward(
    gates: &[f32],
    c_prev: &[f32],
    tc: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    da: &mut [f32],
) {
    let hd = dh.len();
    let (i, rest) = gates.split_at(hd);
    let (f, rest) = rest.split_at(hd);
    let (g, o) = rest.split_at(hd);
    let (da_i, rest) = da.split_at_mut(hd);
    let (da_f, rest) = rest.split_at_mut(hd);
    let (da_g, da_o) = rest.split_at_mut(hd);
    for k in 0..hd {
        let dck = dc[k] + dh[k] * o[k] * (1.0 - tc[k] * tc[k]);
        da_o[k] = dh[k] * tc[k] * o[k] * (1.0 - o[k]);
        da_i[k] = dck * g[k] * i[k] * (1.0 - i[k]);
        da_g[k] = dck * i[k] * (1.0 - g[k] * g[k]);
        da_f[k] = dck * c_prev[k] * f[k] * (1.0 - f[k]);
        dc[k] = dck * f[k];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<f32> {
        (-40_000..=40_000).map(|i| i as f32 * 5e-4).collect()
    }

    #[test]
    fn exp_is_accurate_over_the_range_the_gates_see() {
        for x in (-8_000..=8_000).map(|i| i as f32 * 1e-2) {
            let (ours, std) = (exp(x), x.exp());
            assert!(
                ((ours - std) / std).abs() < 3e-7,
                "exp({x}): {ours} vs {std}"
            );
        }
    }

    #[test]
    fn sigmoid_matches_the_definition() {
        let mut v = grid();
        sigmoid_in_place(&mut v);
        for (x, s) in grid().iter().zip(&v) {
            let want = 1.0 / (1.0 + f64::from(-x).exp());
            assert!(
                ((f64::from(*s) - want) / want).abs() < 1e-6,
                "sigmoid({x}): {s} vs {want}"
            );
        }
    }

    #[test]
    fn tanh_matches_the_library_including_near_zero() {
        let mut v = grid();
        v.extend([1e-6, -3e-5, 0.0, 0.062, 0.063, 1e3, -1e3, 90.0, -90.0]);
        let inputs = v.clone();
        tanh_in_place(&mut v);
        for (x, t) in inputs.iter().zip(&v) {
            let want = f64::from(*x).tanh();
            let err = (f64::from(*t) - want).abs();
            assert!(
                err < 1e-6 && err <= 1e-5 * want.abs().max(0.1),
                "tanh({x}): {t} vs {want}"
            );
        }
    }

    #[test]
    fn saturates_without_overflow_or_nan() {
        let mut v = vec![f32::MAX, f32::MIN, 1e30, -1e30, 200.0, -200.0];
        let mut w = v.clone();
        sigmoid_in_place(&mut v);
        tanh_in_place(&mut w);
        for (s, want) in v.iter().zip([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]) {
            assert!(
                s.is_finite() && (s - want).abs() < 1e-30,
                "sigmoid saturates to {want}: {s}"
            );
        }
        assert_eq!(w, [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]);
    }

    #[test]
    fn both_code_paths_give_identical_bits() {
        let mut generic = grid();
        let mut dispatched = grid();
        sigmoid_slice(&mut generic);
        sigmoid_in_place(&mut dispatched);
        assert_eq!(generic, dispatched);
        let mut generic = grid();
        let mut dispatched = grid();
        tanh_slice(&mut generic);
        tanh_in_place(&mut dispatched);
        assert_eq!(generic, dispatched);
    }
}
