//! The crop-health CNN: 64×64 four-band patches to one of four classes.

use std::cell::RefCell;
use std::path::Path;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig,
    PaddingConfig2d,
};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::kernels;
use super::metrics::{ClassificationMetrics, argmax};
use super::persist::{self, Sidecar};
use super::training::{
    self, BatchFigures, BatchLoss, EVAL_BATCH, Split, Task, TrainingOutcome, TrainingRequest, pick,
};
use super::{CancelToken, MlError, Normalisation, TrainConfig, TrainingMonitor, default_device};

/// Side length of a CNN input patch, in pixels.
pub const CNN_PATCH_SIZE: usize = 64;
/// Bands per pixel (B02, B03, B04, B08), the last axis of a patch.
pub const CNN_BANDS: usize = 4;
/// Number of crop-health classes.
pub const CNN_CLASSES: usize = 4;

/// Values in one patch.
const PATCH_LEN: usize = CNN_PATCH_SIZE * CNN_PATCH_SIZE * CNN_BANDS;
/// Pixels in one patch.
const PATCH_PIXELS: usize = CNN_PATCH_SIZE * CNN_PATCH_SIZE;
/// Kind recorded in the sidecar.
const FORMAT: &str = "agriflux-cnn";

/// The CNN's layer sizes; the default is the original's (1,143,204 parameters).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CnnArchitecture {
    /// Output channels of the three [Conv 3×3 → BatchNorm → ReLU → MaxPool 2] blocks.
    pub channels: [usize; 3],
    /// Width of the hidden fully connected layer.
    pub hidden: usize,
    /// Dropout probability before the output layer.
    pub dropout: f64,
}

impl Default for CnnArchitecture {
    fn default() -> Self {
        Self {
            channels: [32, 64, 128],
            hidden: 128,
            dropout: 0.3,
        }
    }
}

impl CnnArchitecture {
    /// Checks the sizes can be built.
    pub fn validate(&self) -> Result<(), MlError> {
        if self.channels.contains(&0) || self.hidden == 0 {
            return Err(MlError::InvalidArchitecture(format!(
                "layer sizes must be positive: {self:?}"
            )));
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return Err(MlError::InvalidArchitecture(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        Ok(())
    }
}

/// The burn network (NCHW input).
#[derive(Module, Debug)]
pub(crate) struct CnnNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    pool: MaxPool2d,
    fc1: Linear,
    dropout: Dropout,
    fc2: Linear,
}

impl CnnNet {
    /// Builds the network; `random` draws PyTorch-style (Kaiming uniform) initial weights from
    /// burn's generator, otherwise the weights are zeros awaiting a record.
    fn new(arch: &CnnArchitecture, device: &Device, random: bool) -> Self {
        let conv = |c_in: usize, c_out: usize| {
            let cfg = Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
            let cfg = if random {
                cfg
            } else {
                cfg.with_initializer(Initializer::Zeros)
            };
            cfg.init(device)
        };
        let linear = |d_in: usize, d_out: usize| {
            let cfg = LinearConfig::new(d_in, d_out);
            let cfg = if random {
                cfg
            } else {
                cfg.with_initializer(Initializer::Zeros)
            };
            cfg.init(device)
        };
        let [c1, c2, c3] = arch.channels;
        let side = CNN_PATCH_SIZE / 8;
        Self {
            conv1: conv(CNN_BANDS, c1),
            bn1: BatchNormConfig::new(c1).init(device),
            conv2: conv(c1, c2),
            bn2: BatchNormConfig::new(c2).init(device),
            conv3: conv(c2, c3),
            bn3: BatchNormConfig::new(c3).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: linear(c3 * side * side, arch.hidden),
            dropout: DropoutConfig::new(arch.dropout).init(),
            fc2: linear(arch.hidden, CNN_CLASSES),
        }
    }

    /// Logits `[batch, classes]` of a normalised NCHW batch `[batch, bands, 64, 64]`.
    ///
    /// The convolutions, batch norms with their ReLUs, and the pooling run as the custom kernels
    /// of [`super::kernels`] (same computation as `self.conv*.forward`, `relu(self.bn*.forward)`
    /// and `self.pool.forward`, running statistics included, faster on the CPU).
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let block = |x, conv: &Conv2d, bn: &BatchNorm| {
            kernels::max_pool2x2(kernels::batch_norm_relu(kernels::conv3x3(x, conv), bn))
        };
        let x = block(x, &self.conv1, &self.bn1);
        let x = block(x, &self.conv2, &self.bn2);
        let x = block(x, &self.conv3, &self.bn3);
        let [b, c, h, w] = x.dims();
        // Flattened in C, H, W order, as PyTorch's `Flatten` does on NCHW.
        let x = x.reshape([b, c * h * w]);
        let x = self.dropout.forward(relu(self.fc1.forward(x)));
        self.fc2.forward(x)
    }
}

/// CNN input: `x` is N×64×64×4 float32 reflectance in NHWC order (bands B02,B03,B04,B08), `y` class 0..4.
#[derive(Clone, Copy, Debug)]
pub struct PatchSet<'a> {
    /// Patches, NHWC, `n * 64 * 64 * 4` values.
    pub x: &'a [f32],
    /// Class of each patch, in `0..4`.
    pub y: &'a [i64],
    /// Number of patches.
    pub n: usize,
}

