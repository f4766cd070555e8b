//! Batch normalisation fused with the ReLU that follows it, forward and backward.
//!
//! burn's `BatchNorm` + `relu` on flex is about a dozen single-threaded element-wise passes over
//! the activation (swap, reshape, mean, subtract, square, mean, divide, multiply, add, compare,
//! mask; as many again backward). Here each direction is two passes on all cores: per channel
//! statistics (in parallel over channels), then the element-wise part (in parallel over the
//! `(sample, channel)` planes).
//!
//! Determinism: a channel's sums are taken by one thread, plane by plane in sample order, in
//! f64; every output value is computed by one thread. Nothing depends on the thread count.

use std::ops::Range;

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::flex_tensor::{dense, dims4, tensor, values};

/// One channel's normalisation: `relu((x - mean) * scale + shift)`.
#[derive(Clone, Copy, Debug)]
struct Affine {
    mean: f32,
    /// `1 / sqrt(variance + epsilon)`.
    inv_std: f32,
    /// `gamma * inv_std`.
    scale: f32,
    /// `beta`.
    shift: f32,
}

impl Affine {
    /// The normalised, scaled and shifted value before the ReLU. Forward and backward both go
    /// through here, so the backward's ReLU mask is the forward's bit for bit.
    #[inline]
    fn pre_relu(self, x: f32) -> f32 {
        (x - self.mean) * self.scale + self.shift
    }
}

/// ReLU as burn's: values `<= 0` become 0 (a NaN passes through).
#[inline]
fn relu(z: f32) -> f32 {
    if z <= 0.0 { 0.0 } else { z }
}

/// Sizes `[B, C, H * W]` of `x`, checked against the `[C]` per-channel tensors.
fn bn_dims(x: &FlexTensor, per_channel: &[&FlexTensor]) -> [usize; 3] {
    let [b, c, h, w] = dims4(x);
    for t in per_channel {
        let s = t.layout().shape();
        assert!(
            s.num_dims() == 1 && s[0] == c,
            "batch norm: per-channel tensor {s:?} does not fit input {:?}",
            [b, c, h, w]
        );
    }
    assert!(b * h * w > 0, "batch norm: empty input {:?}", [b, c, h, w]);
    [b, c, h * w]
}

/// The f32 values of a `[C]` tensor.
fn channel_values(t: &FlexTensor, c: usize) -> Vec<f32> {
    values(&dense(t), c).to_vec()
}

/// Each channel's [`Affine`] from the parameters and the statistics to normalise with.
fn affines(
    gamma: &FlexTensor,
    beta: &FlexTensor,
    mean: &FlexTensor,
    variance: &FlexTensor,
    epsilon: f64,
    c: usize,
) -> Vec<Affine> {
    let [gamma, beta, mean, variance] = [gamma, beta, mean, variance].map(|t| channel_values(t, c));
    (0..c)
        .map(|ch| {
            let inv_std = (1.0 / (f64::from(variance[ch]) + epsilon).sqrt()) as f32;
            Affine {
                mean: mean[ch],
                inv_std,
                scale: gamma[ch] * inv_std,
                shift: beta[ch],
            }
        })
        .collect()
}

