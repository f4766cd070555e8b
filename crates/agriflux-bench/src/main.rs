//! `agriflux-bench`: how fast AgriFlux trains, predicts and prepares data, on the product's own
//! code (the engine's models, training loop and dataset builders), for a side-by-side
//! comparison with PyTorch and NumPy (`bench/reference.py`, driven by `bench/run.sh`).
//!
//! - `agriflux-bench prepare --workdir W` makes sure `W/data/training/` holds a dataset written
//!   by the pipeline (running its download, validation and dataset steps on the simulated
//!   source when it does not), and writes the scenes the dataset steps read to
//!   `W/bench-inputs/` as `.npy` so NumPy can do the same data preparation on the same inputs.
//! - `agriflux-bench run --workdir W` measures every workload once (after a warm-up) and prints
//!   one JSON object per workload (`--json`) or a small table.

mod accuracy;
mod map;

use std::path::{Path, PathBuf};
use std::time::Instant;

use agriflux_core::datasets::Split;
use agriflux_core::datasets::npy::{read_npy, write_npy};
use agriflux_core::datasets::patches::{
    PatchConfig, PatchLabels, build_patch_splits, load_patch_metadata, load_patch_set,
    save_patch_splits,
};
use agriflux_core::datasets::sequences::{
    build_sequence_splits, load_sequence_metadata, load_sequence_set, save_sequence_splits,
};
use agriflux_core::ml::{
    CancelToken, CnnRequest, EpochStats, LstmRequest, PatchSet, SequenceSet, TrainConfig,
    TrainingMonitor, train_cnn, train_lstm,
};
use agriflux_core::pipeline::WorkDir;
use agriflux_core::raster::geotiff::{Crs, GeoTransform};
use agriflux_core::raster::scene::{Scene, list_scene_dirs, read_scene};
use agriflux_core::settings::{DateRange, SIMULATED_BBOX};
use agriflux_core::simulate::SimulatedSource;
use agriflux_core::source::{SceneSource, spread_over_range};
use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

/// Data tag of the pipeline's own ("real-data" side) files.
const TAG: &str = "real";
/// Samples per optimiser step, as the pipeline trains.
const BATCH: usize = 32;
/// Optimiser steps run before the clock starts (allocation, first-touch, thread start).
const WARMUP_STEPS: usize = 2;
/// Smallest clear-pixel fraction of a usable scene (the pipeline's default).
const MIN_VALID_FRACTION: f64 = 0.5;
/// The pipeline's defaults for the simulated source: seed, dates downloaded, highest tile
/// cloud cover, CNN patches per class, LSTM sequence length.
const SEED: u64 = 42;
const TARGET_COUNT: usize = 20;
const CLOUD_THRESHOLD: f64 = 20.0;
const SAMPLES_PER_CLASS: usize = 300;
const SEQUENCE_LENGTH: usize = 10;

