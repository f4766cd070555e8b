//! The training loop both models share: seeded shuffles, Adam, cancellation, early stopping
//! that restores the best epoch's weights, and evaluation-mode validation.

use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{CancelToken, EpochStats, MlError, Normalisation, TrainConfig, TrainingMonitor};

/// What training returns, for either model: the model with the best epoch's weights and the
/// record of the epochs run.
#[derive(Debug)]
pub struct TrainingOutcome<M> {
    /// The model with the best epoch's weights.
    pub model: M,
    /// One entry per epoch run.
    pub history: Vec<EpochStats>,
    /// 1-based epoch with the lowest validation loss (the weights `model` holds).
    pub best_epoch: usize,
    /// Whether patience ran out before `max_epochs`.
    pub stopped_early: bool,
}

/// One training run's inputs, for either model: the training and validation data `D`, the
/// normalisation fitted on the training data, the hyper-parameters, the architecture `A` and
/// the device.
///
/// ```
/// use agriflux_ml::{CnnRequest, Normalisation, PatchSet, TrainConfig, CNN_BANDS};
/// # let (x, y) = (vec![0.1_f32; 64 * 64 * 4], vec![0_i64]);
/// let data = PatchSet::new(&x, &y);
/// let norm = Normalisation::identity(CNN_BANDS);
/// let config = TrainConfig::default();
/// // The original architecture on the default CPU device; `with_arch` and `on_device` change them.
/// let request = CnnRequest::new(&data, &data, &norm, &config);
/// assert_eq!(request.arch.channels, [32, 64, 128]);
/// ```
#[derive(Clone, Debug)]
pub struct TrainingRequest<'a, D, A> {
    /// The data the weights are fitted on.
    pub train: &'a D,
    /// The data early stopping watches.
    pub val: &'a D,
    /// The input normalisation, fitted on `train`; it travels with the model.
    pub norm: &'a Normalisation,
    /// Epochs, batch size, learning rate, patience and seed.
    pub config: &'a TrainConfig,
    /// The layer sizes.
    pub arch: A,
    /// Where the tensors live.
    pub device: Device,
}

impl<'a, D, A: Default> TrainingRequest<'a, D, A> {
    /// The original architecture on the default CPU device.
    pub fn new(train: &'a D, val: &'a D, norm: &'a Normalisation, config: &'a TrainConfig) -> Self {
        Self {
            train,
            val,
            norm,
            config,
            arch: A::default(),
            device: crate::default_device(),
        }
    }
}

impl<D, A> TrainingRequest<'_, D, A> {
    /// The same request with other layer sizes.
    pub fn with_arch(self, arch: A) -> Self {
        Self { arch, ..self }
    }

    /// The same request on another device.
    pub fn on_device(self, device: Device) -> Self {
        Self { device, ..self }
    }
}

/// Samples per forward pass when evaluating or predicting.
pub(crate) const EVAL_BATCH: usize = 64;

/// Adam's epsilon; the original (PyTorch) used 1e-8 where burn defaults to 1e-5.
const ADAM_EPSILON: f32 = 1e-8;

/// Serialises the parts of the process that draw from burn's random generator (the `flex`
/// backend keeps one for the whole process): seeding, initialisation and dropout.
static RNG_LOCK: Mutex<()> = Mutex::new(());

