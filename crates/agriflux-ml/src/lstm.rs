//! The NDVI forecaster: a stacked bidirectional LSTM over a block's NDVI time series.

use std::path::Path;

use burn::module::Module;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{BiLstm, BiLstmConfig, Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::bilstm;
use super::metrics::RegressionMetrics;
use super::persist::{self, Sidecar};
use super::training::{
    self, BatchFigures, BatchLoss, EVAL_BATCH, Split, Task, TrainingOutcome, TrainingRequest, pick,
};
use super::{CancelToken, MlError, Normalisation, TrainConfig, TrainingMonitor, default_device};

/// Kind recorded in the sidecar.
const FORMAT: &str = "agriflux-lstm";

/// The LSTM's layer sizes; the default is the original's (545,921 parameters with one input
/// feature).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LstmArchitecture {
    /// Hidden size of each direction.
    pub hidden: usize,
    /// Stacked bidirectional layers (the second and later take `2 * hidden` inputs).
    pub layers: usize,
    /// Dropout between stacked layers.
    pub dropout: f64,
    /// Width of the fully connected layer after the last time step.
    pub head_hidden: usize,
    /// Dropout before the output layer.
    pub head_dropout: f64,
}

impl Default for LstmArchitecture {
    fn default() -> Self {
        Self {
            hidden: 128,
            layers: 2,
            dropout: 0.2,
            head_hidden: 64,
            head_dropout: 0.3,
        }
    }
}

impl LstmArchitecture {
    /// Checks the sizes can be built.
    pub fn validate(&self) -> Result<(), MlError> {
        if self.hidden == 0 || self.layers == 0 || self.head_hidden == 0 {
            return Err(MlError::InvalidArchitecture(format!(
                "layer sizes must be positive: {self:?}"
            )));
        }
        for p in [self.dropout, self.head_dropout] {
            if !(p.is_finite() && (0.0..1.0).contains(&p)) {
                return Err(MlError::InvalidArchitecture(format!(
                    "dropout must be in [0, 1), got {p}"
                )));
            }
        }
        Ok(())
    }
}

/// What the sidecar records about the architecture: the sizes plus the input shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LstmShape {
    #[serde(flatten)]
    arch: LstmArchitecture,
    /// Features per time step.
    features: usize,
    /// Sequence length the model was trained on.
    seq_len: usize,
}

/// The burn network (batch-first input `[batch, seq_len, features]`).
#[derive(Module, Debug)]
pub(crate) struct LstmNet {
    layers: Vec<BiLstm>,
    dropout: Dropout,
    fc1: Linear,
    head_dropout: Dropout,
    fc2: Linear,
}

impl LstmNet {
    /// Builds the network; `random` draws PyTorch-style initial weights (LSTM uniform in
    /// ±1/√hidden, linear Kaiming uniform) from burn's generator, otherwise zeros awaiting a
    /// record.
    fn new(arch: &LstmArchitecture, features: usize, device: &Device, random: bool) -> Self {
        let k = 1.0 / (arch.hidden as f64).sqrt();
        let lstm_init = if random {
            Initializer::Uniform { min: -k, max: k }
        } else {
            Initializer::Zeros
        };
        let layers = (0..arch.layers)
            .map(|i| {
                let d_input = if i == 0 { features } else { 2 * arch.hidden };
                BiLstmConfig::new(d_input, arch.hidden, true)
                    .with_initializer(lstm_init.clone())
                    .init(device)
            })
            .collect();
        let linear = |d_in: usize, d_out: usize| {
            let cfg = LinearConfig::new(d_in, d_out);
            let cfg = if random {
                cfg
            } else {
                cfg.with_initializer(Initializer::Zeros)
            };
            cfg.init(device)
        };
        Self {
            layers,
            dropout: DropoutConfig::new(arch.dropout).init(),
            fc1: linear(2 * arch.hidden, arch.head_hidden),
            head_dropout: DropoutConfig::new(arch.head_dropout).init(),
            fc2: linear(arch.head_hidden, 1),
        }
    }

