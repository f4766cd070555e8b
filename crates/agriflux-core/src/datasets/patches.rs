//! CNN training patches: 64 x 64 x 4 reflectance cut from every usable date, labelled by
//! ground observations at the centre pixel (or, without any, by the NDVI class of the centre
//! pixel), split by spatial blocks BEFORE the training split is balanced.
//!
//! Leakage: every patch lies inside one spatial block, and a block (all its dates) belongs to
//! one split, so no patch nor any overlapping neighbour appears in two splits. Oversampling
//! happens only inside the training split.

use std::collections::BTreeMap;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::npy::read_npy;
use super::{CLASS_NAMES, DatasetError, Split, SplitArrays, class_of, save_metadata, save_split};
use crate::ground_truth::GridObservations;
use crate::ml::Normalisation;
use crate::pipeline::CancelToken;
use crate::raster::indices;
use crate::raster::scene::Scene;

/// Side of a patch in pixels.
pub const PATCH: usize = 64;
/// Channels per pixel (B02, B03, B04, B08).
pub const CHANNELS: usize = 4;

/// How patches are cut and split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchConfig {
    /// Step between patch origins, pixels.
    pub stride: usize,
    /// Side of a spatial block, pixels; blocks are assigned whole to one split.
    pub block: usize,
    /// Gap in pixels kept free of patches between blocks of different splits: a patch is
    /// dropped when a block of a split of higher priority (test, then validation, then train)
    /// lies within this distance, so held-out blocks keep all their patches.
    #[serde(default = "default_buffer")]
    pub buffer: usize,
    /// Patches with a larger fraction of invalid pixels are skipped.
    pub max_invalid_fraction: f64,
    /// Training patches per class after balancing.
    pub samples_per_class: usize,
    /// Fraction of blocks held out for validation.
    pub val_fraction: f64,
    /// Fraction of blocks held out for the test split.
    pub test_fraction: f64,
    /// Seed of the block assignment and the balancing.
    pub seed: u64,
}

impl PatchConfig {
    /// The defaults of the spec, with the given balancing target and seed.
    pub fn new(samples_per_class: usize, seed: u64) -> Self {
        Self {
            stride: 32,
            block: 128,
            buffer: PATCH,
            max_invalid_fraction: 0.25,
            samples_per_class,
            val_fraction: 0.15,
            // A quarter of the blocks: with the simulated default area (25 blocks) the test
            // split spans 6 blocks, enough for a cluster bootstrap.
            test_fraction: 0.25,
            seed,
        }
    }
}

/// Patch stride with labels from observations: where labels are sparse, origins every 16 px
/// put twice as many patch centres per axis on them (with NDVI labels every centre is labelled
/// and the default stride of 32 px keeps the splits, and each epoch's validation, small).
pub const OBSERVED_LABELS_STRIDE: usize = 16;

fn default_buffer() -> usize {
    0
}

/// Which split each block belongs to, the patch origins kept, and how many were dropped for
/// the buffer.
type BlockAssignment = (BTreeMap<(usize, usize), Split>, Vec<(usize, usize)>, usize);

