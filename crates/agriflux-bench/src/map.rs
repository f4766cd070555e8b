//! `agriflux-bench map --workdir W`: how long one date's map layers take once the models are
//! loaded, on a finished run's work directory (e.g. `demo/`), beside the target of one second
//! per date on 2 cores.
//!
//! Each timed call is a whole [`Season::compute`] with one date's cache removed; a call with
//! nothing to compute is timed too, and subtracted: what is left is that date's layers (the
//! CNN's windows, the LSTM's blocks, NDVI, the GeoTIFFs and PNGs), without loading the models
//! or reading the other dates' summaries.

use std::path::Path;
use std::time::Instant;

use agriflux_core::maps::{DateChoice, MapLayerId, Season, date_dir};
use agriflux_core::pipeline::{CancelToken, WorkDir};
use anyhow::{Context, Result, bail};

/// The target of the issue: all layers of one date in under a second on 2 cores.
const TARGET_SECONDS: f64 = 1.0;

fn timed_season(workdir: &WorkDir) -> Result<(Season, f64)> {
    let started = Instant::now();
    let season = Season::compute(workdir, &mut |_| {}, &CancelToken::new())?;
    Ok((season, started.elapsed().as_secs_f64()))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Times the layers of the latest `dates` dates, one at a time, and prints a table.
pub fn run(dir: &Path, dates: usize) -> Result<()> {
    let workdir = WorkDir::new(dir);
    let (season, _) = timed_season(&workdir).context("making the maps once (warm-up)")?;
    let view = season.view(DateChoice::Latest)?;
    let has = |id| view.layers.iter().any(|l| l.id == id);
    if !has(MapLayerId::Health) || !has(MapLayerId::Forecast) {
        bail!(
            "{} has no health or forecast layer: run the whole pipeline there first ({:?})",
            dir.display(),
            view.notes
        );
    }
    let all = season.dates();
    let mut cached = Vec::new();
    let mut fresh = Vec::new();
    for date in all.iter().rev().take(dates.max(1)) {
        cached.push(timed_season(&workdir)?.1);
        let summary = date_dir(&workdir, *date).join("summary.json");
        std::fs::remove_file(&summary)
            .with_context(|| format!("removing {}", summary.display()))?;
        fresh.push(timed_season(&workdir)?.1);
    }
    let overhead = median(cached);
    let per_date = median(fresh) - overhead;
    println!(
        "| workload | AgriFlux | reference |\n|---|---|---|\n| map layers of one date ({} x {} px; median of {}) | {per_date:.3} s | {TARGET_SECONDS:.3} s (target) |\n| season from the cache ({} dates; models loaded, summaries read) | {overhead:.3} s | — |",
        view.width,
        view.height,
        dates.max(1),
        all.len()
    );
    Ok(())
}