    /// Predictions `[batch]` of a normalised batch `[batch, seq_len, features]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<1> {
        let (last, inner) = self
            .layers
            .split_last()
            .expect("validated architectures have at least one layer");
        let mut h = x;
        for (i, layer) in inner.iter().enumerate() {
            if i > 0 {
                h = self.dropout.forward(h);
            }
            h = bilstm::bilstm_sequence(h, layer);
        }
        if !inner.is_empty() {
            h = self.dropout.forward(h);
        }
        // The head reads the last time step only, as PyTorch's `out[:, -1, :]`: the forward
        // direction's final state next to the reverse direction's state after one step.
        let last = bilstm::bilstm_last(h, last);
        let [b, _] = last.dims();
        let y = self.head_dropout.forward(relu(self.fc1.forward(last)));
        self.fc2.forward(y).reshape([b])
    }
}

/// LSTM input: `x` is N×L×F float32 (F features per time step; feature 0 is NDVI, feature 1 is days since previous date / 30 — treat F generically), `y` the next-date NDVI.
#[derive(Clone, Copy, Debug)]
pub struct SequenceSet<'a> {
    /// Sequences, `n * seq_len * features` values, time-major within a sequence.
    pub x: &'a [f32],
    /// Target of each sequence (the next date's NDVI).
    pub y: &'a [f32],
    /// Number of sequences.
    pub n: usize,
    /// Time steps per sequence.
    pub seq_len: usize,
    /// Features per time step.
    pub features: usize,
}

impl SequenceSet<'_> {
    /// Checks lengths and values.
    fn check(&self, split: &'static str) -> Result<(), MlError> {
        if self.n == 0 {
            return Err(MlError::EmptyDataset { split });
        }
        if self.seq_len == 0 || self.features == 0 {
            return Err(MlError::ShapeMismatch {
                what: format!(
                    "{split} sequences need seq_len and features of at least 1 (got {} x {})",
                    self.seq_len, self.features
                ),
                expected: 1,
                actual: 0,
            });
        }
        let expected = self
            .n
            .checked_mul(self.seq_len)
            .and_then(|v| v.checked_mul(self.features))
            .unwrap_or(usize::MAX);
        if self.x.len() != expected {
            return Err(MlError::ShapeMismatch {
                what: format!(
                    "{split} sequences (n = {} x {} steps x {} features)",
                    self.n, self.seq_len, self.features
                ),
                expected,
                actual: self.x.len(),
            });
        }
        if self.y.len() != self.n {
            return Err(MlError::ShapeMismatch {
                what: format!("{split} targets (n = {})", self.n),
                expected: self.n,
                actual: self.y.len(),
            });
        }
        training::check_finite(&format!("{split} sequences"), self.x)?;
        training::check_finite(&format!("{split} targets"), self.y)
    }
}

/// The persistence baseline: each sequence's last value of feature 0 (NDVI) as its forecast.
pub fn persistence_forecast(set: &SequenceSet) -> Result<Vec<f32>, MlError> {
    set.check("baseline")?;
    let step = set.seq_len * set.features;
    Ok((0..set.n)
        .map(|i| set.x[i * step + (set.seq_len - 1) * set.features])
        .collect())
}

/// A batch tensor `[len, seq_len, features]` of sequences `idx`, normalised per feature.
fn batch_tensor(
    x: &[f32],
    idx: &[usize],
    seq_len: usize,
    features: usize,
    norm: &Normalisation,
    device: &Device,
) -> Tensor<3> {
    let step = seq_len * features;
    let mut buf = Vec::with_capacity(idx.len() * step);
    for &i in idx {
        for record in x[i * step..(i + 1) * step].chunks_exact(features) {
            buf.extend(record.iter().enumerate().map(|(c, &v)| norm.apply(c, v)));
        }
    }
    Tensor::from_data(TensorData::new(buf, [idx.len(), seq_len, features]), device)
}