/// Assigns the blocks to the splits and keeps the patch origins that respect the buffer.
///
/// The blocks are laid along a serpentine path through the grid (left to right on even rows,
/// back on odd ones); the test split takes a run of neighbouring blocks on it, the validation
/// split the next run, the training split the rest. Held-out blocks scattered among the others
/// would put nearly every training patch within the buffer of one (on the simulated default
/// area with ground-truth labels, 92 labelled training patches, against 401 with runs); a run
/// of them costs the training split only the patches along its edge. Where the path starts is
/// the one choice left: of the starts tried in a seeded order, the first that keeps the most
/// patches in the split that keeps fewest is taken (on small areas a badly placed validation
/// block can lose every patch).
fn assign_blocks(
    mut blocks: Vec<(usize, usize)>,
    cfg: &PatchConfig,
    width: usize,
    height: usize,
    rng: &mut ChaCha8Rng,
) -> BlockAssignment {
    blocks.sort_by_key(|&(row, col)| (row, if row % 2 == 0 { col } else { usize::MAX - col }));
    let n = blocks.len();
    let n_test = ((n as f64 * cfg.test_fraction).round() as usize).max(1);
    let n_val = ((n as f64 * cfg.val_fraction).round() as usize).max(1);
    let first = rng.random_range(0..n);
    let mut best: Option<((usize, usize), BlockAssignment)> = None;
    for k in 0..n {
        let mut path = blocks.clone();
        path.rotate_left((first + k) % n);
        let block_split: BTreeMap<_, _> = path
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let split = if i < n_test {
                    Split::Test
                } else if i < n_test + n_val {
                    Split::Val
                } else {
                    Split::Train
                };
                (*b, split)
            })
            .collect();
        let (origins, dropped) = buffered_origins(&block_split, cfg, width, height);
        let fewest = Split::ALL
            .iter()
            .map(|split| {
                origins
                    .iter()
                    .filter(|(r0, c0)| block_split[&(r0 / cfg.block, c0 / cfg.block)] == *split)
                    .count()
            })
            .min()
            .unwrap_or(0);
        let score = (fewest, origins.len());
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, (block_split, origins, dropped)));
        }
    }
    best.expect("at least one block").1
}

/// Patch origins that fit inside one block and keep the buffer to blocks of splits of higher
/// priority, with how many were dropped for the buffer.
fn buffered_origins(
    block_split: &BTreeMap<(usize, usize), Split>,
    cfg: &PatchConfig,
    width: usize,
    height: usize,
) -> (Vec<(usize, usize)>, usize) {
    let mut origins = Vec::new();
    let mut dropped_for_buffer = 0;
    for r0 in (0..=height - PATCH).step_by(cfg.stride) {
        for c0 in (0..=width - PATCH).step_by(cfg.stride) {
            let same_block_r = r0 / cfg.block == (r0 + PATCH - 1) / cfg.block;
            let same_block_c = c0 / cfg.block == (c0 + PATCH - 1) / cfg.block;
            if !(same_block_r && same_block_c) {
                continue;
            }
            let Some(&own) = block_split.get(&(r0 / cfg.block, c0 / cfg.block)) else {
                continue;
            };
            let rows = r0.saturating_sub(cfg.buffer) / cfg.block
                ..=((r0 + PATCH + cfg.buffer).min(height) - 1) / cfg.block;
            let cols = c0.saturating_sub(cfg.buffer) / cfg.block
                ..=((c0 + PATCH + cfg.buffer).min(width) - 1) / cfg.block;
            let yields = rows.clone().any(|br| {
                cols.clone().any(|bc| {
                    block_split
                        .get(&(br, bc))
                        .is_some_and(|s| priority(*s) > priority(own))
                })
            });
            if yields {
                dropped_for_buffer += 1;
            } else {
                origins.push((r0, c0));
            }
        }
    }
    (origins, dropped_for_buffer)
}

/// Which split yields when blocks of two splits meet (the lower number drops its patches).
fn priority(split: Split) -> u8 {
    match split {
        Split::Train => 0,
        Split::Val => 1,
        Split::Test => 2,
    }
}

/// Patches of one split in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatchSet {
    /// N x 64 x 64 x 4 reflectance, NHWC; no-data pixels are 0.
    pub x: Vec<f32>,
    /// N class labels.
    pub y: Vec<i64>,
    /// N origins: date index, row, column of the top-left pixel.
    pub origin: Vec<[i64; 3]>,
}

impl PatchSet {
    /// Number of patches.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no patches.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    fn push_from(&mut self, other: &PatchSet, i: usize) {
        let size = PATCH * PATCH * CHANNELS;
        self.x.extend_from_slice(&other.x[i * size..(i + 1) * size]);
        self.y.push(other.y[i]);
        self.origin.push(other.origin[i]);
    }

    /// Patches per class.
    pub fn class_counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for y in &self.y {
            counts[*y as usize] += 1;
        }
        counts
    }
}