#[derive(Parser)]
#[command(
    name = "agriflux-bench",
    about = "Speed benchmark of AgriFlux's engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Makes sure WORKDIR holds a pipeline-written dataset and the benchmark's scene inputs.
    Prepare {
        /// Work directory (a finished `agriflux run` one, or a new one to fill).
        #[arg(long)]
        workdir: PathBuf,
        /// First date of the simulated season when the dataset must be made.
        #[arg(long, default_value = "2024-01-01")]
        start: String,
        /// Last date of the simulated season when the dataset must be made.
        #[arg(long, default_value = "2024-12-31")]
        end: String,
    },
    /// Measures every workload once and prints the results.
    Run {
        /// Work directory prepared by `prepare`.
        #[arg(long)]
        workdir: PathBuf,
        /// Timed CNN optimiser steps (batch 32).
        #[arg(long, default_value_t = 12)]
        cnn_steps: usize,
        /// Timed LSTM optimiser steps (batch 32).
        #[arg(long, default_value_t = 30)]
        lstm_steps: usize,
        /// Samples predicted by each inference workload.
        #[arg(long, default_value_t = 512)]
        infer_samples: usize,
        /// Only the workloads whose names contain one of these (comma separated).
        #[arg(long)]
        only: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Times one date's map layers (health, forecast, NDVI, clouds, true colour, GeoTIFFs and
    /// PNGs) with the models loaded, on a finished run's work directory.
    Map {
        /// Work directory of a finished run (scenes and trained models), e.g. demo.
        #[arg(long)]
        workdir: PathBuf,
        /// Dates timed (the latest ones); the median is printed.
        #[arg(long, default_value_t = 3)]
        dates: usize,
    },
    /// Trains the CNN and the LSTM once per seed on WORKDIR's dataset and prints their test
    /// figures with the mean and standard deviation (does a change keep the accuracy?).
    Accuracy {
        /// Work directory prepared by `prepare`.
        #[arg(long)]
        workdir: PathBuf,
        /// Seeds, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        /// CNN epochs (the pipeline's default on the simulated source; 0 skips the CNN).
        #[arg(long, default_value_t = 8)]
        cnn_epochs: usize,
        /// LSTM epochs (the pipeline's default on the simulated source; 0 skips the LSTM).
        #[arg(long, default_value_t = 30)]
        lstm_epochs: usize,
    },
}

/// One measured workload.
struct Measurement {
    workload: &'static str,
    value: f64,
    unit: &'static str,
    seconds: f64,
}

fn main() -> Result<()> {
    // As the CLI and the app do.
    agriflux_core::ml::keep_freed_memory_for_reuse();
    match Cli::parse().command {
        Command::Prepare {
            workdir,
            start,
            end,
        } => prepare(&workdir, &start, &end),
        Command::Accuracy {
            workdir,
            seeds,
            cnn_epochs,
            lstm_epochs,
        } => accuracy::run(&workdir, &seeds, cnn_epochs, lstm_epochs),
        Command::Map { workdir, dates } => map::run(&workdir, dates),
        Command::Run {
            workdir,
            cnn_steps,
            lstm_steps,
            infer_samples,
            only,
            json,
        } => {
            let wanted = |name: &str| {
                only.as_deref()
                    .is_none_or(|o| o.split(',').any(|w| name.contains(w.trim())))
            };
            let inputs = Inputs::load(&workdir)?;
            let mut results = Vec::new();
            let mut report = |m: Measurement| {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "impl": "agriflux",
                            "workload": m.workload,
                            "value": m.value,
                            "unit": m.unit,
                            "seconds": m.seconds,
                        })
                    );
                } else {
                    println!("{:<22} {:>12.1} {}", m.workload, m.value, m.unit);
                }
                results.push(m);
            };
            if wanted("cnn_train") || wanted("cnn_infer") {
                for m in bench_cnn(&inputs, cnn_steps, infer_samples)? {
                    if wanted(m.workload) {
                        report(m);
                    }
                }
            }
            if wanted("lstm_train") || wanted("lstm_infer") {
                for m in bench_lstm(&inputs, lstm_steps, infer_samples)? {
                    if wanted(m.workload) {
                        report(m);
                    }
                }
            }
            let scenes = load_bench_scenes(&workdir)?;
            if wanted("patch_extraction") {
                report(bench_patches(&scenes)?);
            }
            if wanted("sequence_extraction") {
                report(bench_sequences(&scenes, inputs.seq_len)?);
            }
            if wanted("indices") {
                report(bench_indices(&scenes));
            }
            Ok(())
        }
    }
}

