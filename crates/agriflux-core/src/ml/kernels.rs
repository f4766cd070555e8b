//! The CNN's hot operations as custom operations on burn's `flex` CPU backend, each with a
//! hand-written backward pass: the 3 × 3 convolution (padding 1, stride 1, with bias) and the
//! 2 × 2 max pooling (stride 2).
//!
//! Why: profiling the training step showed flex's convolution (im2col loops, and a weight
//! gradient computed as a convolution whose kernel is the whole output gradient, a badly shaped
//! matrix product), and its generic 3-D max pooling with indices, taking most of the time, all
//! on one core. Here the convolution is an im2col + `gemm` per sample, the weight gradient one
//! well-shaped product per sample, and both run over the batch on all cores.
//!
//! Determinism: every output value is computed by one thread in a fixed order, and the weight
//! and bias gradients are summed per fixed chunk of [`GRAD_CHUNK`] samples, then over the chunks
//! in order. Results do not depend on the number of threads or on scheduling, so the pipeline's
//! same-seed-same-result guarantee holds.
//!
//! Modules, parameters, optimiser and saving stay burn's: [`conv3x3`] reads the weights of a
//! `burn::nn::conv::Conv2d`, and the operations plug into burn's autodiff through its
//! backend-extension mechanism.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::conv::Conv2d;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// Samples per partial sum of the weight and bias gradients (fixed, so the summation order
/// never depends on the thread count).
const GRAD_CHUNK: usize = 4;

/// Custom CNN operations (NCHW, f32).
#[backend_extension(Flex, Autodiff)]
pub trait CnnKernels: Backend {
    /// 3 × 3 convolution, padding 1, stride 1: `x` `[B, C, H, W]`, `weight` `[O, C, 3, 3]`,
    /// `bias` `[O]`, output `[B, O, H, W]`.
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// 2 × 2 max pooling, stride 2 (a trailing odd row or column is dropped): `[B, C, H, W]`
    /// to `[B, C, H / 2, W / 2]`.
    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl CnnKernels for Flex {
    fn conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        conv_forward(&x, &weight, &bias)
    }

    fn max_pool2x2(x: FlexTensor) -> FlexTensor {
        pool_forward(&x)
    }
}

impl<C: CheckpointStrategy> CnnKernels for Autodiff<Flex, C> {
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv3x3Backward;

        impl Backward<Flex, 3> for Conv3x3Backward {
            /// The input and the weights.
            type State = (FlexTensor, FlexTensor);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_w, node_b] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (x, weight) = ops.state;
                let need_params = node_w.is_some() || node_b.is_some();
                let (gx, gw, gb) = conv_backward(&x, &weight, &grad, node_x.is_some(), need_params);
                if let (Some(node), Some(g)) = (node_x, gx) {
                    grads.register::<Flex>(node.id, g);
                }
                if let (Some(node), Some(g)) = (node_w, gw) {
                    grads.register::<Flex>(node.id, g);
                }
                if let (Some(node), Some(g)) = (node_b, gb) {
                    grads.register::<Flex>(node.id, g);
                }
            }
        }

        match Conv3x3Backward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let out = conv_forward(&xp, &wp, bias.primitive());
                prep.finish((xp, wp), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
            )),
        }
    }

    fn max_pool2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl Backward<Flex, 1> for MaxPoolBackward {
            /// The input (the maxima are found again).
            type State = FlexTensor;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<Flex>(node.id, pool_backward(&ops.state, &grad));
                }
            }
        }

        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let xp = x.primitive().clone();
                let out = pool_forward(&xp);
                prep.finish(xp, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(pool_forward(x.primitive())),
        }
    }
}

/// [`CnnKernels::conv3x3`] with the weights and bias of `conv` (a 3 × 3, padding 1, stride 1
/// `Conv2d` with bias, as the CNN builds them).
pub(crate) fn conv3x3(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    let weight = conv.weight.val();
    let bias = conv
        .bias
        .as_ref()
        .expect("the CNN's convolutions have a bias")
        .val();
    Tensor::from_dispatch(<Dispatch as CnnKernels>::conv3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// [`CnnKernels::max_pool2x2`] on a tensor.
pub(crate) fn max_pool2x2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CnnKernels>::max_pool2x2(x.into_dispatch()))
}

