//! Step 2: check every scene and the set of dates; write `logs/validation_report_<ts>.json`.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::Local;
use serde::Serialize;
use serde_json::{Value, json};

use super::UsesSettings;
use crate::atomic_file;
use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir,
};
use crate::raster::geotiff::{RasterData, read_geotiff};
use crate::raster::scene::{Scene, list_scene_dirs, read_metadata, read_scene, verify_checksums};
use crate::settings::Settings;

/// Validates the downloaded scenes.
pub struct ValidateStep;

/// One check's result, as in the original's report.
#[derive(Clone, Debug, Serialize)]
struct Check {
    check_name: &'static str,
    passed: bool,
    message: String,
    details: Value,
}

impl Check {
    fn new(
        check_name: &'static str,
        passed: bool,
        message: impl Into<String>,
        details: Value,
    ) -> Self {
        Self {
            check_name,
            passed,
            message: message.into(),
            details,
        }
    }
}

/// All checks of one date.
#[derive(Clone, Debug, Serialize)]
struct DateValidation {
    date: String,
    passed: bool,
    checks: Vec<Check>,
}

/// Plausible surface reflectance, with room for bright clouds and small negative offsets.
const REFLECTANCE_RANGE: (f32, f32) = (-0.01, 1.5);
/// Largest fraction of valid pixels allowed outside an index's range.
const INDEX_OUTLIER_TOLERANCE: f64 = 0.005;

fn check_date(dir: &Path, min_valid_fraction: f64) -> (DateValidation, Option<Scene>) {
    let date = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut checks = Vec::new();
    let integrity = read_metadata(dir).and_then(|m| verify_checksums(dir, &m).map(|_| m));
    checks.push(match &integrity {
        Ok(m) => Check::new(
            "files_and_checksums",
            true,
            "all files present and matching their checksums",
            json!(m.checksums),
        ),
        Err(e) => Check::new("files_and_checksums", false, e.to_string(), Value::Null),
    });
    let scene = match integrity.and_then(|_| read_scene(dir)) {
        Ok((scene, _)) => {
            checks.push(Check::new(
                "bands_readable",
                true,
                format!("4 bands and 2 masks, {} x {} px", scene.width, scene.height),
                json!({"width": scene.width, "height": scene.height}),
            ));
            Some(scene)
        }
        Err(e) => {
            if checks[0].passed {
                checks.push(Check::new(
                    "bands_readable",
                    false,
                    e.to_string(),
                    Value::Null,
                ));
            }
            None
        }
    };
    if let Some(scene) = &scene {
        let valid = scene.valid_mask();
        let out_of_range = scene
            .bands
            .chunks_exact(4)
            .zip(&valid)
            .filter(|(px, v)| {
                **v && px
                    .iter()
                    .any(|r| *r < REFLECTANCE_RANGE.0 || *r > REFLECTANCE_RANGE.1)
            })
            .count();
        checks.push(Check::new(
            "reflectance_range",
            out_of_range == 0,
            format!(
                "{out_of_range} valid pixels outside [{}, {}]",
                REFLECTANCE_RANGE.0, REFLECTANCE_RANGE.1
            ),
            json!({"out_of_range": out_of_range}),
        ));
        checks.push(index_check(dir, &valid));
        let fraction = scene.valid_fraction();
        checks.push(Check::new(
            "valid_pixel_fraction",
            fraction >= min_valid_fraction,
            format!(
                "{:.1}% clear pixels (minimum {:.0}%)",
                fraction * 100.0,
                min_valid_fraction * 100.0
            ),
            json!({"valid_fraction": fraction, "minimum": min_valid_fraction}),
        ));
    }
    let passed = checks.iter().all(|c| c.passed);
    (
        DateValidation {
            date,
            passed,
            checks,
        },
        scene,
    )
}