impl<'a> PatchSet<'a> {
    /// A set of `y.len()` patches.
    pub fn new(x: &'a [f32], y: &'a [i64]) -> Self {
        Self { x, y, n: y.len() }
    }

    /// Checks lengths, labels and values.
    fn check(&self, split: &'static str) -> Result<(), MlError> {
        if self.n == 0 {
            return Err(MlError::EmptyDataset { split });
        }
        check_patches(split, self.x, self.n)?;
        if self.y.len() != self.n {
            return Err(MlError::ShapeMismatch {
                what: format!("{split} labels (n = {})", self.n),
                expected: self.n,
                actual: self.y.len(),
            });
        }
        if let Some(index) = self
            .y
            .iter()
            .position(|&l| !(0..CNN_CLASSES as i64).contains(&l))
        {
            return Err(MlError::InvalidLabel {
                split,
                index,
                label: self.y[index],
                classes: CNN_CLASSES,
            });
        }
        Ok(())
    }
}

/// Checks `x` holds exactly `n` finite patches.
fn check_patches(what: &str, x: &[f32], n: usize) -> Result<(), MlError> {
    let expected = n.saturating_mul(PATCH_LEN);
    if x.len() != expected {
        return Err(MlError::ShapeMismatch {
            what: format!("{what} patches (n = {n} x 64 x 64 x 4)"),
            expected,
            actual: x.len(),
        });
    }
    training::check_finite(&format!("{what} patches"), x)
}

/// Appends patches `idx` of `x` to `out`, normalised and transposed from NHWC to NCHW, each
/// turned by what `turn` gives it: one of the eight symmetries of the square (bit 0: transpose,
/// bit 1: flip rows, bit 2: flip columns; 0 leaves the patch as it is).
fn fill_batch(
    x: &[f32],
    idx: &[usize],
    norm: &Normalisation,
    mut turn: impl FnMut() -> u8,
    out: &mut Vec<f32>,
) {
    let last = CNN_PATCH_SIZE - 1;
    for &i in idx {
        let patch = &x[i * PATCH_LEN..(i + 1) * PATCH_LEN];
        let start = out.len();
        out.resize(start + PATCH_LEN, 0.0);
        let dst = &mut out[start..];
        let t = turn();
        for (p, pixel) in patch.chunks_exact(CNN_BANDS).enumerate() {
            let (mut r, mut c) = (p / CNN_PATCH_SIZE, p % CNN_PATCH_SIZE);
            if t & 1 != 0 {
                (r, c) = (c, r);
            }
            if t & 2 != 0 {
                r = last - r;
            }
            if t & 4 != 0 {
                c = last - c;
            }
            let q = r * CNN_PATCH_SIZE + c;
            for (band, &v) in pixel.iter().enumerate() {
                dst[band * PATCH_PIXELS + q] = norm.apply(band, v);
            }
        }
    }
}