/// The raw NDVI (feature 0) at the last time step of each sequence in `idx`.
///
/// The network predicts the CHANGE from this value: the forecast is `last + net(x)`. Without
/// this skip connection the model must first learn to copy its input and, on a short season,
/// ends up worse than the persistence baseline it exists to beat.
fn last_values(
    x: &[f32],
    idx: &[usize],
    seq_len: usize,
    features: usize,
    device: &Device,
) -> Tensor<1> {
    let step = seq_len * features;
    let last: Vec<f32> = idx
        .iter()
        .map(|&i| x[i * step + (seq_len - 1) * features])
        .collect();
    Tensor::from_data(TensorData::new(last, [idx.len()]), device)
}

/// Reads a `[batch]` tensor.
fn values(t: Tensor<1>) -> Result<Vec<f32>, MlError> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| MlError::Backend(format!("{e:?}")))
}

/// The LSTM as a training task.
struct LstmTask<'a> {
    train: &'a SequenceSet<'a>,
    val: &'a SequenceSet<'a>,
    norm: &'a Normalisation,
}

impl Task for LstmTask<'_> {
    type Net = LstmNet;
    const CLASSIFIER: bool = false;

    fn len(&self, split: Split) -> usize {
        pick(split, self.train, self.val).n
    }

    fn batch(&self, net: &LstmNet, split: Split, idx: &[usize], device: &Device) -> BatchLoss {
        let set = pick(split, self.train, self.val);
        let input = batch_tensor(set.x, idx, set.seq_len, set.features, self.norm, device);
        let pred = net.forward(input) + last_values(set.x, idx, set.seq_len, set.features, device);
        let targets: Vec<f32> = idx.iter().map(|&i| set.y[i]).collect();
        let abs_err = values(pred.clone())?
            .iter()
            .zip(&targets)
            .map(|(&p, &t)| f64::from((p - t).abs()))
            .sum();
        let targets = Tensor::<1>::from_data(TensorData::new(targets, [idx.len()]), device);
        let loss = MseLoss::new().forward(pred, targets, Reduction::Mean);
        Ok((
            loss,
            BatchFigures {
                correct: 0,
                abs_err,
            },
        ))
    }
}

/// One LSTM training run's inputs (see [`TrainingRequest`]).
pub type LstmRequest<'a> = TrainingRequest<'a, SequenceSet<'a>, LstmArchitecture>;

/// Trains an LSTM as `request` says: MSE, Adam, early stopping on the
/// validation loss; `norm` (one entry per feature, fitted on `train`) is applied inside.
pub fn train_lstm(
    request: &LstmRequest<'_>,
    monitor: &mut dyn TrainingMonitor,
    cancel: &CancelToken,
) -> Result<TrainingOutcome<LstmRegressor>, MlError> {
    let (train, val, norm, cfg) = (request.train, request.val, request.norm, request.config);
    let (arch, device) = (&request.arch, &request.device);
    arch.validate()?;
    cfg.validate()?;
    train.check("training")?;
    val.check("validation")?;
    if val.features != train.features {
        return Err(MlError::ShapeMismatch {
            what: "validation features per time step".into(),
            expected: train.features,
            actual: val.features,
        });
    }
    norm.check(train.features)?;

    let _rng = training::lock_rng(cancel)?;
    let train_device = device.clone().autodiff();
    train_device.seed(cfg.seed);
    let net = LstmNet::new(arch, train.features, &train_device, true);
    let task = LstmTask { train, val, norm };
    let fitted = training::fit(&task, net, &train_device, cfg, monitor, cancel)?;
    Ok(fitted.into_outcome(|net, best_epoch| LstmRegressor {
        net,
        arch: arch.clone(),
        features: train.features,
        seq_len: train.seq_len,
        norm: norm.clone(),
        train_config: Some(cfg.clone()),
        best_epoch,
        device: device.clone().without_autodiff(),
    }))
}

/// A trained NDVI forecaster (evaluation mode) with its input normalisation.
#[derive(Clone, Debug)]
pub struct LstmRegressor {
    net: LstmNet,
    arch: LstmArchitecture,
    features: usize,
    seq_len: usize,
    norm: Normalisation,
    train_config: Option<TrainConfig>,
    best_epoch: usize,
    device: Device,
}