/// Makes sure `workdir` holds a dataset: when `data/training/` has none, the simulated source's
/// scenes are selected as the download step does (tile cloud cover below 20 %, 20 dates spread
/// over the season), kept when at least half their pixels are clear (the validation step's
/// rule), and cut by the engine's dataset builders with the pipeline's defaults for the
/// simulated source; they are written where the dataset steps write them. The scenes go to
/// `workdir/bench-inputs/` as `.npy` for NumPy.
fn prepare(workdir: &Path, start: &str, end: &str) -> Result<()> {
    let wd = WorkDir::new(workdir);
    std::fs::create_dir_all(workdir)
        .with_context(|| format!("cannot create {}", workdir.display()))?;
    let have_data = ["cnn_X_train", "lstm_X_train"]
        .iter()
        .all(|f| wd.training().join(format!("{f}_{TAG}.npy")).exists());
    if have_data && workdir.join("bench-inputs").join("bands.npy").exists() {
        eprintln!(
            "using the dataset in {} and the scenes in bench-inputs/",
            wd.training().display()
        );
        return Ok(());
    }
    let scenes = if have_data {
        eprintln!("using the dataset in {}", wd.training().display());
        load_scenes(workdir)?
    } else {
        eprintln!(
            "no dataset in {}: cutting one from the simulated source ({start}..{end})",
            wd.training().display()
        );
        let scenes = simulated_scenes(start, end)?;
        let cancel = CancelToken::new();
        let patches = build_patch_splits(
            &scenes,
            &PatchConfig::new(SAMPLES_PER_CLASS, SEED),
            &PatchLabels::Ndvi,
            TAG,
            "simulated",
            &cancel,
            |_, _| {},
        )?;
        save_patch_splits(&wd.training(), &patches)?;
        let sequences = build_sequence_splits(&scenes, SEQUENCE_LENGTH, TAG, "simulated", &cancel)?;
        save_sequence_splits(&wd.training(), &sequences)?;
        eprintln!(
            "dataset: {} / {} / {} patches, {} / {} / {} sequences",
            patches.train.len(),
            patches.val.len(),
            patches.test.len(),
            sequences.train.len(),
            sequences.val.len(),
            sequences.test.len()
        );
        scenes
    };

    // The scenes the dataset was cut from, stacked, for NumPy.
    let first = scenes.first().context("no usable scene")?;
    let (t, h, w) = (scenes.len(), first.height, first.width);
    let out = workdir.join("bench-inputs");
    std::fs::create_dir_all(&out)?;
    let bands: Vec<f32> = scenes
        .iter()
        .flat_map(|s| s.bands.iter().copied())
        .collect();
    let scl: Vec<u8> = scenes.iter().flat_map(|s| s.scl.iter().copied()).collect();
    let mask: Vec<u8> = scenes
        .iter()
        .flat_map(|s| s.data_mask.iter().copied())
        .collect();
    write_npy(&out.join("bands.npy"), &[t, h, w, 4], &bands)?;
    write_npy(&out.join("scl.npy"), &[t, h, w], &scl)?;
    write_npy(&out.join("data_mask.npy"), &[t, h, w], &mask)?;
    let dates: Vec<String> = scenes.iter().map(|s| s.date.to_string()).collect();
    std::fs::write(
        out.join("dates.json"),
        serde_json::to_vec_pretty(&serde_json::json!({ "dates": dates }))?,
    )?;
    eprintln!("{t} scenes of {w} x {h} px written to {}", out.display());
    Ok(())
}

/// The simulated season's usable scenes over the default simulated area, sorted by date.
fn simulated_scenes(start: &str, end: &str) -> Result<Vec<Scene>> {
    let dates = DateRange {
        start: NaiveDate::parse_from_str(start, "%Y-%m-%d").context("--start")?,
        end: NaiveDate::parse_from_str(end, "%Y-%m-%d").context("--end")?,
    };
    let source = SimulatedSource::new(SEED);
    let found = source.search(
        &SIMULATED_BBOX,
        &dates,
        CLOUD_THRESHOLD,
        &CancelToken::new(),
    )?;
    let mut scenes = Vec::new();
    for acquisition in spread_over_range(&found, TARGET_COUNT) {
        let scene = source.fetch(&acquisition, &SIMULATED_BBOX)?;
        if scene.valid_fraction() >= MIN_VALID_FRACTION {
            scenes.push(scene);
        }
    }
    if scenes.len() < SEQUENCE_LENGTH + 3 {
        bail!(
            "only {} usable simulated dates in {start}..{end}: choose a longer season",
            scenes.len()
        );
    }
    Ok(scenes)
}