/// A batch tensor `[len, bands, 64, 64]` of patches `idx`.
fn batch_tensor(x: &[f32], idx: &[usize], norm: &Normalisation, device: &Device) -> Tensor<4> {
    batch_tensor_turned(x, idx, norm, || 0, device)
}

/// [`batch_tensor`] with each patch turned as [`fill_batch`] turns it.
fn batch_tensor_turned(
    x: &[f32],
    idx: &[usize],
    norm: &Normalisation,
    turn: impl FnMut() -> u8,
    device: &Device,
) -> Tensor<4> {
    let mut buf = Vec::with_capacity(idx.len() * PATCH_LEN);
    fill_batch(x, idx, norm, turn, &mut buf);
    Tensor::from_data(
        TensorData::new(buf, [idx.len(), CNN_BANDS, CNN_PATCH_SIZE, CNN_PATCH_SIZE]),
        device,
    )
}

/// Reads a `[batch, classes]` tensor into rows.
fn rows(t: Tensor<2>) -> Result<Vec<[f32; CNN_CLASSES]>, MlError> {
    let values = t
        .into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| MlError::Backend(format!("{e:?}")))?;
    Ok(values
        .chunks_exact(CNN_CLASSES)
        .map(|r| {
            let mut row = [0.0; CNN_CLASSES];
            row.copy_from_slice(r);
            row
        })
        .collect())
}

/// The CNN as a training task.
struct CnnTask<'a> {
    train: &'a PatchSet<'a>,
    val: &'a PatchSet<'a>,
    norm: &'a Normalisation,
    /// Turns training patches at random (a field seen mirrored or rotated is the same field,
    /// and the centre pixel that carries the label stays at the centre): eight views of each
    /// patch instead of one, which the network would otherwise learn by heart within a few
    /// epochs on a few hundred patches. `None` in tests that need the patches as they are.
    augment: Option<RefCell<ChaCha8Rng>>,
}

impl Task for CnnTask<'_> {
    type Net = CnnNet;
    const CLASSIFIER: bool = true;

    fn len(&self, split: Split) -> usize {
        pick(split, self.train, self.val).n
    }

    fn batch(&self, net: &CnnNet, split: Split, idx: &[usize], device: &Device) -> BatchLoss {
        let set = pick(split, self.train, self.val);
        let labels: Vec<i64> = idx.iter().map(|&i| set.y[i]).collect();
        let input = match (&self.augment, split) {
            (Some(rng), Split::Train) => {
                let mut rng = rng.borrow_mut();
                batch_tensor_turned(set.x, idx, self.norm, || rng.random_range(0..8), device)
            }
            _ => batch_tensor(set.x, idx, self.norm, device),
        };
        let logits = net.forward(input);
        let correct = rows(logits.clone())?
            .iter()
            .zip(&labels)
            .filter(|(row, label)| argmax(&row[..]) as i64 == **label)
            .count();
        let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [idx.len()]), device);
        let loss = CrossEntropyLossConfig::new()
            .init(device)
            .forward(logits, targets);
        Ok((
            loss,
            BatchFigures {
                correct,
                abs_err: 0.0,
            },
        ))
    }
}

/// One CNN training run's inputs (see [`TrainingRequest`]).
pub type CnnRequest<'a> = TrainingRequest<'a, PatchSet<'a>, CnnArchitecture>;

