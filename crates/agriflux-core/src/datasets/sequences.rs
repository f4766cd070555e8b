//! LSTM training sequences: the mean NDVI of 32 x 32 blocks over consecutive dates, with the
//! days to the next date as a second feature, and the next date's mean NDVI as the target.
//!
//! Windows are split by TIME (by the date of their target): train on earlier targets,
//! validate and test on later ones, never at random over overlapping windows.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::npy::read_npy;
use super::{DatasetError, Split, SplitArrays, save_metadata, save_split};
use crate::ml::Normalisation;
use crate::pipeline::CancelToken;
use crate::raster::indices;
use crate::raster::scene::Scene;

/// Side of an NDVI block, pixels.
pub const BLOCK: usize = 32;
/// Features per time step: mean NDVI, and days to the next date divided by [`GAP_SCALE_DAYS`].
pub const FEATURES: usize = 2;
/// Scale of the gap feature (days).
pub const GAP_SCALE_DAYS: f64 = 30.0;
/// Target dates the test split gets when the series is long enough.
pub const MIN_TEST_DATES: usize = 4;
/// Smallest fraction of valid pixels for a block's mean to count on a date.
pub const MIN_BLOCK_VALID: f64 = 0.5;

/// Sequences of one split in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SequenceSet {
    /// N x L x 2 features.
    pub x: Vec<f32>,
    /// N next-date NDVI targets.
    pub y: Vec<f32>,
    /// N origins: block index and the target's date index.
    pub origin: Vec<[i64; 2]>,
}

impl SequenceSet {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The persistence forecast of each sequence: its last NDVI value.
    pub fn persistence(&self, seq_len: usize) -> Vec<f32> {
        self.x
            .chunks_exact(seq_len * FEATURES)
            .map(|s| s[(seq_len - 1) * FEATURES])
            .collect()
    }
}

/// What a sequence dataset holds and how it was made (`lstm_metadata_<tag>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceMetadata {
    /// `real` or `synthetic`.
    pub tag: String,
    /// `simulated`, `sentinel-hub` or `synthetic`.
    pub source: String,
    /// Array shapes and dtypes, by file name.
    pub files: BTreeMap<String, String>,
    /// Dates per input sequence.
    pub sequence_length: usize,
    /// Feature names per time step.
    pub features: Vec<String>,
    /// Block side, pixels.
    pub block_size: usize,
    /// The dates, by date index.
    pub dates: Vec<NaiveDate>,
    /// Days between consecutive dates (the gaps the original ignored).
    pub gaps_days: Vec<i64>,
    /// Blocks per row of the grid (block `b` lies at row `b / blocks_per_row`, column
    /// `b % blocks_per_row`); 0 in datasets written before it was recorded.
    #[serde(default)]
    pub blocks_per_row: usize,
    /// Target dates of each split.
    pub target_dates: BTreeMap<String, Vec<NaiveDate>>,
    /// Sequences per split.
    pub counts: BTreeMap<String, usize>,
    /// Dates left out because they failed validation, each with the checks it failed.
    #[serde(default)]
    pub excluded_dates: BTreeMap<String, Vec<String>>,
    /// Windows dropped because a block had too few valid pixels on one of its dates.
    pub dropped_invalid: usize,
    /// Per-feature mean and standard deviation of the training split.
    pub normalisation: Normalisation,
}

/// The three splits and their metadata.
pub struct SequenceSplits {
    /// Earliest targets.
    pub train: SequenceSet,
    /// Later targets.
    pub val: SequenceSet,
    /// Latest targets, held out.
    pub test: SequenceSet,
    /// Description of the dataset.
    pub metadata: SequenceMetadata,
}