/// `Σ f(v)` over `xs` in f64, in four interleaved partial sums: a fixed order, and not one long
/// chain of dependent additions.
#[inline]
fn sum64(xs: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut quads = xs.chunks_exact(4);
    for q in &mut quads {
        for (a, &v) in acc.iter_mut().zip(q) {
            *a += f(v);
        }
    }
    let tail: f64 = quads.remainder().iter().map(|&v| f(v)).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `Σ f(x, g)` (two sums at once) over a plane of inputs and one of gradients, like [`sum64`].
#[inline]
fn sum64_pair(xs: &[f32], gs: &[f32], f: impl Fn(f32, f32) -> (f64, f64)) -> (f64, f64) {
    let mut acc = [(0.0f64, 0.0f64); 4];
    let mut quads = xs.chunks_exact(4).zip(gs.chunks_exact(4));
    for (xq, gq) in &mut quads {
        for ((a, &x), &g) in acc.iter_mut().zip(xq).zip(gq) {
            let (u, v) = f(x, g);
            a.0 += u;
            a.1 += v;
        }
    }
    let rest = xs.len() - xs.len() % 4;
    let mut tail = (0.0, 0.0);
    for (&x, &g) in xs[rest..].iter().zip(&gs[rest..]) {
        let (u, v) = f(x, g);
        tail.0 += u;
        tail.1 += v;
    }
    (
        (acc[0].0 + acc[1].0) + (acc[2].0 + acc[3].0) + tail.0,
        (acc[0].1 + acc[1].1) + (acc[2].1 + acc[3].1) + tail.1,
    )
}

/// `f(channel, plane)` for each channel, the channels in parallel; `plane(i)` is the range of
/// sample `i`'s plane of that channel.
fn per_channel<T: Send>(
    [_, c, hw]: [usize; 3],
    f: impl Fn(usize, &dyn Fn(usize) -> Range<usize>) -> T + Sync,
) -> Vec<T> {
    (0..c)
        .into_par_iter()
        .map(|ch| f(ch, &|i| (i * c + ch) * hw..(i * c + ch + 1) * hw))
        .collect()
}

/// Each channel's mean and biased (population) variance over batch, height and width: two
/// passes, in f64, so no cancellation from `E[x²] - E[x]²`.
fn batch_stats(xs: &[f32], dims @ [b, _, hw]: [usize; 3]) -> (Vec<f32>, Vec<f32>) {
    let n = (b * hw) as f64;
    per_channel(dims, |_, plane| {
        let mean = (0..b).map(|i| sum64(&xs[plane(i)], f64::from)).sum::<f64>() / n;
        let m2 = (0..b)
            .map(|i| {
                sum64(&xs[plane(i)], |v| {
                    let d = f64::from(v) - mean;
                    d * d
                })
            })
            .sum::<f64>();
        (mean as f32, (m2 / n) as f32)
    })
    .into_iter()
    .unzip()
}

/// `relu(affine(x))` for every value, the planes in parallel.
fn normalise_relu(xs: &[f32], [_, c, hw]: [usize; 3], affines: &[Affine]) -> Vec<f32> {
    let mut out = vec![0.0f32; xs.len()];
    out.par_chunks_mut(hw)
        .zip(xs.par_chunks(hw))
        .enumerate()
        .for_each(|(p, (out, x))| {
            let a = affines[p % c];
            for (o, &x) in out.iter_mut().zip(x) {
                *o = relu(a.pre_relu(x));
            }
        });
    out
}

/// Training forward: the output `[B, C, H, W]`, and the batch mean and biased variance `[C]`.
pub(super) fn train_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let dims @ [b, c, hw] = bn_dims(x, &[gamma, beta]);
    let shape = dims4(x);
    let x = dense(x);
    let xs = values(&x, b * c * hw);
    let (mean, variance) = batch_stats(xs, dims);
    let (mean, variance) = (tensor(mean, &[c]), tensor(variance, &[c]));
    let affines = affines(gamma, beta, &mean, &variance, epsilon, c);
    let out = tensor(normalise_relu(xs, dims, &affines), &shape);
    (out, mean, variance)
}

/// Evaluation forward: normalised with the given (running) statistics, in place when `x` is
/// not shared (nothing needs it for a backward pass, and a fresh batch-sized buffer costs
/// page faults on every call).
pub(super) fn eval_forward(
    x: FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    mean: &FlexTensor,
    variance: &FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let [b, c, hw] = bn_dims(&x, &[gamma, beta, mean, variance]);
    let affines = affines(gamma, beta, mean, variance, epsilon, c);
    let mut out = dense(&x);
    drop(x);
    // Copies first only if the values are shared.
    let values = &mut out.storage_mut::<f32>()[..b * c * hw];
    values
        .par_chunks_mut(hw)
        .enumerate()
        .for_each(|(p, plane)| {
            let a = affines[p % c];
            for v in plane {
                *v = relu(a.pre_relu(*v));
            }
        });
    out
}