impl LstmRegressor {
    /// Next-date NDVI of `n` raw sequences (`x` is N×L×F; L is `x.len() / (n * F)`, so any
    /// length works), in batches of 64.
    pub fn predict(&self, x: &[f32], n: usize) -> Result<Vec<f32>, MlError> {
        if n == 0 {
            return if x.is_empty() {
                Ok(Vec::new())
            } else {
                Err(MlError::ShapeMismatch {
                    what: "input sequences (n = 0)".into(),
                    expected: 0,
                    actual: x.len(),
                })
            };
        }
        let per_step = n.saturating_mul(self.features);
        let seq_len = x.len() / per_step;
        if seq_len == 0 || !x.len().is_multiple_of(per_step) {
            return Err(MlError::ShapeMismatch {
                what: format!(
                    "input sequences (n = {n} x L steps x {} features)",
                    self.features
                ),
                expected: per_step.saturating_mul(self.seq_len.max(1)),
                actual: x.len(),
            });
        }
        training::check_finite("input sequences", x)?;
        let mut out = Vec::with_capacity(n);
        let all: Vec<usize> = (0..n).collect();
        for idx in all.chunks(EVAL_BATCH) {
            let input = batch_tensor(x, idx, seq_len, self.features, &self.norm, &self.device);
            let last = last_values(x, idx, seq_len, self.features, &self.device);
            out.extend(values(self.net.forward(input) + last)?);
        }
        Ok(out)
    }

    /// MAE, RMSE and R² on `set`.
    pub fn evaluate(&self, set: &SequenceSet) -> Result<RegressionMetrics, MlError> {
        set.check("evaluation")?;
        if set.features != self.features {
            return Err(MlError::ShapeMismatch {
                what: "features per time step".into(),
                expected: self.features,
                actual: set.features,
            });
        }
        let pred = self.predict(set.x, set.n)?;
        Ok(RegressionMetrics::compute(set.y, &pred))
    }