/// Index ranges on valid pixels, read from the written `indices.tif` (never recomputed or
/// clipped, so a wrong file fails here).
fn index_check(dir: &Path, valid: &[bool]) -> Check {
    let raster = match read_geotiff(&dir.join("indices.tif")) {
        Ok(r) => r,
        Err(e) => return Check::new("index_ranges", false, e.to_string(), Value::Null),
    };
    let RasterData::F32(values) = &raster.data else {
        return Check::new(
            "index_ranges",
            false,
            "indices.tif is not float32",
            Value::Null,
        );
    };
    let limits = [("NDVI", 1.0), ("SAVI", 1.5), ("EVI", 1.0), ("NDWI", 1.0)];
    let valid_count = valid.iter().filter(|v| **v).count().max(1);
    let mut details = serde_json::Map::new();
    let mut worst = 0.0f64;
    for (band, (name, limit)) in limits.iter().enumerate() {
        let outside = values
            .chunks_exact(raster.bands)
            .zip(valid)
            .filter(|(px, v)| **v && px[band].is_finite() && px[band].abs() > *limit)
            .count();
        let fraction = outside as f64 / valid_count as f64;
        worst = worst.max(fraction);
        details.insert(
            (*name).into(),
            json!({"outside_range": outside, "limit": limit}),
        );
    }
    Check::new(
        "index_ranges",
        worst <= INDEX_OUTLIER_TOLERANCE,
        format!(
            "largest share of valid pixels outside an index's range: {:.3}% (tolerance {:.1}%)",
            worst * 100.0,
            INDEX_OUTLIER_TOLERANCE * 100.0
        ),
        Value::Object(details),
    )
}

impl Step for ValidateStep {
    fn id(&self) -> StepId {
        StepId::Validate
    }