impl SequenceSplits {
    /// The sequences of one split.
    pub fn get(&self, split: Split) -> &SequenceSet {
        match split {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// Mean NDVI per block per date; NaN where the block has too few valid pixels.
pub(crate) fn block_means(scene: &Scene) -> Vec<f32> {
    let ndvi = &indices::ndvi_interleaved(&scene.bands, &scene.valid_mask());
    let (bx, by) = (scene.width / BLOCK, scene.height / BLOCK);
    let mut means = Vec::with_capacity(bx * by);
    for br in 0..by {
        for bc in 0..bx {
            let (mut sum, mut count) = (0.0f64, 0usize);
            for r in br * BLOCK..(br + 1) * BLOCK {
                for v in &ndvi[r * scene.width + bc * BLOCK..r * scene.width + (bc + 1) * BLOCK] {
                    if v.is_finite() {
                        sum += *v as f64;
                        count += 1;
                    }
                }
            }
            means.push(
                if count as f64 >= MIN_BLOCK_VALID * (BLOCK * BLOCK) as f64 {
                    (sum / count as f64) as f32
                } else {
                    f32::NAN
                },
            );
        }
    }
    means
}

/// Builds time-split sequences of `seq_len` dates from `scenes` (one grid, sorted by date).
pub fn build_sequence_splits(
    scenes: &[Scene],
    seq_len: usize,
    tag: &str,
    source: &str,
    cancel: &CancelToken,
) -> Result<SequenceSplits, DatasetError> {
    let t = scenes.len();
    if t < seq_len + 3 {
        return Err(DatasetError::NotEnoughData(format!(
            "{t} usable dates; sequences of {seq_len} dates need at least {} (one target date each for train, validation and test): lower --sequence-length or add dates",
            seq_len + 3
        )));
    }
    let mut means = Vec::with_capacity(t);
    for scene in scenes {
        if cancel.is_cancelled() {
            return Err(DatasetError::Cancelled);
        }
        means.push(block_means(scene));
    }
    let blocks = means[0].len();
    if blocks == 0 {
        return Err(DatasetError::NotEnoughData(format!(
            "the scenes are smaller than one {BLOCK} x {BLOCK} block"
        )));
    }
    let dates: Vec<NaiveDate> = scenes.iter().map(|s| s.date).collect();
    let gaps: Vec<i64> = dates.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();

    // Targets are date indices seq_len..t; the latest go to test, then validation.
    let targets: Vec<usize> = (seq_len..t).collect();
    let n_targets = targets.len();
    // At least MIN_TEST_DATES target dates in test when the series allows it (one date is
    // too few to say anything about the forecast's uncertainty), leaving one each for
    // validation and training.
    let n_test = ((n_targets as f64 * 0.2).round() as usize)
        .max(MIN_TEST_DATES)
        .min(n_targets - 2)
        .max(1);
    let n_val = ((n_targets as f64 * 0.15).round() as usize)
        .max(1)
        .min(n_targets - n_test - 1);
    let split_of = |target: usize| {
        let rank = target - seq_len;
        if rank >= n_targets - n_test {
            Split::Test
        } else if rank >= n_targets - n_test - n_val {
            Split::Val
        } else {
            Split::Train
        }
    };

    let mut sets: BTreeMap<Split, SequenceSet> = Split::ALL
        .iter()
        .map(|s| (*s, SequenceSet::default()))
        .collect();
    let mut dropped = 0;
    for &target in &targets {
        let start = target - seq_len;
        let set = sets
            .get_mut(&split_of(target))
            .expect("every split has a set");
        for b in 0..blocks {
            let values: Vec<f32> = means[start..=target].iter().map(|m| m[b]).collect();
            if values.iter().any(|v| !v.is_finite()) {
                dropped += 1;
                continue;
            }
            for (k, d) in (start..target).enumerate() {
                set.x.push(values[k]);
                set.x.push((gaps[d] as f64 / GAP_SCALE_DAYS) as f32);
            }
            set.y.push(values[seq_len]);
            set.origin.push([b as i64, target as i64]);
        }
    }
    let train = sets.remove(&Split::Train).unwrap_or_default();
    let val = sets.remove(&Split::Val).unwrap_or_default();
    let test = sets.remove(&Split::Test).unwrap_or_default();
    for (name, set) in [("training", &train), ("validation", &val), ("test", &test)] {
        if set.is_empty() {
            return Err(DatasetError::NotEnoughData(format!(
                "the {name} split has no complete sequence ({dropped} windows dropped for clouds or missing data)"
            )));
        }
    }
    let mut target_dates: BTreeMap<String, Vec<NaiveDate>> = BTreeMap::new();
    for &target in &targets {
        target_dates
            .entry(split_of(target).as_str().into())
            .or_default()
            .push(dates[target]);
    }
    let mut files = BTreeMap::new();
    for split in Split::ALL {
        let s = split.as_str();
        files.insert(
            format!("lstm_X_{s}_{tag}.npy"),
            format!("float32 (N, {seq_len}, {FEATURES}): mean NDVI, days to next date / 30"),
        );
        files.insert(
            format!("lstm_y_{s}_{tag}.npy"),
            "float32 (N,): mean NDVI on the next date".into(),
        );
        files.insert(
            format!("lstm_origin_{s}_{tag}.npy"),
            "int64 (N, 2): block index, target date index".into(),
        );
    }
    let metadata = SequenceMetadata {
        tag: tag.into(),
        source: source.into(),
        files,
        sequence_length: seq_len,
        features: vec!["mean_ndvi".into(), "days_to_next_date/30".into()],
        block_size: BLOCK,
        blocks_per_row: scenes[0].width / BLOCK,
        dates,
        gaps_days: gaps,
        target_dates,
        counts: [
            ("train", train.len()),
            ("val", val.len()),
            ("test", test.len()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        dropped_invalid: dropped,
        excluded_dates: BTreeMap::new(),
        normalisation: Normalisation::fit(&train.x, FEATURES),
    };
    Ok(SequenceSplits {
        train,
        val,
        test,
        metadata,
    })
}

/// Writes the three splits and the metadata into `dir` (`lstm_X_train_real.npy`, …).
pub fn save_sequence_splits(dir: &Path, splits: &SequenceSplits) -> Result<(), DatasetError> {
    std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let tag = &splits.metadata.tag;
    let l = splits.metadata.sequence_length;
    for split in Split::ALL {
        let set = splits.get(split);
        let arrays = SplitArrays {
            x: &set.x,
            sample_shape: &[l, FEATURES],
            y: &set.y,
            origin: set.origin.iter().flatten().copied().collect(),
            origin_width: 2,
        };
        save_split(dir, "lstm", split, tag, arrays)?;
    }
    save_metadata(dir, "lstm", tag, &splits.metadata)
}

/// Reads one split written by [`save_sequence_splits`], checking shapes agree.
pub fn load_sequence_set(
    dir: &Path,
    split: Split,
    tag: &str,
    seq_len: usize,
) -> Result<SequenceSet, DatasetError> {
    let s = split.as_str();
    let x_path = dir.join(format!("lstm_X_{s}_{tag}.npy"));
    let (x_shape, x) = read_npy::<f32>(&x_path)?;
    let (y_shape, y) = read_npy::<f32>(&dir.join(format!("lstm_y_{s}_{tag}.npy")))?;
    let (_, origin) = read_npy::<i64>(&dir.join(format!("lstm_origin_{s}_{tag}.npy")))?;
    if x_shape.len() != 3
        || x_shape[1..] != [seq_len, FEATURES]
        || y_shape != [x_shape[0]]
        || origin.len() != 2 * x_shape[0]
    {
        return Err(DatasetError::BadMetadata {
            path: x_path,
            message: format!(
                "shape {x_shape:?} with targets {y_shape:?} is not (N, {seq_len}, {FEATURES}) with (N,)"
            ),
        });
    }
    Ok(SequenceSet {
        x,
        y,
        origin: origin.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
    })
}

/// Reads `lstm_metadata_<tag>.json`.
pub fn load_sequence_metadata(dir: &Path, tag: &str) -> Result<SequenceMetadata, DatasetError> {
    super::read_metadata(dir.join(format!("lstm_metadata_{tag}.json")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::geotiff::{Crs, GeoTransform};

    fn flat_scene(day: u32, ndvi: f32, cloudy_rows: usize) -> Scene {
        let (width, height) = (64, 64);
        let red = 0.05f32;
        let bands = (0..width * height)
            .flat_map(|_| [0.04, 0.06, red, red * (1.0 + ndvi) / (1.0 - ndvi)])
            .collect();
        let mut scl = vec![4u8; width * height];
        for p in scl.iter_mut().take(cloudy_rows * width) {
            *p = 9;
        }
        Scene {
            date: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(day as u64),
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
            scl,
            data_mask: vec![1; width * height],
            cloud_cover: 0.0,
        }
    }

    #[test]
    fn splits_windows_by_time_and_records_gaps() {
        let scenes: Vec<_> = (0..12)
            .map(|i| flat_scene(i * 5 + (i % 3), 0.2 + 0.05 * i as f32, 0))
            .collect();
        let s =
            build_sequence_splits(&scenes, 4, "real", "simulated", &CancelToken::new()).unwrap();
        let max = |set: &SequenceSet| set.origin.iter().map(|o| o[1]).max().unwrap();
        let min = |set: &SequenceSet| set.origin.iter().map(|o| o[1]).min().unwrap();
        assert!(max(&s.train) < min(&s.val) && max(&s.val) < min(&s.test));
        assert_eq!(s.metadata.gaps_days.len(), 11);
        assert!(
            s.metadata.gaps_days.iter().any(|g| *g != 5),
            "uneven gaps are recorded"
        );
        // The persistence forecast is the last NDVI of the window.
        let last = s.test.persistence(4)[0];
        assert!((last - (0.2 + 0.05 * (s.test.origin[0][1] - 1) as f32)).abs() < 1e-4);
    }

    #[test]
    fn drops_windows_whose_block_is_clouded() {
        let mut scenes: Vec<_> = (0..10).map(|i| flat_scene(i * 5, 0.5, 0)).collect();
        scenes[6] = flat_scene(30, 0.5, 32); // the top row of blocks is cloudy on one date
        let s =
            build_sequence_splits(&scenes, 3, "real", "simulated", &CancelToken::new()).unwrap();
        assert!(s.metadata.dropped_invalid > 0);
        assert!(s.train.x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn too_few_dates_is_a_clear_error() {
        let scenes: Vec<_> = (0..5).map(|i| flat_scene(i * 5, 0.5, 0)).collect();
        let err = build_sequence_splits(&scenes, 10, "real", "simulated", &CancelToken::new())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("5 usable dates") && err.contains("--sequence-length"),
            "{err}"
        );
    }
}