/// A contiguous, offset-free view of `t` (a cheap clone when it already is one).
pub(super) fn dense(t: &FlexTensor) -> FlexTensor {
    if t.is_contiguous() && t.layout().start_offset() == 0 {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

/// The shape of a 4-D tensor.
fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    assert_eq!(s.num_dims(), 4, "expected a 4-D tensor, got {s:?}");
    [s[0], s[1], s[2], s[3]]
}

/// The f32 values of a dense tensor of `len` values.
pub(super) fn values(t: &FlexTensor, len: usize) -> &[f32] {
    &t.storage::<f32>()[..len]
}

/// A new flex tensor.
pub(super) fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// `dst = alpha * dst + beta * lhs * rhs` (`m × k` times `k × n`), strides in elements
/// (column stride, row stride), on the calling thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_strides: (isize, isize),
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (isize, isize),
    rhs: &[f32],
    rhs_strides: (isize, isize),
) {
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

/// Adds a `[C * 9, H * W]` patch-matrix gradient back onto one `[C, H, W]` sample (`dx` is
/// overwritten).
fn col2im(cols: &[f32], (c, h, w): (usize, usize, usize), dx: &mut [f32]) {
    let hw = h * w;
    dx.fill(0.0);
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
fn conv_forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
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
                o,
                hw,
                k,
                y,
                (1, hw as isize),
                true,
                ws,
                (1, k as isize),
                cols,
                (1, hw as isize),
            );
        },
    );
    tensor(out, &[b, o, h, w])
}

/// Gradients of the convolution for the input (if `need_x`) and for the weights and bias (if
/// `need_params`).
fn conv_backward(
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
                        o,
                        k,
                        hw,
                        &mut gw,
                        (1, k as isize),
                        true,
                        g,
                        (1, hw as isize),
                        &cols,
                        (hw as isize, 1),
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
                    k,
                    hw,
                    o,
                    dcols,
                    (1, hw as isize),
                    false,
                    ws,
                    (k as isize, 1),
                    g,
                    (1, hw as isize),
                );
                col2im(dcols, (c, h, w), dx);
            },
        );
        tensor(dx, &[b, c, h, w])
    });
    (gx, gw, gb)
}

/// Index (0..4, row-major in the window) of the first largest of the 2 × 2 window at output
/// `(oy, ox)` of a plane `w` wide.
#[inline]
fn window_argmax(plane: &[f32], w: usize, oy: usize, ox: usize) -> (usize, f32) {
    let top = 2 * oy * w + 2 * ox;
    let candidates = [top, top + 1, top + w, top + w + 1];
    let mut best = candidates[0];
    for &p in &candidates[1..] {
        if plane[p] > plane[best] {
            best = p;
        }
    }
    (best, plane[best])
}

/// The pooled tensor `[B, C, H / 2, W / 2]`.
fn pool_forward(x: &FlexTensor) -> FlexTensor {
    let [b, c, h, w] = dims4(x);
    let (oh, ow) = (h / 2, w / 2);
    let x = dense(x);
    let xs = values(&x, b * c * h * w);
    let mut out = vec![0.0f32; b * c * oh * ow];
    if oh * ow > 0 {
        out.par_chunks_mut(oh * ow)
            .enumerate()
            .for_each(|(p, out)| {
                let plane = &xs[p * h * w..(p + 1) * h * w];
                for oy in 0..oh {
                    for ox in 0..ow {
                        out[oy * ow + ox] = window_argmax(plane, w, oy, ox).1;
                    }
                }
            });
    }
    tensor(out, &[b, c, oh, ow])
}