    /// Writes the weights to `path` (burnpack, any extension; `.bpk` is burn's) and a JSON
    /// sidecar (normalisation, training configuration, architecture with input features and
    /// sequence length, best epoch, parameter count, weights checksum) to
    /// `path.with_extension("json")`, each atomically.
    pub fn save(&self, path: &Path) -> Result<(), MlError> {
        let shape = LstmShape {
            arch: self.arch.clone(),
            features: self.features,
            seq_len: self.seq_len,
        };
        let sidecar = Sidecar::new(
            FORMAT,
            shape,
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
        let (sidecar, record) = persist::load_checked(path, FORMAT, |shape: &LstmShape, norm| {
            shape.arch.validate().map_err(|e| e.to_string())?;
            if shape.features == 0 {
                return Err("zero input features".into());
            }
            norm.check(shape.features).map_err(|e| e.to_string())
        })?;
        let shape = sidecar.architecture;
        let device = device.clone().without_autodiff();
        let net = LstmNet::new(&shape.arch, shape.features, &device, false);
        let net = persist::apply(net, record, path)?.valid();
        Ok(Self {
            net,
            arch: shape.arch,
            features: shape.features,
            seq_len: shape.seq_len,
            norm: sidecar.normalisation,
            train_config: sidecar.train_config,
            best_epoch: sidecar.best_epoch,
            device,
        })
    }

    /// Trainable parameters, as PyTorch counts them (545,921 for the original with one feature).
    pub fn num_params(&self) -> usize {
        training::trainable_params(&self.net)
    }

    /// The layer sizes.
    pub fn architecture(&self) -> &LstmArchitecture {
        &self.arch
    }

    /// Features per time step the model takes.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Sequence length the model was trained on.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// The input normalisation applied inside [`predict`](Self::predict).
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
    use crate::NoMonitor;
    use crate::test_support::{Recorder, sequences};

    const L: usize = 10;
    const F: usize = 2;

    fn tiny_config(max_epochs: usize, seed: u64) -> TrainConfig {
        TrainConfig {
            max_epochs,
            batch_size: 8,
            learning_rate: 1e-3,
            patience: 10,
            seed,
        }
    }

    struct Data {
        x: Vec<f32>,
        y: Vec<f32>,
        vx: Vec<f32>,
        vy: Vec<f32>,
        norm: Normalisation,
    }

    fn data(n: usize) -> Data {
        let (x, y) = sequences(n, L, 1);
        let (vx, vy) = sequences(n, L, 2);
        let norm = Normalisation::fit(&x, F);
        Data { x, y, vx, vy, norm }
    }

    fn set<'a>(x: &'a [f32], y: &'a [f32]) -> SequenceSet<'a> {
        SequenceSet {
            x,
            y,
            n: y.len(),
            seq_len: L,
            features: F,
        }
    }

    fn train_tiny(
        d: &Data,
        cfg: &TrainConfig,
        monitor: &mut dyn TrainingMonitor,
    ) -> TrainingOutcome<LstmRegressor> {
        train_lstm(
            &LstmRequest::new(&set(&d.x, &d.y), &set(&d.vx, &d.vy), &d.norm, cfg),
            monitor,
            &CancelToken::new(),
        )
        .expect("training succeeds")
    }

    fn zero_regressor(features: usize) -> LstmRegressor {
        let device = default_device();
        LstmRegressor {
            net: LstmNet::new(&LstmArchitecture::default(), features, &device, false).valid(),
            arch: LstmArchitecture::default(),
            features,
            seq_len: L,
            norm: Normalisation::identity(features),
            train_config: None,
            best_epoch: 0,
            device,
        }
    }

    #[test]
    fn lstm_has_the_original_parameter_count() {
        assert_eq!(zero_regressor(1).num_params(), 545_921);
        // A second feature adds one input weight per gate unit and direction.
        assert_eq!(zero_regressor(2).num_params(), 545_921 + 4 * 128 * 2);
    }

    #[test]
    fn lstm_history_reports_mae_and_early_stopping_restores_best_weights() {
        let d = data(16);
        // A learning rate far too high makes the validation loss jump about.
        let cfg = TrainConfig {
            learning_rate: 0.05,
            patience: 3,
            ..tiny_config(10, 5)
        };
        let mut monitor = Recorder::default();
        let outcome = train_tiny(&d, &cfg, &mut monitor);
        let h = &outcome.history;
        assert_eq!(monitor.epochs, *h);
        assert_eq!(monitor.batches, 2 * h.len());
        assert!(h.iter().all(|s| s.val_mae.is_some()
            && s.train_accuracy.is_none()
            && s.val_accuracy.is_none()));
        let best = outcome.best_epoch;
        let best_loss = h[best - 1].val_loss;
        assert!(h.iter().all(|s| s.val_loss >= best_loss));
        assert!(best < h.len(), "the last epoch must be worse here: {h:?}");
        assert!(h[h.len() - 1].val_loss > best_loss + 1e-5);

        // MSE and MAE of the returned model's predictions are the best epoch's.
        let pred = outcome.model.predict(&d.vx, 16).unwrap();
        let mse = pred
            .iter()
            .zip(&d.vy)
            .map(|(&p, &t)| f64::from(p - t).powi(2))
            .sum::<f64>()
            / 16.0;
        assert!(
            (mse - best_loss).abs() <= 1e-5 * best_loss.max(1e-3),
            "{mse} vs {best_loss}"
        );
        let m = outcome.model.evaluate(&set(&d.vx, &d.vy)).unwrap();
        let best_mae = h[best - 1].val_mae.unwrap();
        assert!((m.mae - best_mae).abs() < 1e-6, "{} vs {best_mae}", m.mae);
    }

    #[test]
    fn same_seed_gives_identical_lstm_history() {
        let d = data(12);
        let cfg = tiny_config(2, 9);
        let a = train_tiny(&d, &cfg, &mut NoMonitor);
        let b = train_tiny(&d, &cfg, &mut NoMonitor);
        assert_eq!(a.history, b.history);
        assert_eq!(
            a.model.predict(&d.vx, 12).unwrap(),
            b.model.predict(&d.vx, 12).unwrap()
        );
    }

    #[test]
    fn reloaded_lstm_reproduces_predictions_exactly() {
        let d = data(12);
        let outcome = train_tiny(&d, &tiny_config(1, 4), &mut NoMonitor);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lstm_real.bpk");
        outcome.model.save(&path).unwrap();
        let sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap()).unwrap();
        assert_eq!(sidecar["format"], "agriflux-lstm");
        assert_eq!(sidecar["architecture"]["features"], F);
        assert_eq!(sidecar["architecture"]["seq_len"], L);
        assert_eq!(sidecar["architecture"]["hidden"], 128);
        assert_eq!(sidecar["num_params"], 545_921 + 4 * 128 * 2);

        let loaded = LstmRegressor::load(&path).unwrap();
        let before = outcome.model.predict(&d.vx, 12).unwrap();
        let after = loaded.predict(&d.vx, 12).unwrap();
        let bits = |p: &[f32]| -> Vec<u32> { p.iter().map(|v| v.to_bits()).collect() };
        assert_eq!(bits(&before), bits(&after));
        assert_eq!((loaded.features(), loaded.seq_len()), (F, L));
        assert_eq!(loaded.normalisation(), &d.norm);

        // A CNN loader refuses the file, and vice versa.
        let err = crate::CnnClassifier::load(&path).unwrap_err();
        assert!(matches!(err, MlError::IncompatibleModel { .. }), "{err}");
    }

