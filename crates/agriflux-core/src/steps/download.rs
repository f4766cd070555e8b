//! Step 1: find acquisitions and download each date's scene, reusing verified ones.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use super::UsesSettings;
use crate::files_source::FilesSource;
use crate::pipeline::{
    FileSet, Step, StepContext, StepDeps, StepError, StepId, StepOutput, WorkDir, ensure_free_space,
};
use crate::raster::scene::SceneMetadata;
use crate::raster::scene::{read_metadata, scene_dir, verify_checksums, write_scene};
use crate::sentinel_hub::cost::{CostEstimate, effective_budget};
use crate::sentinel_hub::{RetryPolicy, SentinelHubSource};
use crate::settings::{Settings, SourceKind};
use crate::simulate::SimulatedSource;
use crate::source::{Acquisition, SceneSource, SourceError, spread_over_range};

/// Dates downloaded at the same time (they share one rate limiter and one token).
pub const DOWNLOAD_WORKERS: usize = 4;

/// Downloads Sentinel-2 scenes from the configured source.
pub struct DownloadStep;

/// The scene source the settings ask for.
pub fn source_for(settings: &Settings) -> Result<Box<dyn SceneSource>, StepError> {
    match settings.source {
        SourceKind::Simulated => Ok(Box::new(SimulatedSource::new(settings.seed))),
        SourceKind::SentinelHub => SentinelHubSource::new(
            &settings.sentinel_hub,
            RetryPolicy::default(),
            "the work directory's .env",
        )
        .map(|s| Box::new(s) as Box<dyn SceneSource>)
        .map_err(|e| StepError::failed(format!("Sentinel Hub: {e}"))),
        SourceKind::Files => {
            let dir = settings.scenes_dir.as_deref().ok_or_else(|| {
                StepError::failed("the files source needs --scenes-dir DIR (AGRIFLUX_SCENES_DIR)")
            })?;
            FilesSource::open(dir)
                .map(|s| Box::new(s) as Box<dyn SceneSource>)
                .map_err(|e| StepError::failed(format!("scene files: {e}")))
        }
    }
}

/// The estimated Sentinel Hub cost of this download (`None` for the simulated source): at
/// most `target_count` dates, less those already downloaded and verified in the date range.
pub fn cost_estimate(settings: &Settings, workdir: &WorkDir) -> Option<CostEstimate> {
    if settings.source != SourceKind::SentinelHub || settings.skip_download {
        return None;
    }
    let scenes_dir = workdir.scenes();
    let have = std::fs::read_dir(&scenes_dir)
        .map(|dirs| {
            dirs.filter_map(Result::ok)
                .filter_map(|d| read_metadata(&d.path()).ok().map(|m| (d.path(), m)))
                .filter(|(dir, m)| {
                    m.source == SourceKind::SentinelHub
                        && m.bbox == settings.bbox
                        && m.date >= settings.dates.start
                        && m.date <= settings.dates.end
                        && verify_checksums(dir, m).is_ok()
                })
                .count()
        })
        .unwrap_or(0);
    let days = (settings.dates.end - settings.dates.start)
        .num_days()
        .max(0) as usize
        + 1;
    Some(CostEstimate::new(
        &settings.bbox,
        days,
        settings.target_count.saturating_sub(have),
        effective_budget(settings.pu_budget, settings.sentinel_hub.deployment),
    ))
}

/// What a download worker reports to the step's thread.
enum Done {
    /// One date written and verified.
    Scene(SceneMetadata),
    /// One date failed; the step fails.
    Failed(StepError),
}