/// Trains a CNN as `request` says: cross-entropy, Adam, early stopping on the
/// validation loss; `norm` (fitted on `train`) is applied to the raw reflectance inside.
pub fn train_cnn(
    request: &CnnRequest<'_>,
    monitor: &mut dyn TrainingMonitor,
    cancel: &CancelToken,
) -> Result<TrainingOutcome<CnnClassifier>, MlError> {
    let (train, val, norm, cfg) = (request.train, request.val, request.norm, request.config);
    let (arch, device) = (&request.arch, &request.device);
    arch.validate()?;
    cfg.validate()?;
    norm.check(CNN_BANDS)?;
    train.check("training")?;
    val.check("validation")?;

    let _rng = training::lock_rng(cancel)?;
    let train_device = device.clone().autodiff();
    train_device.seed(cfg.seed);
    let net = CnnNet::new(arch, &train_device, true);
    let task = CnnTask {
        train,
        val,
        norm,
        augment: Some(RefCell::new(ChaCha8Rng::seed_from_u64(
            cfg.seed ^ 0xd1e_d2a1,
        ))),
    };
    let fitted = training::fit(&task, net, &train_device, cfg, monitor, cancel)?;
    Ok(fitted.into_outcome(|net, best_epoch| CnnClassifier {
        net,
        arch: arch.clone(),
        norm: norm.clone(),
        train_config: Some(cfg.clone()),
        best_epoch,
        device: device.clone().without_autodiff(),
    }))
}

/// A trained crop-health classifier (evaluation mode) with its input normalisation.
#[derive(Clone, Debug)]
pub struct CnnClassifier {
    net: CnnNet,
    arch: CnnArchitecture,
    norm: Normalisation,
    train_config: Option<TrainConfig>,
    best_epoch: usize,
    device: Device,
}

impl CnnClassifier {
    /// Class probabilities (softmax, evaluation mode) of `n` raw NHWC patches, in batches of 64.
    pub fn predict_proba(&self, x: &[f32], n: usize) -> Result<Vec<[f32; CNN_CLASSES]>, MlError> {
        check_patches("input", x, n)?;
        let mut out = Vec::with_capacity(n);
        let all: Vec<usize> = (0..n).collect();
        for idx in all.chunks(EVAL_BATCH) {
            let logits = self
                .net
                .forward(batch_tensor(x, idx, &self.norm, &self.device));
            out.extend(rows(softmax(logits, 1))?);
        }
        Ok(out)
    }

    /// Accuracy, per-class and weighted figures, confusion matrix and kappa on `set`.
    pub fn evaluate(&self, set: &PatchSet) -> Result<ClassificationMetrics, MlError> {
        set.check("evaluation")?;
        let proba = self.predict_proba(set.x, set.n)?;
        Ok(ClassificationMetrics::compute(set.y, &proba))
    }

    /// Writes the weights to `path` (burnpack, any extension; `.bpk` is burn's) and a JSON
    /// sidecar (normalisation, training configuration, architecture, best epoch, parameter
    /// count, weights checksum) to `path.with_extension("json")`, each atomically.
    pub fn save(&self, path: &Path) -> Result<(), MlError> {
        let sidecar = Sidecar::new(
            FORMAT,
            self.arch.clone(),
            &self.norm,
            self.train_config.as_ref(),
            self.best_epoch,
            self.num_params(),
        );
        persist::save(&self.net, path, sidecar)
    }

    /// Loads a model written by [`save`](Self::save) onto burn's `flex` CPU backend.
    pub fn load(path: &Path) -> Result<Self, MlError> {
        Self::load_on(path, &default_device())
    }

    /// Loads a model written by [`save`](Self::save) onto `device`.
    pub fn load_on(path: &Path, device: &Device) -> Result<Self, MlError> {
        let (sidecar, record) =
            persist::load_checked(path, FORMAT, |arch: &CnnArchitecture, norm| {
                arch.validate().map_err(|e| e.to_string())?;
                norm.check(CNN_BANDS).map_err(|e| e.to_string())
            })?;
        let device = device.clone().without_autodiff();
        let net = CnnNet::new(&sidecar.architecture, &device, false);
        let net = persist::apply(net, record, path)?.valid();
        Ok(Self {
            net,
            arch: sidecar.architecture,
            norm: sidecar.normalisation,
            train_config: sidecar.train_config,
            best_epoch: sidecar.best_epoch,
            device,
        })
    }

