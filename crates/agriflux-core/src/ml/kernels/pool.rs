//! The 2 × 2 max pooling (stride 2), over the (sample, channel) planes on all cores.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::{dense, dims4, tensor, values};

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
pub(super) fn pool_forward(x: &FlexTensor) -> FlexTensor {
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
pub(super) fn pool_backward(x: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
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