/// Downloads `todo` with up to [`DOWNLOAD_WORKERS`] threads, writing each scene as it comes;
/// `on_done` runs on the calling thread for each result, `on_notice` for each source notice.
fn download_concurrently(
    source: &dyn SceneSource,
    settings: &Settings,
    scenes_dir: &std::path::Path,
    todo: &[Acquisition],
    cancel: &crate::pipeline::CancelToken,
    mut on_done: impl FnMut(&SceneMetadata),
    mut on_notice: impl FnMut(String),
) -> Result<(), StepError> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<StepError>> = Mutex::new(None);
    let (tx, rx) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        for _ in 0..DOWNLOAD_WORKERS.min(todo.len()) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                loop {
                    if stop.load(Ordering::SeqCst) || cancel.is_cancelled() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(acq) = todo.get(i) else { return };
                    let result = source
                        .fetch_cancellable(acq, &settings.bbox, cancel)
                        .map_err(source_error)
                        .and_then(|scene| {
                            write_scene(
                                &scene_dir(scenes_dir, acq.date),
                                &scene,
                                source.kind(),
                                settings.bbox,
                                source.provenance(),
                            )
                            .map_err(|e| {
                                StepError::failed(format!("writing scene {}: {e}", acq.date))
                            })
                        });
                    let failed = result.is_err();
                    let _ = tx.send(match result {
                        Ok(meta) => Done::Scene(meta),
                        Err(e) => Done::Failed(e),
                    });
                    if failed {
                        stop.store(true, Ordering::SeqCst);
                        return;
                    }
                }
            });
        }
        drop(tx);
        loop {
            for notice in source.take_notices() {
                on_notice(notice);
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Done::Scene(meta)) => on_done(&meta),
                Ok(Done::Failed(e)) => {
                    let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    // A real failure wins over the cancellations it caused elsewhere.
                    if first.is_none() || matches!(*first, Some(StepError::Cancelled)) {
                        *first = Some(e);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        for notice in source.take_notices() {
            on_notice(notice);
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    if cancel.is_cancelled() {
        return Err(StepError::Cancelled);
    }
    Ok(())
}

fn source_error(e: SourceError) -> StepError {
    match e {
        SourceError::Cancelled => StepError::Cancelled,
        SourceError::Failed(m) => StepError::Failed(m),
    }
}

impl Step for DownloadStep {
    fn id(&self) -> StepId {
        StepId::Download
    }

    fn cost_estimate(&self, settings: &Settings, workdir: &WorkDir) -> Option<CostEstimate> {
        cost_estimate(settings, workdir)
    }

    /// Up to date when the scene folders are as this step left them (every file under
    /// `data/scenes/` hashes the same) and the search settings are the same: source, area,
    /// dates, count, cloud threshold, plus the seed for the simulated source (it generates the
    /// scenes), the service URL for Sentinel Hub, or the folder and the content of every file
    /// under it for the files source. With the default rolling `--days-back`
    /// window the dates move every day, so pin `--start`/`--end` while tuning.
    fn dependencies(&self, workdir: &WorkDir, settings: &Settings) -> Option<StepDeps> {
        let deps = StepDeps::new()
            .uses(settings, &["source", "bbox", "start", "end"])
            .uses(settings, &["target-count", "cloud-threshold"])
            .outputs([FileSet::tree(workdir.scenes())]);
        Some(match settings.source {
            SourceKind::Simulated => deps.uses(settings, &["seed"]),
            SourceKind::SentinelHub => {
                deps.setting("sentinel_hub_base_url", &settings.sentinel_hub.base_url)
            }
            SourceKind::Files => match &settings.scenes_dir {
                Some(dir) => deps
                    .setting("scenes_dir", dir.display())
                    .inputs([FileSet::tree(dir.clone())]),
                None => deps,
            },
        })
    }

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let settings = ctx.settings;
        let estimate = cost_estimate(settings, ctx.workdir);
        if let Some(e) = &estimate {
            ctx.info(format!("Sentinel Hub cost estimate: {}", e.summary()));
            if e.exceeds_budget() {
                return Err(StepError::failed(format!(
                    "the estimated cost of this download, {:.2} processing units ({} dates x {:.3} PU at {} x {} px, {} requests), exceeds the budget of {} PU (AGRIFLUX_PU_BUDGET or --pu-budget); nothing was requested: lower --target-count, choose a smaller area, or raise the budget",
                    e.processing_units,
                    e.dates,
                    e.pu_per_date,
                    e.width,
                    e.height,
                    e.requests,
                    e.pu_budget.unwrap_or_default()
                )));
            }
        }
        let source = source_for(settings)?;
        if source.kind() == SourceKind::Simulated {
            ctx.warn(
                "using the SIMULATED Sentinel-2 source: scenes are generated, not real imagery",
            );
        }
        let found = source
            .search(
                &settings.bbox,
                &settings.dates,
                settings.cloud_threshold,
                ctx.cancel_token(),
            )
            .map_err(source_error)?;
        if found.is_empty() {
            return Err(StepError::failed(format!(
                "no acquisitions with cloud cover below {}% between {} and {} over {}",
                settings.cloud_threshold, settings.dates.start, settings.dates.end, settings.bbox
            )));
        }
        let picked = spread_over_range(&found, settings.target_count);
        ctx.info(format!(
            "{} acquisitions below {}% cloud cover; downloading {} spread over {} to {}",
            found.len(),
            settings.cloud_threshold,
            picked.len(),
            settings.dates.start,
            settings.dates.end
        ));
        let scenes_dir = ctx.workdir.scenes();
        let total = picked.len() as u64;
        let mut dims = None;
        let mut done = 0u64;
        let mut todo = Vec::new();
        for acq in &picked {
            ctx.check_cancel()?;
            let dir = scene_dir(&scenes_dir, acq.date);
            // A date already downloaded for this area and source, whose files still match
            // their checksums, is not fetched again.
            // Scenes made from files are also redone when the files (hence the provenance,
            // which lists them) changed.
            let verified = read_metadata(&dir).ok().filter(|m| {
                m.source == source.kind()
                    && m.bbox == settings.bbox
                    && (source.kind() != SourceKind::Files || m.provenance == source.provenance())
                    && verify_checksums(&dir, m).is_ok()
            });
            match verified {
                Some(meta) => {
                    done += 1;
                    dims = Some((meta.width, meta.height, meta.crs.clone()));
                    ctx.progress(
                        done,
                        total,
                        "scenes",
                        format!("{} already downloaded and verified", acq.date),
                    );
                }
                None => todo.push(*acq),
            }
        }
        let reused = picked.len() - todo.len();
        // Per date: 4 float bands, 2 mask bands, 4 float indices, plus headers and metadata.
        let (w, h) = SimulatedSource::grid_size(&settings.bbox);
        let per_date = (w * h * (4 * 4 + 2 + 4 * 4)) as u64 + 64 * 1024;
        ensure_free_space(
            &scenes_dir,
            per_date * todo.len() as u64,
            &format!("{} scenes", todo.len()),
        )?;
        if reused > 0 {
            ctx.info(format!(
                "{reused} of {} dates already downloaded and verified; fetching {}",
                picked.len(),
                todo.len()
            ));
        }
        let cancel = ctx.cancel_token().clone();
        let ctx_cell = std::cell::RefCell::new(&mut *ctx);
        let mut downloaded = 0usize;
        let fetched = download_concurrently(
            source.as_ref(),
            settings,
            &scenes_dir,
            &todo,
            &cancel,
            |meta| {
                downloaded += 1;
                done += 1;
                dims = Some((meta.width, meta.height, meta.crs.clone()));
                ctx_cell.borrow_mut().progress(
                    done,
                    total,
                    "scenes",
                    format!("{} ({:.0}% clear)", meta.date, meta.valid_fraction * 100.0),
                );
            },
            |notice| ctx_cell.borrow().warn(notice),
        );
        match fetched {
            Err(StepError::Failed(message)) => {
                let kept = reused + downloaded;
                return Err(StepError::Failed(format!(
                    "{message} ({kept} of {} dates are downloaded and kept; a re-run fetches only the others)",
                    picked.len()
                )));
            }
            other => other?,
        }
        let truth = picked.iter().map(|a| a.date).collect::<Vec<_>>();
        let truth = source.ground_truth(&settings.bbox, &truth);
        if let Some(points) = &truth {
            let path = scenes_dir.join(crate::ground_truth::SIMULATED_TRUTH_FILE);
            crate::ground_truth::write_points(
                &path,
                points.iter().copied(),
                "the simulated source's hidden truth: crop health as a scout would record it, never computed from the imagery",
            )
            .map_err(|e| StepError::failed(format!("{}: {e}", path.display())))?;
            ctx.info(format!(
                "simulated ground truth: {} observations written to {}",
                points.len(),
                path.display()
            ));
        }
        let processing_units = source.processing_units();
        if let Some(pu) = processing_units {
            ctx.info(format!(
                "processing units spent this run: {pu:.2} ({downloaded} dates downloaded)"
            ));
        }
        let (width, height, crs) = dims.unwrap_or_default();
        let mut out = StepOutput::new();
        out.insert("source".into(), json!(source.kind()));
        out.insert(
            "simulated".into(),
            json!(source.kind() == SourceKind::Simulated),
        );
        out.insert("acquisitions_found".into(), json!(found.len()));
        out.insert(
            "dates".into(),
            json!(
                picked
                    .iter()
                    .map(|a| a.date.to_string())
                    .collect::<Vec<_>>()
            ),
        );
        out.insert("downloaded".into(), json!(downloaded));
        out.insert("reused".into(), json!(reused));
        out.insert(
            "processing_units".into(),
            json!(processing_units.map(|pu| (pu * 1000.0).round() / 1000.0)),
        );
        if let Some(e) = &estimate {
            // The estimate for what this run actually fetched, next to what it spent.
            let actual = CostEstimate::new(
                &settings.bbox,
                (settings.dates.end - settings.dates.start)
                    .num_days()
                    .max(0) as usize
                    + 1,
                todo.len(),
                e.pu_budget,
            );
            out.insert(
                "pu_estimate".into(),
                json!((actual.processing_units * 1000.0).round() / 1000.0),
            );
            out.insert("requests_estimate".into(), json!(actual.requests));
            out.insert("pu_budget".into(), json!(e.pu_budget));
        }
        out.insert("width".into(), json!(width));
        out.insert("height".into(), json!(height));
        out.insert("crs".into(), json!(crs));
        out.insert("scenes_dir".into(), json!(scenes_dir.display().to_string()));
        if let Some(points) = &truth {
            out.insert("ground_truth_observations".into(), json!(points.len()));
        }
        if source.kind() == SourceKind::Files {
            // The folder read and how validity was decided (SCL or nodata only).
            out.insert("source_details".into(), source.provenance());
        }
        Ok(out)
    }
}