/// The usable scenes of `workdir`, sorted by date, as the dataset steps select them.
fn load_scenes(workdir: &Path) -> Result<Vec<Scene>> {
    let wd = WorkDir::new(workdir);
    let mut scenes = Vec::new();
    for (date, dir) in list_scene_dirs(&wd.scenes())? {
        let (scene, _) = read_scene(&dir).with_context(|| format!("scene {date}"))?;
        if scene.valid_fraction() >= MIN_VALID_FRACTION {
            scenes.push(scene);
        }
    }
    if scenes.is_empty() {
        bail!("no usable scenes in {}", wd.scenes().display());
    }
    Ok(scenes)
}

/// The scenes `prepare` wrote to `bench-inputs/` (the inputs NumPy reads too).
fn load_bench_scenes(workdir: &Path) -> Result<Vec<Scene>> {
    let dir = workdir.join("bench-inputs");
    let (shape, bands) = read_npy::<f32>(&dir.join("bands.npy"))?;
    let (_, scl) = read_npy::<u8>(&dir.join("scl.npy"))?;
    let (_, mask) = read_npy::<u8>(&dir.join("data_mask.npy"))?;
    let dates: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("dates.json"))?)?;
    let [t, h, w, 4] = shape[..] else {
        bail!("bench-inputs/bands.npy has shape {shape:?}, not (T, H, W, 4)");
    };
    let px = h * w;
    (0..t)
        .map(|i| {
            let date = dates["dates"][i].as_str().context("dates.json")?;
            Ok(Scene {
                date: NaiveDate::parse_from_str(date, "%Y-%m-%d")?,
                width: w,
                height: h,
                transform: GeoTransform {
                    origin_x: 0.0,
                    origin_y: 0.0,
                    pixel_width: 10.0,
                    pixel_height: 10.0,
                },
                crs: Crs::WGS84,
                bands: bands[i * px * 4..(i + 1) * px * 4].to_vec(),
                scl: scl[i * px..(i + 1) * px].to_vec(),
                data_mask: mask[i * px..(i + 1) * px].to_vec(),
                cloud_cover: 0.0,
            })
        })
        .collect()
}

/// The pipeline's training files.
struct Inputs {
    cnn_train: agriflux_core::datasets::patches::PatchSet,
    cnn_test: agriflux_core::datasets::patches::PatchSet,
    cnn_norm: agriflux_core::ml::Normalisation,
    lstm_train: agriflux_core::datasets::sequences::SequenceSet,
    lstm_test: agriflux_core::datasets::sequences::SequenceSet,
    lstm_norm: agriflux_core::ml::Normalisation,
    seq_len: usize,
}

impl Inputs {
    fn load(workdir: &Path) -> Result<Self> {
        let dir = WorkDir::new(workdir).training();
        let cnn_meta = load_patch_metadata(&dir, TAG)?;
        let lstm_meta = load_sequence_metadata(&dir, TAG)?;
        let seq_len = lstm_meta.sequence_length;
        Ok(Self {
            cnn_train: load_patch_set(&dir, Split::Train, TAG)?,
            cnn_test: load_patch_set(&dir, Split::Test, TAG)?,
            cnn_norm: cnn_meta.normalisation,
            lstm_train: load_sequence_set(&dir, Split::Train, TAG, seq_len)?,
            lstm_test: load_sequence_set(&dir, Split::Test, TAG, seq_len)?,
            lstm_norm: lstm_meta.normalisation,
            seq_len,
        })
    }
}