    /// Trainable parameters (batch-norm running statistics excluded), as PyTorch counts them.
    pub fn num_params(&self) -> usize {
        training::trainable_params(&self.net)
    }

    /// The layer sizes.
    pub fn architecture(&self) -> &CnnArchitecture {
        &self.arch
    }

    /// The input normalisation applied inside [`predict_proba`](Self::predict_proba).
    pub fn normalisation(&self) -> &Normalisation {
        &self.norm
    }

    /// Hyper-parameters of the run that trained the model, if known.
    pub fn train_config(&self) -> Option<&TrainConfig> {
        self.train_config.as_ref()
    }

    /// 1-based epoch whose weights the model holds.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{Recorder, patches};
    use crate::{NoMonitor, metrics::ClassificationMetrics};

    /// A tiny run: `n` patches per split, batch 4.
    fn tiny_config(max_epochs: usize, seed: u64) -> TrainConfig {
        TrainConfig {
            max_epochs,
            batch_size: 4,
            learning_rate: 1e-3,
            patience: 10,
            seed,
        }
    }

    fn train_tiny(
        n: usize,
        cfg: &TrainConfig,
    ) -> (
        TrainingOutcome<CnnClassifier>,
        Vec<f32>,
        Vec<i64>,
        Normalisation,
    ) {
        let (x, y) = patches(n, 1);
        let (vx, vy) = patches(n, 2);
        let norm = Normalisation::fit(&x, CNN_BANDS);
        let outcome = train_cnn(
            &CnnRequest::new(&PatchSet::new(&x, &y), &PatchSet::new(&vx, &vy), &norm, cfg),
            &mut NoMonitor,
            &CancelToken::new(),
        )
        .expect("training succeeds");
        (outcome, vx, vy, norm)
    }

    /// An untrained classifier with zero weights (no random draws).
    fn zero_classifier() -> CnnClassifier {
        let device = default_device();
        CnnClassifier {
            net: CnnNet::new(&CnnArchitecture::default(), &device, false).valid(),
            arch: CnnArchitecture::default(),
            norm: Normalisation::identity(CNN_BANDS),
            train_config: None,
            best_epoch: 0,
            device,
        }
    }

    #[test]
    fn cnn_has_the_original_parameter_count() {
        let net = CnnNet::new(&CnnArchitecture::default(), &default_device(), false);
        assert_eq!(training::trainable_params(&net), 1_143_204);
        // burn's own count adds the batch-norm running means and variances.
        assert_eq!(net.num_params(), 1_143_204 + 2 * (32 + 64 + 128));
        assert_eq!(zero_classifier().num_params(), 1_143_204);
    }

    #[test]
    fn predictions_are_probabilities_in_input_order() {
        let model = zero_classifier();
        let (x, _) = patches(3, 7);
        let proba = model.predict_proba(&x, 3).unwrap();
        assert_eq!(proba.len(), 3);
        for row in &proba {
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{row:?}");
        }
        assert!(model.predict_proba(&[], 0).unwrap().is_empty());
        assert!(matches!(
            model.predict_proba(&x[1..], 3),
            Err(MlError::ShapeMismatch { .. })
        ));
        let mut bad = x.clone();
        bad[5] = f32::NAN;
        assert!(matches!(
            model.predict_proba(&bad, 3),
            Err(MlError::NonFinite { index: 5, .. })
        ));
    }