/// What a patch dataset holds and how it was made (`cnn_metadata_<tag>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatchMetadata {
    /// `real` or `synthetic`.
    pub tag: String,
    /// Where the scenes came from: `simulated`, `sentinel-hub`, or `synthetic`.
    pub source: String,
    /// Array shapes and dtypes, by file name.
    pub files: BTreeMap<String, String>,
    /// Patch side, pixels.
    pub patch_size: usize,
    /// Channel names.
    pub channels: Vec<String>,
    /// Class names by index.
    pub classes: Vec<String>,
    /// How patches were cut and split.
    pub config: PatchConfig,
    /// The dates used, by date index.
    pub dates: Vec<String>,
    /// Spatial blocks per split, as `row,col` block indices.
    pub blocks: BTreeMap<String, Vec<String>>,
    /// Patches per class and split, before balancing.
    pub counts_before_balancing: BTreeMap<String, [usize; 4]>,
    /// Patches per class and split, as saved.
    pub counts: BTreeMap<String, [usize; 4]>,
    /// Per-channel mean and standard deviation of the (unbalanced) training split.
    pub normalisation: Normalisation,
    /// Patches skipped because their centre or too many pixels were invalid.
    pub skipped_invalid: usize,
    /// Patch positions (per date) left out to keep the buffer between splits.
    #[serde(default)]
    pub dropped_for_buffer: usize,
    /// Dates left out because they failed validation, each with the checks it failed.
    #[serde(default)]
    pub excluded_dates: BTreeMap<String, Vec<String>>,
    /// Where the labels come from: `ndvi` (the NDVI class of the centre pixel, computed from
    /// the patch itself: the CNN learns the NDVI rule) or `observations` (ground truth).
    #[serde(default = "ndvi_labels")]
    pub label_source: String,
    /// The observations behind `observations` labels: the file, or the simulated truth.
    #[serde(default)]
    pub labels_from: Option<String>,
    /// Observations that lie on the scenes' grid.
    #[serde(default)]
    pub observations_on_grid: usize,
    /// Observations that labelled at least one patch.
    #[serde(default)]
    pub observations_used: usize,
    /// Patch positions (per date) left out because no observation covered their centre.
    #[serde(default)]
    pub unlabelled: usize,
    /// How no-data pixels inside a kept patch are filled.
    pub fill_note: String,
}

fn ndvi_labels() -> String {
    LABELS_FROM_NDVI.into()
}

/// [`PatchMetadata::label_source`] of labels computed from the patch's own NDVI.
pub const LABELS_FROM_NDVI: &str = "ndvi";
/// [`PatchMetadata::label_source`] of labels from ground observations.
pub const LABELS_FROM_OBSERVATIONS: &str = "observations";

/// Where the patches' labels come from.
pub enum PatchLabels<'a> {
    /// The NDVI class of the centre pixel, computed from the patch itself: the CNN can only
    /// learn the NDVI rule.
    Ndvi,
    /// Ground observations placed on the scenes' grid.
    Observed {
        /// The observations.
        observations: &'a GridObservations,
        /// Where they come from, for the metadata (a file, or the simulated truth).
        from: String,
    },
}

/// The three splits and their metadata.
pub struct PatchSplits {
    /// Balanced training patches.
    pub train: PatchSet,
    /// Validation patches (natural class distribution).
    pub val: PatchSet,
    /// Held-out test patches (natural class distribution).
    pub test: PatchSet,
    /// Description of the dataset.
    pub metadata: PatchMetadata,
}