/// Records when each optimiser step ends.
#[derive(Default)]
struct StepClock {
    ends: Vec<Instant>,
}

impl TrainingMonitor for StepClock {
    fn epoch_finished(&mut self, _stats: &EpochStats, _max_epochs: usize) {}
    fn batch_finished(&mut self, _epoch: usize, _batch: usize, _batches: usize) {
        self.ends.push(Instant::now());
    }
}

impl StepClock {
    /// Samples per second over the steps after the warm-up.
    fn rate(&self) -> (f64, f64) {
        let timed = self.ends.len() - WARMUP_STEPS;
        let seconds = (self.ends[self.ends.len() - 1] - self.ends[WARMUP_STEPS - 1]).as_secs_f64();
        ((timed * BATCH) as f64 / seconds, seconds)
    }
}

/// Indices `0..count` of a set of `n` samples, cycling when the set is smaller.
fn cycled(n: usize, count: usize) -> impl Iterator<Item = usize> {
    (0..count).map(move |i| i % n)
}

/// One epoch of `WARMUP_STEPS + steps` CNN optimiser steps through the pipeline's trainer.
fn bench_cnn(inputs: &Inputs, steps: usize, infer: usize) -> Result<Vec<Measurement>> {
    const LEN: usize = 64 * 64 * 4;
    let set = &inputs.cnn_train;
    let count = (WARMUP_STEPS + steps) * BATCH;
    let mut x = Vec::with_capacity(count * LEN);
    let mut y = Vec::with_capacity(count);
    for i in cycled(set.len(), count) {
        x.extend_from_slice(&set.x[i * LEN..(i + 1) * LEN]);
        y.push(set.y[i]);
    }
    // Validation is not timed: one batch keeps it short.
    let val_n = BATCH.min(inputs.cnn_test.len());
    let val = PatchSet::new(
        &inputs.cnn_test.x[..val_n * LEN],
        &inputs.cnn_test.y[..val_n],
    );
    let cfg = bench_config();
    let mut clock = StepClock::default();
    let train = PatchSet::new(&x, &y);
    let request = CnnRequest::new(&train, &val, &inputs.cnn_norm, &cfg);
    let outcome = train_cnn(&request, &mut clock, &CancelToken::new())?;

    timed_rows(
        ["cnn_train", "cnn_infer"],
        &clock,
        &inputs.cnn_test.x,
        LEN,
        infer,
        |x, n| Ok(outcome.model.predict_proba(x, n)?.len()),
    )
}

/// One epoch of `WARMUP_STEPS + steps` LSTM optimiser steps through the pipeline's trainer.
fn bench_lstm(inputs: &Inputs, steps: usize, infer: usize) -> Result<Vec<Measurement>> {
    let features = agriflux_core::datasets::sequences::FEATURES;
    let len = inputs.seq_len * features;
    let set = &inputs.lstm_train;
    let count = (WARMUP_STEPS + steps) * BATCH;
    let mut x = Vec::with_capacity(count * len);
    let mut y = Vec::with_capacity(count);
    for i in cycled(set.len(), count) {
        x.extend_from_slice(&set.x[i * len..(i + 1) * len]);
        y.push(set.y[i]);
    }
    let as_set = |x, y| seq_set(x, y, inputs.seq_len);
    let test = &inputs.lstm_test;
    let val_n = BATCH.min(test.len());
    let val_x = &test.x[..val_n * len];
    let val_y = &test.y[..val_n];
    let cfg = bench_config();
    let mut clock = StepClock::default();
    let (train, val) = (as_set(&x, &y), as_set(val_x, val_y));
    let request = LstmRequest::new(&train, &val, &inputs.lstm_norm, &cfg);
    let outcome = train_lstm(&request, &mut clock, &CancelToken::new())?;

    timed_rows(
        ["lstm_train", "lstm_infer"],
        &clock,
        &test.x,
        len,
        infer,
        |x, n| Ok(outcome.model.predict(x, n)?.len()),
    )
}