    #[test]
    fn train_cnn_rejects_bad_input() {
        let (x, y) = patches(4, 1);
        let norm = Normalisation::fit(&x, CNN_BANDS);
        let cfg = tiny_config(1, 0);
        let run = |train: PatchSet, val: PatchSet, norm: &Normalisation, cfg: &TrainConfig| {
            train_cnn(
                &CnnRequest::new(&train, &val, norm, cfg),
                &mut NoMonitor,
                &CancelToken::new(),
            )
            .err()
        };
        let ok = PatchSet::new(&x, &y);
        let short = PatchSet {
            x: &x[..100],
            y: &y,
            n: 4,
        };
        assert!(matches!(
            run(short, ok, &norm, &cfg),
            Some(MlError::ShapeMismatch { .. })
        ));
        let labels = [0, 1, 4, 2];
        let bad_label = PatchSet::new(&x, &labels);
        assert!(matches!(
            run(ok, bad_label, &norm, &cfg),
            Some(MlError::InvalidLabel {
                index: 2,
                label: 4,
                ..
            })
        ));
        let empty = PatchSet::new(&[], &[]);
        assert!(matches!(
            run(ok, empty, &norm, &cfg),
            Some(MlError::EmptyDataset {
                split: "validation"
            })
        ));
        assert!(matches!(
            run(ok, ok, &Normalisation::identity(3), &cfg),
            Some(MlError::InvalidNormalisation(_))
        ));
        let zero_batch = TrainConfig {
            batch_size: 0,
            ..cfg.clone()
        };
        assert!(matches!(
            run(ok, ok, &norm, &zero_batch),
            Some(MlError::InvalidConfig(_))
        ));
    }