/// What the training forward keeps for the backward: the layer's scale and shift and the
/// batch's statistics.
#[derive(Clone, Copy)]
pub(super) struct SavedLayer<'a> {
    /// Scale per channel.
    pub gamma: &'a FlexTensor,
    /// Shift per channel.
    pub beta: &'a FlexTensor,
    /// The batch's mean per channel.
    pub mean: &'a FlexTensor,
    /// The batch's (biased) variance per channel.
    pub variance: &'a FlexTensor,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

/// Training backward, given the forward's input, parameters and batch statistics: the
/// gradients of the input (if `need_x`), gamma and beta.
///
/// With `gz = grad · 1[z > 0]` (the ReLU's mask on the pre-ReLU `z`), `x̂ = (x - mean) · inv_std`
/// and `n = B · H · W`: `dbeta = Σ gz`, `dgamma = Σ gz · x̂`, and
/// `dx = gamma · inv_std · (gz - dbeta / n - x̂ · dgamma / n)` (the batch statistics depend on
/// `x` too).
pub(super) fn train_backward(
    x: &FlexTensor,
    layer: &SavedLayer<'_>,
    grad: &FlexTensor,
    need_x: bool,
) -> (Option<FlexTensor>, FlexTensor, FlexTensor) {
    let SavedLayer {
        gamma,
        beta,
        mean,
        variance,
        epsilon,
    } = *layer;
    let dims @ [b, c, hw] = bn_dims(x, &[gamma, beta, mean, variance]);
    let shape = dims4(x);
    assert_eq!(dims4(grad), shape, "batch norm: gradient shape");
    let (x, grad) = (dense(x), dense(grad));
    let xs = values(&x, b * c * hw);
    let gs = values(&grad, b * c * hw);
    let affines = affines(gamma, beta, mean, variance, epsilon, c);

    // Per channel: Σ gz and Σ gz · (x - mean).
    let sums = per_channel(dims, |ch, plane| {
        let a = affines[ch];
        (0..b)
            .map(|i| {
                let p = plane(i);
                sum64_pair(&xs[p.clone()], &gs[p], |x, g| {
                    if a.pre_relu(x) <= 0.0 {
                        (0.0, 0.0)
                    } else {
                        (f64::from(g), f64::from(g) * f64::from(x - a.mean))
                    }
                })
            })
            .fold((0.0, 0.0), |s, t| (s.0 + t.0, s.1 + t.1))
    });
    let dbeta: Vec<f32> = sums.iter().map(|s| s.0 as f32).collect();
    let dgamma: Vec<f32> = sums
        .iter()
        .zip(&affines)
        .map(|(s, a)| (s.1 * f64::from(a.inv_std)) as f32)
        .collect();

    let dx = need_x.then(|| {
        let n = (b * hw) as f64;
        // dx = scale · gz - offset - slope · (x - mean), per channel.
        let coefficients: Vec<(f32, f32)> = sums
            .iter()
            .zip(&affines)
            .map(|(&(sum_g, sum_gx), a)| {
                let (scale, inv_std) = (f64::from(a.scale), f64::from(a.inv_std));
                let offset = scale * sum_g / n;
                let slope = scale * inv_std * inv_std * sum_gx / n;
                (offset as f32, slope as f32)
            })
            .collect();
        let mut dx = vec![0.0f32; b * c * hw];
        dx.par_chunks_mut(hw)
            .zip(xs.par_chunks(hw).zip(gs.par_chunks(hw)))
            .enumerate()
            .for_each(|(p, (dx, (x, g)))| {
                let a = affines[p % c];
                let (offset, slope) = coefficients[p % c];
                for ((d, &x), &g) in dx.iter_mut().zip(x).zip(g) {
                    let gz = if a.pre_relu(x) <= 0.0 { 0.0 } else { g };
                    *d = a.scale * gz - offset - slope * (x - a.mean);
                }
            });
        tensor(dx, &shape)
    });
    (dx, tensor(dgamma, &[c]), tensor(dbeta, &[c]))
}