/// The training row from `clock`, and the inference row from timing `predict` on `infer`
/// samples cycled from `test_x` (`len` values each), after a warm-up batch of 64.
fn timed_rows(
    workloads: [&'static str; 2],
    clock: &StepClock,
    test_x: &[f32],
    len: usize,
    infer: usize,
    predict: impl Fn(&[f32], usize) -> Result<usize>,
) -> Result<Vec<Measurement>> {
    let (train_rate, train_s) = clock.rate();
    let mut tx = Vec::with_capacity(infer * len);
    for i in cycled(test_x.len() / len, infer) {
        tx.extend_from_slice(&test_x[i * len..(i + 1) * len]);
    }
    predict(&tx[..64 * len], 64)?; // warm-up
    let t0 = Instant::now();
    let predicted = predict(&tx, infer)?;
    let infer_s = t0.elapsed().as_secs_f64();
    assert_eq!(predicted, infer);
    Ok(vec![
        Measurement {
            workload: workloads[0],
            value: train_rate,
            unit: "samples/s",
            seconds: train_s,
        },
        Measurement {
            workload: workloads[1],
            value: infer as f64 / infer_s,
            unit: "samples/s",
            seconds: infer_s,
        },
    ])
}

/// A sequence set over `x` and `y` (`y.len()` sequences of `seq_len` steps).
fn seq_set<'a>(x: &'a [f32], y: &'a [f32], seq_len: usize) -> SequenceSet<'a> {
    SequenceSet {
        x,
        y,
        n: y.len(),
        seq_len,
        features: agriflux_core::datasets::sequences::FEATURES,
    }
}

/// One epoch, no early stopping, the pipeline's optimiser settings (Adam 1e-3, batch 32).
fn bench_config() -> TrainConfig {
    TrainConfig {
        max_epochs: 1,
        patience: 0,
        ..TrainConfig::cnn()
    }
}

/// Runs `f` three times after a warm-up and keeps the fastest, in seconds.
fn best_of<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = f();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        out = f();
        best = best.min(t0.elapsed().as_secs_f64());
    }
    (best, out)
}

/// The CNN dataset step's patch cutting, labelling, splitting and balancing.
fn bench_patches(scenes: &[Scene]) -> Result<Measurement> {
    let cfg = PatchConfig::new(SAMPLES_PER_CLASS, SEED);
    let cancel = CancelToken::new();
    let (s, splits) = best_of(|| {
        build_patch_splits(
            scenes,
            &cfg,
            &PatchLabels::Ndvi,
            TAG,
            "simulated",
            &cancel,
            |_, _| {},
        )
    });
    let splits = splits?;
    let _ = splits.train.len();
    let pixels = scenes.len() * scenes[0].pixels();
    Ok(Measurement {
        workload: "patch_extraction",
        value: pixels as f64 / s / 1e6,
        unit: "Mpixel/s",
        seconds: s,
    })
}

/// The LSTM dataset step's block means and windows.
fn bench_sequences(scenes: &[Scene], seq_len: usize) -> Result<Measurement> {
    let cancel = CancelToken::new();
    let (s, splits) = best_of(|| build_sequence_splits(scenes, seq_len, TAG, "simulated", &cancel));
    let _ = splits?;
    let pixels = scenes.len() * scenes[0].pixels();
    Ok(Measurement {
        workload: "sequence_extraction",
        value: pixels as f64 / s / 1e6,
        unit: "Mpixel/s",
        seconds: s,
    })
}

/// NDVI, SAVI, EVI and NDWI of every scene (with the validity mask they need).
fn bench_indices(scenes: &[Scene]) -> Measurement {
    let (s, n) = best_of(|| scenes.iter().map(|sc| sc.indices()[0].len()).sum::<usize>());
    Measurement {
        workload: "indices",
        value: n as f64 / s / 1e6,
        unit: "Mpixel/s",
        seconds: s,
    }
}
