//! Saving and loading models: burnpack weights plus a JSON sidecar, written atomically.
//!
//! `save(path)` writes the weights to `path` exactly as given (burn's burnpack format, full
//! precision; `.bpk` is burn's customary extension but any name works) and the sidecar to
//! `path.with_extension("json")`. Each file is written under a temporary name in the same
//! folder and then renamed over the target. The weights go first; the sidecar records their
//! SHA-256, so a weights file that does not belong to its sidecar is reported, never loaded.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{MODEL_FORMAT_VERSION, MlError, Normalisation, TrainConfig};

/// Name of the weights format recorded in sidecars.
const WEIGHTS_FORMAT: &str = "burnpack";

/// burn release line that writes the weights.
const BURN_VERSION: &str = "0.22";

/// The JSON sidecar written next to a model's weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Sidecar<A> {
    /// Model kind: "agriflux-cnn" or "agriflux-lstm".
    pub format: String,
    /// [`MODEL_FORMAT_VERSION`] at save time.
    pub format_version: u32,
    /// Weights encoding.
    pub weights_format: String,
    /// File name of the weights (same folder as the sidecar).
    pub weights_file: String,
    /// SHA-256 of the weights file, lowercase hex.
    pub weights_sha256: String,
    /// burn version that wrote the weights.
    pub burn_version: String,
    /// Architecture the weights belong to.
    pub architecture: A,
    /// Input normalisation fitted on the training split.
    pub normalisation: Normalisation,
    /// Hyper-parameters of the training run, when the model was trained here.
    pub train_config: Option<TrainConfig>,
    /// 1-based epoch whose weights were kept.
    pub best_epoch: usize,
    /// Trainable parameter count.
    pub num_params: usize,
}

/// Path of the sidecar belonging to weights at `path`.
pub(crate) fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> MlError + '_ {
    move |source| MlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `bytes` to `path` atomically.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MlError> {
    agriflux_base::atomic_file::write(path, bytes).map_err(io_err(path))
}

impl<A> Sidecar<A> {
    /// A sidecar for a model of kind `format`; the weights fields are filled in by [`save`].
    pub(crate) fn new(
        format: &str,
        architecture: A,
        normalisation: &Normalisation,
        train_config: Option<&TrainConfig>,
        best_epoch: usize,
        num_params: usize,
    ) -> Self {
        Self {
            format: format.to_owned(),
            format_version: MODEL_FORMAT_VERSION,
            weights_format: WEIGHTS_FORMAT.to_owned(),
            weights_file: String::new(),
            weights_sha256: String::new(),
            burn_version: BURN_VERSION.to_owned(),
            architecture,
            normalisation: normalisation.clone(),
            train_config: train_config.cloned(),
            best_epoch,
            num_params,
        }
    }
}

/// Saves `net` (weights, batch-norm running statistics included) to `path` and `sidecar`
/// next to it.
pub(crate) fn save<M: Module, A: Serialize>(
    net: &M,
    path: &Path,
    mut sidecar: Sidecar<A>,
) -> Result<(), MlError> {
    let bytes = net
        .clone()
        .map(&mut NumberedParams::default())
        .into_record()
        .into_bytes()
        .map_err(|e| MlError::Backend(format!("cannot serialise the weights: {e}")))?;
    let bytes: &[u8] = &bytes;
    sidecar.weights_file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    sidecar.weights_sha256 = sha256_hex(bytes);
    let json = serde_json::to_vec_pretty(&sidecar)
        .map_err(|e| MlError::Backend(format!("cannot serialise the sidecar: {e}")))?;
    write_atomic(path, bytes)?;
    write_atomic(&sidecar_path(path), &json)
}

/// Gives parameters ids by their order in the module instead of burn's random ones, which
/// would otherwise make two trainings with the same seed save the same weights in files that
/// differ (the ids are in the record).
#[derive(Default)]
struct NumberedParams {
    next: u64,
}