    #[test]
    fn turned_patches_are_the_eight_symmetries_of_the_square() {
        // Every value distinct, so each turn must be a rearrangement of the patch.
        let x: Vec<f32> = (0..PATCH_LEN).map(|v| v as f32).collect();
        let norm = Normalisation::identity(CNN_BANDS);
        // Turn 0 is the plain transposition from NHWC to NCHW.
        let plain: Vec<f32> = (0..PATCH_LEN)
            .map(|i| x[(i % PATCH_PIXELS) * CNN_BANDS + i / PATCH_PIXELS])
            .collect();
        let mut seen = Vec::new();
        for t in 0..8u8 {
            let mut turned = Vec::new();
            fill_batch(&x, &[0], &norm, || t, &mut turned);
            let mut sorted = turned.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, x, "turn {t} is not a rearrangement");
            // A pixel keeps its four bands together.
            for p in 0..PATCH_PIXELS {
                let bands: Vec<f32> = (0..CNN_BANDS)
                    .map(|b| turned[b * PATCH_PIXELS + p])
                    .collect();
                let first = bands[0] as usize / CNN_BANDS;
                assert!(bands.iter().all(|v| *v as usize / CNN_BANDS == first));
            }
            assert!(!seen.contains(&turned), "turn {t} repeats an earlier one");
            seen.push(turned);
        }
        assert_eq!(seen[0], plain, "turn 0 leaves the patch as it is");
    }

    #[test]
    fn same_seed_gives_identical_history() {
        let cfg = tiny_config(2, 7);
        let (a, vx, _, _) = train_tiny(8, &cfg);
        let (b, _, _, _) = train_tiny(8, &cfg);
        assert_eq!(a.history.len(), 2);
        assert_eq!(a.history, b.history);
        let pa = a.model.predict_proba(&vx, 8).unwrap();
        let pb = b.model.predict_proba(&vx, 8).unwrap();
        assert_eq!(pa, pb);
        // And the seed matters.
        let (c, _, _, _) = train_tiny(8, &tiny_config(2, 8));
        assert_ne!(a.history, c.history);
    }

    #[test]
    fn early_stopping_restores_best_weights() {
        // A learning rate far too high makes the validation loss jump about.
        let cfg = TrainConfig {
            learning_rate: 0.05,
            patience: 2,
            ..tiny_config(12, 3)
        };
        let (outcome, vx, vy, norm) = train_tiny(8, &cfg);
        let h = &outcome.history;
        let best = outcome.best_epoch;
        assert!(best >= 1 && best <= h.len());
        let best_loss = h[best - 1].val_loss;
        assert!(h.iter().all(|s| s.val_loss >= best_loss));
        assert!(best < h.len(), "the last epoch must be worse here: {h:?}");
        if outcome.stopped_early {
            assert_eq!(h.len() - best, cfg.patience);
        }
        let last_loss = h[h.len() - 1].val_loss;
        assert!(last_loss > best_loss + 1e-4);

        // The returned model's validation loss is the best epoch's, not the last one's.
        let model = &outcome.model;
        let val = PatchSet::new(&vx, &vy);
        let train = val; // only the validation split is evaluated
        let task = CnnTask {
            train: &train,
            val: &val,
            norm: &norm,
            augment: None,
        };
        let (loss, figures) =
            training::evaluate(&task, &model.net, &model.device, &CancelToken::new()).unwrap();
        assert!(
            (loss - best_loss).abs() <= 1e-5 * best_loss.max(1.0),
            "{loss} vs {best_loss}"
        );
        let accuracy = figures.correct as f64 / 8.0;
        assert_eq!(Some(accuracy), h[best - 1].val_accuracy);
        // The same figure through the public prediction path.
        let m = ClassificationMetrics::compute(&vy, &model.predict_proba(&vx, 8).unwrap());
        assert_eq!(Some(m.accuracy), h[best - 1].val_accuracy);
        assert_eq!(model.best_epoch(), best);
    }

    #[test]
    fn cancel_stops_training_promptly() {
        let (x, y) = patches(8, 1);
        let norm = Normalisation::fit(&x, CNN_BANDS);
        let set = PatchSet::new(&x, &y);
        let token = CancelToken::new();
        let mut monitor = Recorder {
            cancel_after: Some((2, token.clone())),
            ..Recorder::default()
        };
        let cfg = TrainConfig {
            batch_size: 2,
            ..tiny_config(5, 0)
        };
        let result = train_cnn(
            &CnnRequest::new(&set, &set, &norm, &cfg),
            &mut monitor,
            &token,
        );
        assert!(matches!(result, Err(MlError::Cancelled)));
        // Stopped at the next batch boundary: no third batch, no epoch finished.
        assert_eq!(monitor.batches, 2);
        assert!(monitor.epochs.is_empty());

        // A token cancelled beforehand stops before the first batch.
        let mut monitor = Recorder::default();
        let result = train_cnn(
            &CnnRequest::new(&set, &set, &norm, &cfg),
            &mut monitor,
            &token,
        );
        assert!(matches!(result, Err(MlError::Cancelled)));
        assert_eq!(monitor.batches, 0);
    }

    #[test]
    fn monitor_sees_every_batch_and_epoch() {
        let (x, y) = patches(6, 1);
        let norm = Normalisation::fit(&x, CNN_BANDS);
        let set = PatchSet::new(&x, &y);
        let mut monitor = Recorder::default();
        let outcome = train_cnn(
            &CnnRequest::new(&set, &set, &norm, &tiny_config(1, 0)),
            &mut monitor,
            &CancelToken::new(),
        )
        .unwrap();
        // 6 samples in batches of 4: 2 steps.
        assert_eq!(monitor.batches, 2);
        assert_eq!(monitor.epochs, outcome.history);
        let s = &outcome.history[0];
        assert_eq!(s.epoch, 1);
        assert!(s.train_accuracy.is_some() && s.val_accuracy.is_some());
        assert!(s.val_mae.is_none());
        assert!(!outcome.stopped_early);
    }

    #[test]
    fn reloaded_cnn_reproduces_predictions_exactly() {
        let (outcome, vx, _, norm) = train_tiny(8, &tiny_config(1, 11));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models").join("cnn_real.bpk");
        outcome.model.save(&path).unwrap();
        let sidecar_path = path.with_extension("json");
        assert!(path.is_file() && sidecar_path.is_file());
        let sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&sidecar_path).unwrap()).unwrap();
        assert_eq!(sidecar["format"], "agriflux-cnn");
        assert_eq!(sidecar["num_params"], 1_143_204);
        assert_eq!(sidecar["best_epoch"], 1);
        assert_eq!(sidecar["architecture"]["channels"][2], 128);
        assert_eq!(sidecar["train_config"]["seed"], 11);
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            2
        );

        let loaded = CnnClassifier::load(&path).unwrap();
        let before = outcome.model.predict_proba(&vx, 8).unwrap();
        let after = loaded.predict_proba(&vx, 8).unwrap();
        let bits =
            |p: &[[f32; 4]]| -> Vec<u32> { p.iter().flatten().map(|v| v.to_bits()).collect() };
        assert_eq!(bits(&before), bits(&after));
        assert_eq!(loaded.normalisation(), &norm);
        assert_eq!(loaded.train_config(), outcome.model.train_config());
        assert_eq!(loaded.best_epoch(), 1);
        assert_eq!(loaded.num_params(), 1_143_204);
        // Saving over an existing model works (rename replaces).
        loaded.save(&path).unwrap();
        assert_eq!(
            CnnClassifier::load(&path)
                .unwrap()
                .predict_proba(&vx, 8)
                .unwrap(),
            after
        );
    }

    #[test]
    fn load_rejects_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cnn.bpk");
        let sidecar = path.with_extension("json");

        // Missing files.
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::Io { .. }), "{err}");
        zero_classifier().save(&path).unwrap();
        let good_weights = std::fs::read(&path).unwrap();
        let good_sidecar = std::fs::read_to_string(&sidecar).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            CnnClassifier::load(&path),
            Err(MlError::Io { .. })
        ));

        // A flipped byte in the weights.
        let mut damaged = good_weights.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0x5a;
        std::fs::write(&path, &damaged).unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::CorruptModel { .. }), "{err}");
        assert!(err.to_string().contains("SHA-256"), "{err}");

        // Garbage that the sidecar vouches for still fails cleanly, without a panic.
        let garbage = b"not a burnpack file at all".to_vec();
        let forged = good_sidecar.replace(&sha256_of(&good_weights), &sha256_of(&garbage));
        std::fs::write(&path, &garbage).unwrap();
        std::fs::write(&sidecar, forged).unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::CorruptModel { .. }), "{err}");

        // Truncated weights vouched for by the sidecar.
        let truncated = good_weights[..good_weights.len() / 3].to_vec();
        std::fs::write(&path, &truncated).unwrap();
        std::fs::write(
            &sidecar,
            good_sidecar.replace(&sha256_of(&good_weights), &sha256_of(&truncated)),
        )
        .unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::CorruptModel { .. }), "{err}");

        // A sidecar that is not JSON.
        std::fs::write(&path, &good_weights).unwrap();
        std::fs::write(&sidecar, "{ truncated").unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::CorruptModel { .. }), "{err}");

        // Another kind of model, a newer format, another architecture.
        std::fs::write(
            &sidecar,
            good_sidecar.replace("agriflux-cnn", "agriflux-lstm"),
        )
        .unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::IncompatibleModel { .. }), "{err}");
        std::fs::write(
            &sidecar,
            good_sidecar.replace("\"format_version\": 1", "\"format_version\": 99"),
        )
        .unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::IncompatibleModel { .. }), "{err}");
        let mut other: serde_json::Value = serde_json::from_str(&good_sidecar).unwrap();
        other["architecture"]["hidden"] = 64.into();
        std::fs::write(&sidecar, serde_json::to_string(&other).unwrap()).unwrap();
        let err = CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::IncompatibleModel { .. }), "{err}");

        // Restored, it loads again.
        std::fs::write(&sidecar, &good_sidecar).unwrap();
        assert!(CnnClassifier::load(&path).is_ok());
    }

    fn sha256_of(bytes: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
