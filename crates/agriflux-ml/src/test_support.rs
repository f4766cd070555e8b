//! Fixtures shared by the module's tests: tiny synthetic data sets and a recording monitor.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CancelToken, EpochStats, TrainingMonitor};

/// `n` patches (NHWC, 64×64×4) whose class `i % 4` shows in their mean reflectance.
pub(crate) fn patches(n: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * 64 * 64 * 4);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 4) as i64;
        for _pixel in 0..64 * 64 {
            for band in 0..4 {
                let base = 0.05 + 0.08 * class as f32 + 0.02 * band as f32;
                x.push(base + rng.random_range(-0.03..0.03));
            }
        }
        y.push(class);
    }
    (x, y)
}

/// `n` sequences of `seq_len` steps × 2 features (NDVI on a seasonal curve, day gap / 30) and
/// the next NDVI as target.
pub(crate) fn sequences(n: usize, seq_len: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n * seq_len * 2);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let phase: f32 = rng.random_range(0.0..std::f32::consts::TAU);
        let ndvi = |t: usize| 0.5 + 0.3 * (phase + 0.4 * t as f32).sin();
        for t in 0..seq_len {
            x.push(ndvi(t) + rng.random_range(-0.01..0.01));
            x.push(rng.random_range(5.0..15.0) / 30.0);
        }
        y.push(ndvi(seq_len));
    }
    (x, y)
}

/// Records what a training reports, and cancels `token` after `cancel_after` batches if set.
#[derive(Default)]
pub(crate) struct Recorder {
    pub epochs: Vec<EpochStats>,
    pub batches: usize,
    pub cancel_after: Option<(usize, CancelToken)>,
}

impl TrainingMonitor for Recorder {
    fn epoch_finished(&mut self, stats: &EpochStats, _max_epochs: usize) {
        self.epochs.push(stats.clone());
    }

    fn batch_finished(&mut self, _epoch: usize, _batch: usize, _batches: usize) {
        self.batches += 1;
        if let Some((after, token)) = &self.cancel_after
            && self.batches >= *after
        {
            token.cancel();
        }
    }
}

/// Reproducible values in [-1, 1) for the kernels' checks.
pub(crate) fn noise(n: usize, seed: u64) -> Vec<f32> {
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

/// Asserts `ours` equals the framework's `theirs` within `tol` relative to `theirs`' largest
/// magnitude.
pub(crate) fn assert_close(what: &str, ours: &[f32], theirs: &[f32], tol: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let scale = theirs.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: {x} vs burn's {y} (scale {scale})"
        );
    }
}

/// The values of a tensor.
pub(crate) fn vec_of<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Asserts that the autodiff gradient of `loss` with respect to `x` (on an autodiff device)
/// equals central finite differences with step `eps`, within `tol`, element by element.
pub(crate) fn assert_gradient_matches_finite_differences<const D: usize>(
    x: &burn::tensor::Tensor<D>,
    eps: f32,
    tol: f32,
    loss: impl Fn(burn::tensor::Tensor<D>) -> burn::tensor::Tensor<1>,
) {
    let xg = x.clone().require_grad();
    let grads = loss(xg.clone()).backward();
    let analytic = vec_of(xg.grad(&grads).expect("x gradient"));
    let base = vec_of(x.clone());
    let (dims, device) = (x.dims(), x.device());
    for j in 0..base.len() {
        let at = |delta: f32| {
            let mut v = base.clone();
            v[j] += delta;
            let t =
                burn::tensor::Tensor::from_data(burn::tensor::TensorData::new(v, dims), &device);
            vec_of(loss(t))[0]
        };
        let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!(
            (numeric - analytic[j]).abs() < tol,
            "x[{j}]: numeric {numeric} vs analytic {}",
            analytic[j]
        );
    }
}