    #[test]
    fn lstm_cancel_stops_training_promptly() {
        let d = data(16);
        let token = CancelToken::new();
        let mut monitor = Recorder {
            cancel_after: Some((1, token.clone())),
            ..Recorder::default()
        };
        let result = train_lstm(
            &LstmRequest::new(
                &set(&d.x, &d.y),
                &set(&d.vx, &d.vy),
                &d.norm,
                &tiny_config(5, 0),
            ),
            &mut monitor,
            &token,
        );
        assert!(matches!(result, Err(MlError::Cancelled)));
        assert_eq!(monitor.batches, 1);
    }

    #[test]
    fn lstm_inputs_are_checked() {
        let d = data(4);
        let model = zero_regressor(F);
        assert_eq!(model.predict(&d.x, 4).unwrap().len(), 4);
        // Any sequence length: the first 5 steps of each sequence.
        let short: Vec<f32> =
            d.x.chunks(L * F)
                .flat_map(|s| s[..5 * F].to_vec())
                .collect();
        assert_eq!(model.predict(&short, 4).unwrap().len(), 4);
        assert!(matches!(
            model.predict(&d.x[1..], 4),
            Err(MlError::ShapeMismatch { .. })
        ));
        assert!(model.predict(&[], 0).unwrap().is_empty());

        let good = set(&d.x, &d.y);
        let bad_targets = SequenceSet {
            y: &d.y[..3],
            ..good
        };
        let err = train_lstm(
            &LstmRequest::new(&good, &bad_targets, &d.norm, &tiny_config(1, 0)),
            &mut NoMonitor,
            &CancelToken::new(),
        )
        .err();
        assert!(matches!(err, Some(MlError::ShapeMismatch { .. })));
        let err = train_lstm(
            &LstmRequest::new(
                &good,
                &good,
                &Normalisation::identity(1),
                &tiny_config(1, 0),
            ),
            &mut NoMonitor,
            &CancelToken::new(),
        )
        .err();
        assert!(matches!(err, Some(MlError::InvalidNormalisation(_))));
    }

    #[test]
    fn persistence_forecast_repeats_the_last_ndvi() {
        let x = [0.1, 1.0, 0.2, 1.0, 0.3, 0.5, 0.4, 0.5];
        let y = [0.25, 0.45];
        let s = SequenceSet {
            x: &x,
            y: &y,
            n: 2,
            seq_len: 2,
            features: 2,
        };
        assert_eq!(persistence_forecast(&s).unwrap(), vec![0.2, 0.4]);
    }
}