/// The pooling's input gradient: each output's gradient goes to its window's (first) maximum.
fn pool_backward(x: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let [b, c, h, w] = dims4(x);
    let (oh, ow) = (h / 2, w / 2);
    let (x, grad) = (dense(x), dense(grad));
    assert_eq!(dims4(&grad), [b, c, oh, ow], "max_pool2x2: gradient shape");
    let xs = values(&x, b * c * h * w);
    let gs = values(&grad, b * c * oh * ow);
    let mut dx = vec![0.0f32; b * c * h * w];
    if oh * ow > 0 {
        dx.par_chunks_mut(h * w).enumerate().for_each(|(p, dx)| {
            let plane = &xs[p * h * w..(p + 1) * h * w];
            let g = &gs[p * oh * ow..(p + 1) * oh * ow];
            for oy in 0..oh {
                for ox in 0..ow {
                    let (at, _) = window_argmax(plane, w, oy, ox);
                    dx[at] = g[oy * ow + ox];
                }
            }
        });
    }
    tensor(dx, &[b, c, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::Device;

    /// Reproducible values in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as::<f32>().unwrap()
    }

    fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * scale,
                "{what}[{i}]: {x} vs burn's {y} (scale {scale})"
            );
        }
    }

    /// Input, loss weights and a burn convolution for a check on `device`.
    fn setup(shape: [usize; 4], out_channels: usize, device: &Device) -> (Tensor<4>, Conv2d) {
        let [b, c, h, w] = shape;
        let x = Tensor::from_data(TensorData::new(noise(b * c * h * w, 1), shape), device);
        // burn's generator is process-wide: hold the trainers' lock so concurrent tests that
        // check same-seed reproducibility are not disturbed.
        let _rng = crate::ml::training::lock_rng(&crate::ml::CancelToken::new()).unwrap();
        device.seed(7);
        let conv = Conv2dConfig::new([c, out_channels], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device);
        (x, conv)
    }

    /// Conv, then pool, then a weighted sum: the gradients of x, weight and bias of the custom
    /// kernels against burn's own Conv2d and MaxPool2d.
    fn check_against_burn(shape: [usize; 4], out_channels: usize) {
        let device = Device::flex().autodiff();
        let (x, conv) = setup(shape, out_channels, &device);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let [b, _, h, w] = shape;
        let pooled = b * out_channels * (h / 2) * (w / 2);
        let mix = Tensor::<4>::from_data(
            TensorData::new(noise(pooled, 3), [b, out_channels, h / 2, w / 2]),
            &device,
        );

        let run = |custom: bool| {
            let x = x.clone().detach().require_grad();
            let y = if custom {
                max_pool2x2(conv3x3(x.clone(), &conv))
            } else {
                pool.forward(conv.forward(x.clone()))
            };
            let conv_out = if custom {
                conv3x3(x.clone(), &conv)
            } else {
                conv.forward(x.clone())
            };
            let loss = (y.clone() * mix.clone()).sum();
            let grads = loss.backward();
            let gx = x.grad(&grads).expect("x gradient");
            let gw = conv.weight.val().grad(&grads).expect("weight gradient");
            let gb = conv
                .bias
                .as_ref()
                .unwrap()
                .val()
                .grad(&grads)
                .expect("bias gradient");
            (
                vec_of(conv_out),
                vec_of(y),
                vec_of(gx),
                vec_of(gw),
                vec_of(gb),
            )
        };
        let ours = run(true);
        let burns = run(false);
        assert_close("conv output", &ours.0, &burns.0, 1e-5);
        assert_close("pooled output", &ours.1, &burns.1, 1e-5);
        assert_close("x gradient", &ours.2, &burns.2, 1e-4);
        assert_close("weight gradient", &ours.3, &burns.3, 1e-4);
        assert_close("bias gradient", &ours.4, &burns.4, 1e-4);
    }

    #[test]
    fn conv_and_pool_gradients_match_burns_layers() {
        check_against_burn([2, 3, 6, 8], 4);
        // Odd sizes (the pool drops the last row and column), one sample, more chunks than
        // one for the weight gradient.
        check_against_burn([1, 2, 7, 5], 3);
        check_against_burn([9, 4, 4, 4], 5);
    }

    #[test]
    fn conv_gradient_matches_finite_differences() {
        // d(sum(mix * conv(x))) / d(x[j]) and / d(w[j]) against central differences in f64-ish
        // precision (small sizes, step 1e-2 on a loss linear in each variable).
        let device = Device::flex().autodiff();
        let (x, conv) = setup([1, 2, 4, 5], 3, &device);
        let mix =
            Tensor::<4>::from_data(TensorData::new(noise(3 * 4 * 5, 5), [1, 3, 4, 5]), &device);
        let loss_of = |x: Tensor<4>| (conv3x3(x, &conv) * mix.clone()).sum();
        let xg = x.clone().require_grad();
        let grads = loss_of(xg.clone()).backward();
        let analytic = vec_of(xg.grad(&grads).unwrap());
        let base = vec_of(x.clone());
        let eps = 1e-2f32;
        for j in 0..base.len() {
            let at = |delta: f32| {
                let mut v = base.clone();
                v[j] += delta;
                let t = Tensor::<4>::from_data(TensorData::new(v, [1, 2, 4, 5]), &device);
                vec_of(loss_of(t))[0]
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (numeric - analytic[j]).abs() < 2e-3,
                "x[{j}]: numeric {numeric} vs analytic {}",
                analytic[j]
            );
        }
    }

    #[test]
    fn kernels_are_deterministic_and_run_without_autodiff() {
        let device = Device::flex();
        let (x, conv) = setup([5, 3, 8, 8], 6, &device);
        let a = vec_of(max_pool2x2(conv3x3(x.clone(), &conv)));
        let b = vec_of(max_pool2x2(conv3x3(x.clone(), &conv)));
        assert_eq!(a, b);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        assert_close(
            "inference",
            &a,
            &vec_of(pool.forward(conv.forward(x))),
            1e-5,
        );
    }
}