    /// Reads every scene folder; depends on the two thresholds. It writes no file that a
    /// later step reads (its report under `logs/` is a record, not an output).
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        Some(
            StepDeps::new()
                .uses(settings, &["min-valid-fraction", "min-valid-dates"])
                .inputs([FileSet::tree(workdir.scenes())])
                .outputs([FileSet::file(super::validation_status_path(workdir))]),
        )
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let settings = ctx.settings;
        let scenes_dir = ctx.workdir.scenes();
        let dirs = list_scene_dirs(&scenes_dir).map_err(|e| StepError::failed(e.to_string()))?;
        if dirs.is_empty() {
            return Err(StepError::failed(format!(
                "no scenes in {}: run the download step first (without --skip-download)",
                scenes_dir.display()
            )));
        }
        let mut dates = Vec::new();
        let mut grids = BTreeSet::new();
        let mut metadata_dates = Vec::new();
        for (i, (_, dir)) in dirs.iter().enumerate() {
            ctx.check_cancel()?;
            let (validation, scene) = check_date(dir, settings.min_valid_fraction);
            if let Some(scene) = scene {
                grids.insert(format!(
                    "{}x{} EPSG:{} origin ({:.6}, {:.6}) pixel {:.9}",
                    scene.width,
                    scene.height,
                    scene.crs.epsg,
                    scene.transform.origin_x,
                    scene.transform.origin_y,
                    scene.transform.pixel_width
                ));
                metadata_dates.push(scene.date.to_string());
            }
            ctx.progress(
                i as u64 + 1,
                dirs.len() as u64,
                "scenes",
                format!(
                    "{} {}",
                    validation.date,
                    if validation.passed {
                        "passed"
                    } else {
                        "failed"
                    }
                ),
            );
            dates.push(validation);
        }
        let passed = dates.iter().filter(|d| d.passed).count();
        let corrupt: Vec<&DateValidation> = dates
            .iter()
            .filter(|d| {
                d.checks.iter().any(|c| {
                    !c.passed && matches!(c.check_name, "files_and_checksums" | "bands_readable")
                })
            })
            .collect();
        let unique: BTreeSet<&String> = metadata_dates.iter().collect();
        let summary = vec![
            Check::new(
                "scenes_present",
                !dirs.is_empty(),
                format!("{} scene folders in {}", dirs.len(), scenes_dir.display()),
                Value::Null,
            ),
            Check::new(
                "minimum_valid_dates",
                passed >= settings.min_valid_dates,
                format!(
                    "{passed} dates passed; at least {} needed",
                    settings.min_valid_dates
                ),
                json!({"passed": passed, "required": settings.min_valid_dates}),
            ),
            Check::new(
                "no_duplicate_dates",
                unique.len() == metadata_dates.len(),
                format!("{} dates, {} distinct", metadata_dates.len(), unique.len()),
                Value::Null,
            ),
            Check::new(
                "consistent_grid",
                grids.len() <= 1,
                format!("{} distinct grid(s)", grids.len()),
                json!(grids),
            ),
            Check::new(
                "files_intact",
                corrupt.is_empty(),
                if corrupt.is_empty() {
                    "every scene readable and matching its checksums".to_string()
                } else {
                    format!(
                        "corrupt or unreadable: {}",
                        corrupt
                            .iter()
                            .map(|d| d.date.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                Value::Null,
            ),
        ];
        let overall = summary.iter().all(|c| c.passed);
        let timestamp = Local::now();
        let report = json!({
            "timestamp": timestamp.to_rfc3339(),
            "source": settings.source,
            "total_imagery": dates.len(),
            "passed_imagery": passed,
            "failed_imagery": dates.len() - passed,
            "overall_passed": overall,
            "summary_checks": summary,
            "imagery_validations": dates,
        });
        let path = ctx.workdir.logs().join(format!(
            "validation_report_{}.json",
            timestamp.format("%Y%m%d_%H%M%S")
        ));
        atomic_file::write_json(&path, &report)
            .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))?;

        // The dates that failed, with the checks they failed, for the dataset steps to leave
        // out (written before the overall verdict so that it exists even when step 2 fails).
        let status: std::collections::BTreeMap<&str, Vec<String>> = dates
            .iter()
            .filter(|d| !d.passed)
            .map(|d| {
                let checks = d
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{}: {}", c.check_name, c.message))
                    .collect();
                (d.date.as_str(), checks)
            })
            .collect();
        let status_path = super::validation_status_path(ctx.workdir);
        atomic_file::write_json(&status_path, &json!({"failed_dates": status}))
            .map_err(|e| StepError::failed(format!("{}: {e}", status_path.display())))?;

        let failed_dates: Vec<String> = dates
            .iter()
            .filter(|d| !d.passed)
            .map(|d| {
                let failed: Vec<String> = d
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{} ({})", c.check_name, c.message))
                    .collect();
                format!("{}: {}", d.date, failed.join("; "))
            })
            .collect();
        for line in &failed_dates {
            ctx.warn(format!("date failed validation: {line}"));
        }
        if !overall {
            let failed_summary: Vec<String> = summary
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: {}", c.check_name, c.message))
                .collect();
            let mut message = format!("validation failed: {}", failed_summary.join("; "));
            if !failed_dates.is_empty() {
                message.push_str(&format!(". Failed dates: {}", failed_dates.join(" | ")));
            }
            message.push_str(&format!(". Report: {}", path.display()));
            return Err(StepError::failed(message));
        }
        let mut out = StepOutput::new();
        out.insert("total_imagery".into(), json!(dates.len()));
        out.insert("passed_imagery".into(), json!(passed));
        out.insert("failed_imagery".into(), json!(dates.len() - passed));
        out.insert(
            "failed_dates".into(),
            json!(
                dates
                    .iter()
                    .filter(|d| !d.passed)
                    .map(|d| &d.date)
                    .collect::<Vec<_>>()
            ),
        );
        out.insert(
            "validation_report".into(),
            json!(path.display().to_string()),
        );
        Ok(out)
    }
}