/// Takes [`RNG_LOCK`], polling `cancel` while another training holds it.
pub(crate) fn lock_rng(cancel: &CancelToken) -> Result<MutexGuard<'static, ()>, MlError> {
    loop {
        match RNG_LOCK.try_lock() {
            Ok(guard) => return Ok(guard),
            // A training that panicked leaves no state behind that matters here.
            Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {
                if cancel.is_cancelled() {
                    return Err(MlError::Cancelled);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Which split a batch comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Split {
    /// The training split (the network is in training mode).
    Train,
    /// The validation split (the network is in evaluation mode).
    Val,
}

/// The training or the validation one of a pair, as `split` says.
pub(crate) fn pick<T>(split: Split, train: T, val: T) -> T {
    match split {
        Split::Train => train,
        Split::Val => val,
    }
}

/// What a batch adds to an epoch's figures besides its loss.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BatchFigures {
    /// Correctly classified samples (classifier).
    pub correct: usize,
    /// Sum of absolute errors (regressor).
    pub abs_err: f64,
}

/// A supervised task the loop can train: batches of a training and a validation split.
pub(crate) trait Task {
    /// The network.
    type Net: Module;
    /// Whether epochs report accuracy (classification) or MAE (regression).
    const CLASSIFIER: bool;
    /// Number of samples in `split`.
    fn len(&self, split: Split) -> usize;
    /// Forward pass over samples `idx` of `split` on `device`: the batch's mean loss and figures.
    fn batch(&self, net: &Self::Net, split: Split, idx: &[usize], device: &Device) -> BatchLoss;
}

/// A batch's mean loss (a one-element tensor to differentiate) and its figures.
pub(crate) type BatchLoss = Result<(Tensor<1>, BatchFigures), MlError>;

/// What [`fit`] returns.
pub(crate) struct Fitted<N> {
    /// The best epoch's network, in evaluation mode on the plain (non-autodiff) device.
    pub net: N,
    /// One entry per epoch run.
    pub history: Vec<EpochStats>,
    /// 1-based epoch whose weights `net` holds.
    pub best_epoch: usize,
    /// Whether patience ran out before `max_epochs`.
    pub stopped_early: bool,
}

impl<N> Fitted<N> {
    /// The outcome whose model `wrap` builds from the best network and its epoch.
    pub(crate) fn into_outcome<M>(self, wrap: impl FnOnce(N, usize) -> M) -> TrainingOutcome<M> {
        TrainingOutcome {
            model: wrap(self.net, self.best_epoch),
            history: self.history,
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        }
    }
}

/// Reads a one-element loss tensor.
pub(crate) fn scalar(t: Tensor<1>) -> Result<f64, MlError> {
    let v = t
        .into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| MlError::Backend(format!("{e:?}")))?;
    v.first()
        .map(|&x| f64::from(x))
        .ok_or_else(|| MlError::Backend("empty loss tensor".into()))
}

/// Trains `net` (already initialised on `train_device`, an autodiff device) on `task`.
pub(crate) fn fit<T: Task>(
    task: &T,
    mut net: T::Net,
    train_device: &Device,
    cfg: &TrainConfig,
    monitor: &mut dyn TrainingMonitor,
    cancel: &CancelToken,
) -> Result<Fitted<T::Net>, MlError> {
    let eval_device = train_device.clone().without_autodiff();
    let n_train = task.len(Split::Train);
    let n_val = task.len(Split::Val);
    let batches = n_train.div_ceil(cfg.batch_size);
    let mut optim = AdamConfig::new().with_epsilon(ADAM_EPSILON).init();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..n_train).collect();

    let mut history = Vec::new();
    let mut best: Option<(f64, usize, T::Net)> = None;
    let mut since_best = 0usize;
    let mut stopped_early = false;

    for epoch in 1..=cfg.max_epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut figures = BatchFigures::default();
        for (b, idx) in order.chunks(cfg.batch_size).enumerate() {
            if cancel.is_cancelled() {
                return Err(MlError::Cancelled);
            }
            let (loss, f) = task.batch(&net, Split::Train, idx, train_device)?;
            let value = scalar(loss.clone())?;
            if !value.is_finite() {
                return Err(MlError::Diverged {
                    which: "training",
                    epoch,
                });
            }
            loss_sum += value * idx.len() as f64;
            figures.correct += f.correct;
            figures.abs_err += f.abs_err;
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(cfg.learning_rate, net, grads);
            monitor.batch_finished(epoch, b + 1, batches);
        }

        let valid = net.valid();
        let (val_loss, val_figures) = evaluate(task, &valid, &eval_device, cancel)?;
        if !val_loss.is_finite() {
            return Err(MlError::Diverged {
                which: "validation",
                epoch,
            });
        }
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / n_train as f64,
            val_loss,
            train_accuracy: T::CLASSIFIER.then(|| figures.correct as f64 / n_train as f64),
            val_accuracy: T::CLASSIFIER.then(|| val_figures.correct as f64 / n_val as f64),
            val_mae: (!T::CLASSIFIER).then(|| val_figures.abs_err / n_val as f64),
        };
        monitor.epoch_finished(&stats, cfg.max_epochs);
        history.push(stats);

        if best.as_ref().is_none_or(|(b, _, _)| val_loss < *b) {
            // `valid()` gives parameters and batch-norm statistics of their own: later steps
            // cannot alter this snapshot.
            best = Some((val_loss, epoch, valid));
            since_best = 0;
        } else {
            since_best += 1;
            if cfg.patience > 0 && since_best >= cfg.patience {
                stopped_early = epoch < cfg.max_epochs;
                break;
            }
        }
    }

    let (_, best_epoch, net) = best.ok_or(MlError::InvalidConfig(
        "max_epochs must be at least 1".into(),
    ))?;
    Ok(Fitted {
        net,
        history,
        best_epoch,
        stopped_early,
    })
}

/// Mean loss and summed figures of `net` (evaluation mode) over the validation split.
pub(crate) fn evaluate<T: Task>(
    task: &T,
    net: &T::Net,
    device: &Device,
    cancel: &CancelToken,
) -> Result<(f64, BatchFigures), MlError> {
    let n = task.len(Split::Val);
    let order: Vec<usize> = (0..n).collect();
    let mut loss_sum = 0.0;
    let mut figures = BatchFigures::default();
    for idx in order.chunks(EVAL_BATCH) {
        if cancel.is_cancelled() {
            return Err(MlError::Cancelled);
        }
        let (loss, f) = task.batch(net, Split::Val, idx, device)?;
        loss_sum += scalar(loss)? * idx.len() as f64;
        figures.correct += f.correct;
        figures.abs_err += f.abs_err;
    }
    Ok((loss_sum / n as f64, figures))
}

/// Counts trainable parameters: every float parameter except batch-norm running statistics
/// (which burn's `num_params` includes but PyTorch's parameter count does not).
pub(crate) fn trainable_params<M: Module>(net: &M) -> usize {
    #[derive(Default)]
    struct Counter {
        path: Vec<String>,
        count: usize,
    }
    impl ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let running = matches!(
                self.path.last().map(String::as_str),
                Some("running_mean" | "running_var")
            );
            if !running {
                self.count += param.lazy_shape().num_elements();
            }
        }
    }
    let mut counter = Counter::default();
    net.visit(&mut counter);
    counter.count
}

/// Checks every value of `x` is finite.
pub(crate) fn check_finite(what: &str, x: &[f32]) -> Result<(), MlError> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MlError::NonFinite {
            what: what.to_owned(),
            index,
        }),
        None => Ok(()),
    }
}