impl NumberedParams {
    fn id(&mut self) -> burn::module::ParamId {
        self.next += 1;
        burn::module::ParamId::from(self.next)
    }
}

impl burn::module::ModuleMapper for NumberedParams {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D>> {
        let id = self.id();
        burn::module::Param::initialized(id, param.into_value())
    }

    fn map_int<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D, burn::tensor::Int>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D, burn::tensor::Int>> {
        let id = self.id();
        burn::module::Param::initialized(id, param.into_value())
    }

    fn map_bool<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<D, burn::tensor::Bool>>,
    ) -> burn::module::Param<burn::tensor::Tensor<D, burn::tensor::Bool>> {
        let id = self.id();
        burn::module::Param::initialized(id, param.into_value())
    }
}

/// Reads and checks the sidecar of `path`, then the weights record it vouches for.
pub(crate) fn load<A: DeserializeOwned>(
    path: &Path,
    format: &str,
) -> Result<(Sidecar<A>, ModuleRecord), MlError> {
    let side_path = sidecar_path(path);
    let json = fs::read(&side_path).map_err(io_err(&side_path))?;
    // Check the kind and version before the architecture, whose shape depends on them.
    let header: serde_json::Value =
        serde_json::from_slice(&json).map_err(|e| MlError::CorruptModel {
            path: side_path.clone(),
            reason: format!("sidecar is not valid JSON: {e}"),
        })?;
    let found = header.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if found != format {
        return Err(MlError::IncompatibleModel {
            path: side_path,
            reason: format!("expected a '{format}' model, found '{found}'"),
        });
    }
    let version = header.get("format_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(MODEL_FORMAT_VERSION)) {
        return Err(MlError::IncompatibleModel {
            path: side_path,
            reason: format!(
                "format version {version:?}, this build reads version {MODEL_FORMAT_VERSION}"
            ),
        });
    }
    let sidecar: Sidecar<A> =
        serde_json::from_value(header).map_err(|e| MlError::IncompatibleModel {
            path: side_path.clone(),
            reason: format!("unexpected sidecar contents: {e}"),
        })?;
    if sidecar.weights_format != WEIGHTS_FORMAT {
        return Err(MlError::IncompatibleModel {
            path: side_path,
            reason: format!("weights format '{}'", sidecar.weights_format),
        });
    }
    let bytes = fs::read(path).map_err(io_err(path))?;
    let digest = sha256_hex(&bytes);
    if digest != sidecar.weights_sha256 {
        return Err(MlError::CorruptModel {
            path: path.to_path_buf(),
            reason: format!(
                "SHA-256 {digest} does not match {} recorded in {} (damaged, or not the weights this sidecar was saved with)",
                sidecar.weights_sha256,
                side_path.display()
            ),
        });
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
        MlError::CorruptModel {
            path: path.to_path_buf(),
            reason: format!("unreadable weights: {e}"),
        }
    })?;
    Ok((sidecar, record))
}

/// [`load`], then `check` on the architecture and the normalisation (a model of the right
/// format whose shape this build cannot use), its complaint reported as an incompatible model.
pub(crate) fn load_checked<A: DeserializeOwned>(
    path: &Path,
    format: &str,
    check: impl FnOnce(&A, &Normalisation) -> Result<(), String>,
) -> Result<(Sidecar<A>, ModuleRecord), MlError> {
    let (sidecar, record) = load::<A>(path, format)?;
    check(&sidecar.architecture, &sidecar.normalisation).map_err(|reason| {
        MlError::IncompatibleModel {
            path: sidecar_path(path),
            reason,
        }
    })?;
    Ok((sidecar, record))
}

/// Applies `record` to `net`, reporting a mismatch as an incompatible model.
pub(crate) fn apply<M: Module>(net: M, record: ModuleRecord, path: &Path) -> Result<M, MlError> {
    net.try_load_record(record)
        .map_err(|e| MlError::IncompatibleModel {
            path: path.to_path_buf(),
            reason: format!("weights do not fit the architecture: {e}"),
        })
}
