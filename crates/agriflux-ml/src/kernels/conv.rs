//! The 3 × 3 convolution (padding 1, stride 1, with bias): im2col + `gemm` per sample, over the
//! batch on all cores; the weight gradient one well-shaped product per sample, summed per fixed
//! chunk of [`GRAD_CHUNK`] samples.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::flex_tensor::{dense, dims4, tensor, values};

/// Samples per partial sum of the weight and bias gradients (fixed, so the summation order
/// never depends on the thread count).
const GRAD_CHUNK: usize = 4;

/// One factor of [`matmul`]: a row-major matrix, or the transpose of one.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    data: &'a [f32],
    /// (column stride, row stride) in elements, as `gemm` takes them.
    strides: (isize, isize),
}

impl<'a> Operand<'a> {
    /// A row-major matrix with `row_len` values per row.
    pub(crate) fn rows(data: &'a [f32], row_len: usize) -> Self {
        Self {
            data,
            strides: (1, row_len as isize),
        }
    }

    /// The transpose of a row-major matrix with `row_len` values per row.
    pub(crate) fn transposed(data: &'a [f32], row_len: usize) -> Self {
        Self {
            data,
            strides: (row_len as isize, 1),
        }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate` (`m × k` times `k × n`; `dst`
/// row-major with `dst_row_len` values per row), on the calling thread.
pub(crate) fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_row_len: usize,
    accumulate: bool,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
) {
    let dst_strides = (1, dst_row_len as isize);
    let (lhs_strides, rhs_strides) = (lhs.strides, rhs.strides);
    let (lhs, rhs) = (lhs.data, rhs.data);
    let span = |rows: usize, cols: usize, (cs, rs): (isize, isize)| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * rs as usize + (cols - 1) * cs as usize + 1
        }
    };
    assert!(dst.len() >= span(m, n, dst_strides));
    assert!(lhs.len() >= span(m, k, lhs_strides));
    assert!(rhs.len() >= span(k, n, rhs_strides));
    // SAFETY: the three buffers are large enough for the given shapes and strides (checked
    // above), `dst` is borrowed mutably and does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides.0,
            dst_strides.1,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.0,
            lhs_strides.1,
            rhs.as_ptr(),
            rhs_strides.0,
            rhs_strides.1,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The 3 × 3 patches of one `[C, H, W]` sample as a `[C * 9, H * W]` matrix (zero padding 1).
fn im2col(x: &[f32], (c, h, w): (usize, usize, usize), cols: &mut [f32]) {
    let hw = h * w;
    for ci in 0..c {
        let plane = &x[ci * hw..(ci + 1) * hw];
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &mut cols[(ci * 9 + ky * 3 + kx) * hw..][..hw];
                for y in 0..h {
                    let out = &mut row[y * w..(y + 1) * w];
                    let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &plane[sy * w..(sy + 1) * w];
                    match kx {
                        0 => {
                            out[0] = 0.0;
                            out[1..].copy_from_slice(&src[..w - 1]);
                        }
                        1 => out.copy_from_slice(src),
                        _ => {
                            out[..w - 1].copy_from_slice(&src[1..]);
                            out[w - 1] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// Adds a `[C * 9, H * W]` patch-matrix gradient onto one `[C, H, W]` sample's gradient `dx`
/// (zero on entry: it comes from a freshly zeroed buffer, so it is not cleared again here).
fn col2im(cols: &[f32], (c, h, w): (usize, usize, usize), dx: &mut [f32]) {
    let hw = h * w;
    for ci in 0..c {
        let plane = &mut dx[ci * hw..(ci + 1) * hw];
        for ky in 0..3 {
            for kx in 0..3 {
                let row = &cols[(ci * 9 + ky * 3 + kx) * hw..][..hw];
                for y in 0..h {
                    let Some(sy) = (y + ky).checked_sub(1).filter(|&sy| sy < h) else {
                        continue;
                    };
                    let src = &row[y * w..(y + 1) * w];
                    let dst = &mut plane[sy * w..(sy + 1) * w];
                    match kx {
                        0 => dst[..w - 1]
                            .iter_mut()
                            .zip(&src[1..])
                            .for_each(|(d, s)| *d += s),
                        1 => dst.iter_mut().zip(src).for_each(|(d, s)| *d += s),
                        _ => dst[1..]
                            .iter_mut()
                            .zip(&src[..w - 1])
                            .for_each(|(d, s)| *d += s),
                    }
                }
            }
        }
    }
}

/// Checked sizes of a convolution: batch, input channels, height, width, output channels.
fn conv_dims(x: &FlexTensor, weight: &FlexTensor) -> [usize; 5] {
    let [b, c, h, w] = dims4(x);
    let [o, wc, kh, kw] = dims4(weight);
    assert!(
        wc == c && kh == 3 && kw == 3 && h > 0 && w > 0,
        "conv3x3: input {:?} and weights {:?} do not fit",
        [b, c, h, w],
        [o, wc, kh, kw]
    );
    [b, c, h, w, o]
}

/// The convolution's output `[B, O, H, W]`.
pub(super) fn conv_forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let [b, c, h, w, o] = conv_dims(x, weight);
    let (hw, k) = (h * w, c * 9);
    let (x, weight, bias) = (dense(x), dense(weight), dense(bias));
    let xs = values(&x, b * c * hw);
    let ws = values(&weight, o * k);
    let bs = values(&bias, o);
    let mut out = vec![0.0f32; b * o * hw];
    out.par_chunks_mut(o * hw).enumerate().for_each_init(
        || vec![0.0f32; k * hw],
        |cols, (i, y)| {
            im2col(&xs[i * c * hw..(i + 1) * c * hw], (c, h, w), cols);
            for (row, &bias) in y.chunks_exact_mut(hw).zip(bs) {
                row.fill(bias);
            }
            matmul(
                (o, hw, k),
                y,
                hw,
                true,
                Operand::rows(ws, k),
                Operand::rows(cols, hw),
            );
        },
    );
    tensor(out, &[b, o, h, w])
}

/// Gradients of the convolution for the input (if `need_x`) and for the weights and bias (if
/// `need_params`).
pub(super) fn conv_backward(
    x: &FlexTensor,
    weight: &FlexTensor,
    grad: &FlexTensor,
    need_x: bool,
    need_params: bool,
) -> (Option<FlexTensor>, Option<FlexTensor>, Option<FlexTensor>) {
    let [b, c, h, w, o] = conv_dims(x, weight);
    let (hw, k) = (h * w, c * 9);
    let (x, weight, grad) = (dense(x), dense(weight), dense(grad));
    assert_eq!(dims4(&grad), [b, o, h, w], "conv3x3: gradient shape");
    let xs = values(&x, b * c * hw);
    let ws = values(&weight, o * k);
    let gs = values(&grad, b * o * hw);

    let (gw, gb) = if need_params {
        // Per fixed chunk of samples: sum of g_i · cols_iᵀ and of g_i over pixels.
        let partials: Vec<(Vec<f32>, Vec<f64>)> = (0..b.div_ceil(GRAD_CHUNK))
            .into_par_iter()
            .map(|chunk| {
                let mut cols = vec![0.0f32; k * hw];
                let mut gw = vec![0.0f32; o * k];
                let mut gb = vec![0.0f64; o];
                for i in chunk * GRAD_CHUNK..((chunk + 1) * GRAD_CHUNK).min(b) {
                    im2col(&xs[i * c * hw..(i + 1) * c * hw], (c, h, w), &mut cols);
                    let g = &gs[i * o * hw..(i + 1) * o * hw];
                    matmul(
                        (o, k, hw),
                        &mut gw,
                        k,
                        true,
                        Operand::rows(g, hw),
                        Operand::transposed(&cols, hw),
                    );
                    for (sum, row) in gb.iter_mut().zip(g.chunks_exact(hw)) {
                        *sum += row.iter().map(|&v| f64::from(v)).sum::<f64>();
                    }
                }
                (gw, gb)
            })
            .collect();
        let mut gw = vec![0.0f32; o * k];
        let mut gb = vec![0.0f64; o];
        for (pw, pb) in &partials {
            gw.iter_mut().zip(pw).for_each(|(s, v)| *s += v);
            gb.iter_mut().zip(pb).for_each(|(s, v)| *s += v);
        }
        let gb: Vec<f32> = gb.into_iter().map(|v| v as f32).collect();
        (Some(tensor(gw, &[o, c, 3, 3])), Some(tensor(gb, &[o])))
    } else {
        (None, None)
    };

    let gx = need_x.then(|| {
        let mut dx = vec![0.0f32; b * c * hw];
        dx.par_chunks_mut(c * hw).enumerate().for_each_init(
            || vec![0.0f32; k * hw],
            |dcols, (i, dx)| {
                let g = &gs[i * o * hw..(i + 1) * o * hw];
                // Wᵀ · g_i, then the patches back onto the image.
                matmul(
                    (k, hw, o),
                    dcols,
                    hw,
                    false,
                    Operand::transposed(ws, k),
                    Operand::rows(g, hw),
                );
                col2im(dcols, (c, h, w), dx);
            },
        );
        tensor(dx, &[b, c, h, w])
    });
    (gx, gw, gb)
}