impl PatchSplits {
    /// The patches of one split.
    pub fn get(&self, split: Split) -> &PatchSet {
        match split {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// Cuts, labels, splits and balances patches from `scenes` (all on one grid, sorted by date).
pub fn build_patch_splits(
    scenes: &[Scene],
    cfg: &PatchConfig,
    labels: &PatchLabels<'_>,
    tag: &str,
    source: &str,
    cancel: &CancelToken,
    mut progress: impl FnMut(usize, usize),
) -> Result<PatchSplits, DatasetError> {
    let first = scenes.first().ok_or_else(|| {
        DatasetError::NotEnoughData("no usable scenes to cut patches from".into())
    })?;
    let (width, height) = (first.width, first.height);
    if width < PATCH || height < PATCH {
        return Err(DatasetError::NotEnoughData(format!(
            "the scenes are {width} x {height} px; a patch needs at least {PATCH} x {PATCH}"
        )));
    }
    let blocks_x = width.div_ceil(cfg.block);
    let blocks_y = height.div_ceil(cfg.block);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xb10c);
    let mut block_ids: Vec<(usize, usize)> = (0..blocks_y)
        .flat_map(|r| (0..blocks_x).map(move |c| (r, c)))
        .collect();
    // Only blocks that can hold a whole patch take part.
    block_ids
        .retain(|(r, c)| (r * cfg.block + PATCH <= height) && (c * cfg.block + PATCH <= width));
    if block_ids.len() < 3 {
        return Err(DatasetError::NotEnoughData(format!(
            "the area has {} spatial block(s) of {} px that can hold a {PATCH} px patch; at least 3 are needed (one each for train, validation and test): use a larger area",
            block_ids.len(),
            cfg.block
        )));
    }
    let (block_split, origins, dropped_for_buffer) =
        assign_blocks(block_ids, cfg, width, height, &mut rng);

    let mut by_split: BTreeMap<Split, PatchSet> = Split::ALL
        .iter()
        .map(|s| (*s, PatchSet::default()))
        .collect();
    // Room for every candidate patch up front: growing the arrays by doubling would copy tens
    // of megabytes over and over (untouched capacity costs no memory).
    for (split, set) in by_split.iter_mut() {
        let candidates = scenes.len()
            * origins
                .iter()
                .filter(|(r0, c0)| block_split[&(r0 / cfg.block, c0 / cfg.block)] == *split)
                .count();
        set.x.reserve(candidates * PATCH * PATCH * CHANNELS);
        set.y.reserve(candidates);
        set.origin.reserve(candidates);
    }
    let mut skipped = 0;
    let mut unlabelled = 0;
    let mut used = std::collections::BTreeSet::new();
    for (d, scene) in scenes.iter().enumerate() {
        if cancel.is_cancelled() {
            return Err(DatasetError::Cancelled);
        }
        if scene.width != width || scene.height != height {
            return Err(DatasetError::NotEnoughData(format!(
                "scene {} is {}x{} but the first scene is {width}x{height}: all dates must share one grid",
                scene.date, scene.width, scene.height
            )));
        }
        let valid = scene.valid_mask();
        let observed = match labels {
            PatchLabels::Observed { observations, .. } => Some(observations.for_date(scene.date)),
            PatchLabels::Ndvi => None,
        };
        // Only NDVI is needed, and only for NDVI labels.
        let ndvi = match observed {
            None => indices::ndvi_interleaved(&scene.bands, &valid),
            Some(_) => Vec::new(),
        };
        for &(r0, c0) in &origins {
            let (row, col) = (r0 + PATCH / 2, c0 + PATCH / 2);
            let centre = row * width + col;
            let label = match &observed {
                _ if !valid[centre] => None,
                None => class_of(ndvi[centre]),
                Some(observed) => match observed.class_at(row, col) {
                    Some((class, observation)) => {
                        used.insert(observation);
                        Some(i64::from(class))
                    }
                    None => {
                        unlabelled += 1;
                        continue;
                    }
                },
            };
            let invalid = (r0..r0 + PATCH)
                .map(|r| {
                    valid[r * width + c0..r * width + c0 + PATCH]
                        .iter()
                        .filter(|v| !**v)
                        .count()
                })
                .sum::<usize>();
            let Some(label) = label
                .filter(|_| invalid as f64 <= cfg.max_invalid_fraction * (PATCH * PATCH) as f64)
            else {
                skipped += 1;
                continue;
            };
            let split = block_split[&(r0 / cfg.block, c0 / cfg.block)];
            let set = by_split.get_mut(&split).expect("every split has a set");
            for r in r0..r0 + PATCH {
                let row =
                    &scene.bands[(r * width + c0) * CHANNELS..(r * width + c0 + PATCH) * CHANNELS];
                set.x
                    .extend(row.iter().map(|v| if v.is_finite() { *v } else { 0.0 }));
            }
            set.y.push(label);
            set.origin.push([d as i64, r0 as i64, c0 as i64]);
        }
        progress(d + 1, scenes.len());
    }

    let train_raw = by_split.remove(&Split::Train).unwrap_or_default();
    let val = by_split.remove(&Split::Val).unwrap_or_default();
    let test = by_split.remove(&Split::Test).unwrap_or_default();
    for (name, set) in [
        ("training", &train_raw),
        ("validation", &val),
        ("test", &test),
    ] {
        if set.is_empty() {
            return Err(DatasetError::NotEnoughData(format!(
                "the {name} split has no usable patch ({skipped} patches skipped for clouds or missing data, {unlabelled} without an observation at their centre): use more dates, a larger area or more observations"
            )));
        }
    }
    let normalisation = Normalisation::fit(&train_raw.x, CHANNELS);
    let train = balance(&train_raw, cfg.samples_per_class, &mut rng);

    let mut counts_before = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for (split, raw, saved) in [
        (Split::Train, &train_raw, &train),
        (Split::Val, &val, &val),
        (Split::Test, &test, &test),
    ] {
        counts_before.insert(split.as_str().to_string(), raw.class_counts());
        counts.insert(split.as_str().to_string(), saved.class_counts());
    }
    let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((r, c), split) in &block_split {
        blocks
            .entry(split.as_str().to_string())
            .or_default()
            .push(format!("{r},{c}"));
    }
    let mut files = BTreeMap::new();
    for split in Split::ALL {
        let s = split.as_str();
        files.insert(
            format!("cnn_X_{s}_{tag}.npy"),
            format!("float32 (N, {PATCH}, {PATCH}, {CHANNELS})"),
        );
        files.insert(format!("cnn_y_{s}_{tag}.npy"), "int64 (N,)".into());
        files.insert(
            format!("cnn_origin_{s}_{tag}.npy"),
            "int64 (N, 3): date index, row, col".into(),
        );
    }
    let metadata = PatchMetadata {
        tag: tag.into(),
        source: source.into(),
        files,
        patch_size: PATCH,
        channels: ["B02", "B03", "B04", "B08"].map(String::from).to_vec(),
        classes: CLASS_NAMES.map(String::from).to_vec(),
        config: cfg.clone(),
        dates: scenes.iter().map(|s| s.date.to_string()).collect(),
        blocks,
        counts_before_balancing: counts_before,
        counts,
        normalisation,
        skipped_invalid: skipped,
        dropped_for_buffer,
        excluded_dates: BTreeMap::new(),
        label_source: match labels {
            PatchLabels::Ndvi => LABELS_FROM_NDVI.into(),
            PatchLabels::Observed { .. } => LABELS_FROM_OBSERVATIONS.into(),
        },
        labels_from: match labels {
            PatchLabels::Ndvi => None,
            PatchLabels::Observed { from, .. } => Some(from.clone()),
        },
        observations_on_grid: match labels {
            PatchLabels::Ndvi => 0,
            PatchLabels::Observed { observations, .. } => observations.len(),
        },
        observations_used: used.len(),
        unlabelled,
        fill_note: "no-data pixels (NaN reflectance) inside a kept patch are stored as 0".into(),
    };
    Ok(PatchSplits {
        train,
        val,
        test,
        metadata,
    })
}

/// Balances a training split to `per_class` patches per class: classes with more are
/// subsampled, classes with fewer are kept whole and oversampled with replacement.
fn balance(set: &PatchSet, per_class: usize, rng: &mut ChaCha8Rng) -> PatchSet {
    let mut out = PatchSet::default();
    let mut order = Vec::new();
    for class in 0..4 {
        let mut members: Vec<usize> = (0..set.len()).filter(|i| set.y[*i] == class).collect();
        if members.is_empty() {
            continue;
        }
        members.shuffle(rng);
        if members.len() >= per_class {
            members.truncate(per_class);
        } else {
            let originals = members.len();
            while members.len() < per_class {
                members.push(members[rng.random_range(0..originals)]);
            }
        }
        order.extend(members);
    }
    order.shuffle(rng);
    out.x.reserve_exact(order.len() * PATCH * PATCH * CHANNELS);
    out.y.reserve_exact(order.len());
    out.origin.reserve_exact(order.len());
    for i in order {
        out.push_from(set, i);
    }
    out
}

/// Writes the three splits and the metadata into `dir` (`cnn_X_train_real.npy`, …).
pub fn save_patch_splits(dir: &Path, splits: &PatchSplits) -> Result<(), DatasetError> {
    std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let tag = &splits.metadata.tag;
    for split in Split::ALL {
        let set = splits.get(split);
        let arrays = SplitArrays {
            x: &set.x,
            sample_shape: &[PATCH, PATCH, CHANNELS],
            y: &set.y,
            origin: set.origin.iter().flatten().copied().collect(),
            origin_width: 3,
        };
        save_split(dir, "cnn", split, tag, arrays)?;
    }
    save_metadata(dir, "cnn", tag, &splits.metadata)
}

/// Reads one split written by [`save_patch_splits`], checking shapes agree.
pub fn load_patch_set(dir: &Path, split: Split, tag: &str) -> Result<PatchSet, DatasetError> {
    let s = split.as_str();
    let x_path = dir.join(format!("cnn_X_{s}_{tag}.npy"));
    let (x_shape, x) = read_npy::<f32>(&x_path)?;
    let (y_shape, y) = read_npy::<i64>(&dir.join(format!("cnn_y_{s}_{tag}.npy")))?;
    let (_, origin) = read_npy::<i64>(&dir.join(format!("cnn_origin_{s}_{tag}.npy")))?;
    if x_shape.len() != 4
        || x_shape[1..] != [PATCH, PATCH, CHANNELS]
        || y_shape != [x_shape[0]]
        || origin.len() != 3 * x_shape[0]
    {
        return Err(DatasetError::BadMetadata {
            path: x_path,
            message: format!(
                "shape {x_shape:?} with labels {y_shape:?} is not (N, {PATCH}, {PATCH}, {CHANNELS}) with (N,)"
            ),
        });
    }
    if let Some(bad) = y.iter().find(|c| !(0..4).contains(*c)) {
        return Err(DatasetError::BadMetadata {
            path: x_path,
            message: format!("label {bad} is not a class 0..3"),
        });
    }
    Ok(PatchSet {
        x,
        y,
        origin: origin.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
    })
}

/// Reads `cnn_metadata_<tag>.json`.
pub fn load_patch_metadata(dir: &Path, tag: &str) -> Result<PatchMetadata, DatasetError> {
    super::read_metadata(dir.join(format!("cnn_metadata_{tag}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::geotiff::{Crs, GeoTransform};
    use chrono::NaiveDate;

    /// A scene whose NDVI rises from left to right, so every class is present.
    fn gradient_scene(width: usize, height: usize, day: u32) -> Scene {
        let mut bands = Vec::with_capacity(width * height * 4);
        for _ in 0..height {
            for c in 0..width {
                let ndvi = -0.1 + 0.95 * c as f32 / width as f32;
                let red = 0.05f32;
                bands.extend([0.04, 0.06, red, red * (1.0 + ndvi) / (1.0 - ndvi)]);
            }
        }
        Scene {
            date: NaiveDate::from_ymd_opt(2025, 1, day).unwrap(),
            width,
            height,
            transform: GeoTransform {
                origin_x: 0.0,
                origin_y: 0.0,
                pixel_width: 1.0,
                pixel_height: 1.0,
            },
            crs: Crs { epsg: 4326 },
            bands,
            scl: vec![4; width * height],
            data_mask: vec![1; width * height],
            cloud_cover: 0.0,
        }
    }

    fn build(scenes: &[Scene], per_class: usize) -> Result<PatchSplits, DatasetError> {
        build_patch_splits(
            scenes,
            &PatchConfig::new(per_class, 7),
            &PatchLabels::Ndvi,
            "real",
            "simulated",
            &CancelToken::new(),
            |_, _| {},
        )
    }

    #[test]
    fn balances_only_the_training_split() {
        // No buffer between splits here (it has its own test), so that every class of the
        // gradient has raw training patches: each must reach exactly 50, none may stay at 0.
        let scenes: Vec<_> = (1..4).map(|d| gradient_scene(768, 512, d)).collect();
        let cfg = PatchConfig {
            buffer: 0,
            ..PatchConfig::new(50, 7)
        };
        let splits = build_patch_splits(
            &scenes,
            &cfg,
            &PatchLabels::Ndvi,
            "real",
            "simulated",
            &CancelToken::new(),
            |_, _| {},
        )
        .unwrap();
        let raw = splits.metadata.counts_before_balancing["train"];
        assert!(raw.iter().all(|n| *n > 0), "{raw:?}");
        assert_eq!(splits.train.class_counts(), [50; 4], "{raw:?}");
        assert_eq!(
            splits.metadata.counts_before_balancing["val"],
            splits.val.class_counts()
        );
        assert_eq!(
            splits.metadata.counts_before_balancing["test"],
            splits.test.class_counts()
        );
    }

    #[test]
    fn oversampled_copies_stay_inside_train() {
        let scenes = vec![gradient_scene(512, 384, 1)];
        let splits = build(&scenes, 200).unwrap();
        let train: std::collections::BTreeSet<_> = splits.train.origin.iter().collect();
        for other in splits.val.origin.iter().chain(&splits.test.origin) {
            assert!(
                !train.contains(other),
                "{other:?} is in train and in a held-out split"
            );
        }
    }

    #[test]
    fn patches_of_different_splits_are_a_patch_width_apart() {
        let scenes = vec![gradient_scene(640, 640, 1)];
        let splits = build(&scenes, 10).unwrap();
        assert!(splits.metadata.dropped_for_buffer > 0);
        let sets = [&splits.train, &splits.val, &splits.test];
        for (i, a) in sets.iter().enumerate() {
            for b in sets.iter().skip(i + 1) {
                for p in &a.origin {
                    for q in &b.origin {
                        // Gap between the two 64-px squares along the nearer axis.
                        let gap_r = (p[1] - q[1]).abs() - PATCH as i64;
                        let gap_c = (p[2] - q[2]).abs() - PATCH as i64;
                        assert!(
                            gap_r.max(gap_c) >= PATCH as i64,
                            "{p:?} and {q:?} are closer than a patch width"
                        );
                    }
                }
            }
        }
        // 25 blocks: a quarter of them (6) are test blocks.
        assert_eq!(splits.metadata.blocks["test"].len(), 6);
    }

    #[test]
    fn invalid_centre_pixels_are_never_labelled() {
        let mut scene = gradient_scene(384, 384, 1);
        for p in scene.scl.iter_mut() {
            *p = 9; // all cloud
        }
        let err = build(&[scene], 10)
            .err()
            .expect("nothing usable")
            .to_string();
        assert!(err.contains("no usable patch"), "{err}");
    }

    #[test]
    fn rejects_an_area_with_too_few_blocks() {
        let err = build(&[gradient_scene(128, 128, 1)], 10)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("at least 3 are needed"), "{err}");
    }

    #[test]
    fn same_seed_gives_same_splits() {
        let scenes: Vec<_> = (1..3).map(|d| gradient_scene(512, 384, d)).collect();
        let (a, b) = (build(&scenes, 20).unwrap(), build(&scenes, 20).unwrap());
        assert_eq!(a.train, b.train);
        assert_eq!(a.test, b.test);
    }
}
