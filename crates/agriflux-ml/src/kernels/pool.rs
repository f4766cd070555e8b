//! The 2 × 2 max pooling (stride 2), over the (sample, channel) planes on all cores.

use burn::backend::flex::FlexTensor;
use rayon::prelude::*;

use super::flex_tensor::{dense, dims4, tensor, values};

/// Position (0..4: top left, top right, bottom left, bottom right) and value of the first
/// largest of a 2 × 2 window whose rows are `top` and `bottom`. Written as selects rather than
/// branches, so the loops over a row compile without jumps.
#[inline(always)]
fn window_max(top: [f32; 2], bottom: [f32; 2]) -> (usize, f32) {
    let (mut at, mut best) = (0, top[0]);
    for (k, v) in [(1, top[1]), (2, bottom[0]), (3, bottom[1])] {
        let larger = v > best;
        at = if larger { k } else { at };
        best = if larger { v } else { best };
    }
    (at, best)
}

/// The rows of output row `oy` of a plane `w` wide: its top and bottom input rows.
#[inline(always)]
fn window_rows(plane: &[f32], w: usize, oy: usize) -> (&[f32], &[f32]) {
    let rows = &plane[2 * oy * w..(2 * oy + 2) * w];
    rows.split_at(w)
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
                for (oy, out) in out.chunks_exact_mut(ow).enumerate() {
                    let (top, bottom) = window_rows(plane, w, oy);
                    for ((o, t), b) in out
                        .iter_mut()
                        .zip(top.chunks_exact(2))
                        .zip(bottom.chunks_exact(2))
                    {
                        *o = window_max([t[0], t[1]], [b[0], b[1]]).1;
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
            for (oy, g) in g.chunks_exact(ow).enumerate() {
                let (top, bottom) = window_rows(plane, w, oy);
                let (d_top, d_bottom) = dx[2 * oy * w..(2 * oy + 2) * w].split_at_mut(w);
                let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
                let d_windows = d_top.chunks_exact_mut(2).zip(d_bottom.chunks_exact_mut(2));
                for (((t, b), (dt, db)), &g) in windows.zip(d_windows).zip(g) {
                    // Every position is written (zero or the gradient): no branch on the argmax.
                    let (at, _) = window_max([t[0], t[1]], [b[0], b[1]]);
                    let to = |k: usize| if at == k { g } else { 0.0 };
                    dt[0] = to(0);
                    dt[1] = to(1);
                    db[0] = to(2);
                    db[1] = to(3);
                }
            }
        });
    }
    tensor(dx, &[b, c, h, w])
}
