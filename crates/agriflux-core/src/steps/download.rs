//! Step 1: find acquisitions and download each date's scene, reusing verified ones.

use serde_json::json;

use crate::pipeline::{Step, StepContext, StepError, StepId, StepOutput};
use crate::raster::scene::{read_metadata, scene_dir, verify_checksums, write_scene};
use crate::settings::{Settings, SourceKind};
use crate::simulate::SimulatedSource;
use crate::source::{SceneSource, SourceError, spread_over_range};

/// Downloads Sentinel-2 scenes from the configured source.
pub struct DownloadStep;

/// The scene source the settings ask for.
pub fn source_for(settings: &Settings) -> Result<Box<dyn SceneSource>, StepError> {
    match settings.source {
        SourceKind::Simulated => Ok(Box::new(SimulatedSource::new(settings.seed))),
        SourceKind::SentinelHub => Err(StepError::failed(format!(
            "the Sentinel Hub source is not available in this version yet (source {}); run with --source simulated or set AGRIFLUX_SOURCE=simulated",
            settings.source_reason
        ))),
    }
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

    fn run(&self, ctx: &mut StepContext<'_>) -> Result<StepOutput, StepError> {
        let settings = ctx.settings;
        let source = source_for(settings)?;
        if source.kind() == SourceKind::Simulated {
            ctx.warn("using the SIMULATED Sentinel-2 source: scenes are generated, not real imagery");
        }
        let found = source
            .search(&settings.bbox, &settings.dates, settings.cloud_threshold, ctx.cancel_token())
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
        let (mut downloaded, mut reused) = (0, 0);
        let total = picked.len() as u64;
        let mut dims = None;
        for (i, acq) in picked.iter().enumerate() {
            ctx.check_cancel()?;
            let dir = scene_dir(&scenes_dir, acq.date);
            // A date already downloaded for this area and source, whose files still match
            // their checksums, is not fetched again.
            let verified = read_metadata(&dir).ok().filter(|m| {
                m.source == source.kind() && m.bbox == settings.bbox && verify_checksums(&dir, m).is_ok()
            });
            if let Some(meta) = verified {
                reused += 1;
                dims = Some((meta.width, meta.height, meta.crs.clone()));
                ctx.progress(i as u64 + 1, total, "scenes", format!("{} already downloaded and verified", acq.date));
                continue;
            }
            let scene = source.fetch(acq, &settings.bbox).map_err(source_error)?;
            let meta = write_scene(&dir, &scene, source.kind(), settings.bbox, source.provenance())
                .map_err(|e| StepError::failed(format!("writing scene {}: {e}", acq.date)))?;
            downloaded += 1;
            dims = Some((meta.width, meta.height, meta.crs.clone()));
            ctx.progress(
                i as u64 + 1,
                total,
                "scenes",
                format!("{} ({:.0}% clear)", acq.date, meta.valid_fraction * 100.0),
            );
        }
        let (width, height, crs) = dims.unwrap_or_default();
        let mut out = StepOutput::new();
        out.insert("source".into(), json!(source.kind()));
        out.insert("simulated".into(), json!(source.kind() == SourceKind::Simulated));
        out.insert("acquisitions_found".into(), json!(found.len()));
        out.insert("dates".into(), json!(picked.iter().map(|a| a.date.to_string()).collect::<Vec<_>>()));
        out.insert("downloaded".into(), json!(downloaded));
        out.insert("reused".into(), json!(reused));
        out.insert("width".into(), json!(width));
        out.insert("height".into(), json!(height));
        out.insert("crs".into(), json!(crs));
        out.insert("scenes_dir".into(), json!(scenes_dir.display().to_string()));
        Ok(out)
    }
}
