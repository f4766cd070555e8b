//! `agriflux map`: makes (or reads from the cache) the season's maps and lists what was
//! written for one date, with the fields' figures on it.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};

use agriflux_core::maps::{DateChoice, MapProgress, MapView, Season, import_fields, maps_dir};
use agriflux_core::pipeline::{CancelToken, WorkDir};

use crate::args::MapArgs;

/// Runs `agriflux map`; exit 0, or 1 with the reason (no imagery, no such date, a bad fields
/// file).
pub fn run(args: MapArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.workdir);
    let choice: DateChoice = args.date.parse()?;
    if let Some(path) = &args.fields {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the fields file {}", path.display()))?;
        let imported = import_fields(&workdir, &path.display().to_string(), &text)?;
        eprintln!(
            "imported {} field(s) into {}",
            imported.fields, imported.file
        );
    }
    let started = std::time::Instant::now();
    let mut stderr = std::io::stderr();
    let mut progress = |p: &MapProgress| {
        if p.done < p.total {
            let _ = write!(stderr, "\r{}/{} {}   ", p.done + 1, p.total, p.what);
        } else {
            let _ = writeln!(
                stderr,
                "\r{}/{} dates mapped in {:.1} s   ",
                p.total,
                p.total,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let season = Season::compute(&workdir, &mut progress, &CancelToken::new())?;
    let mut view = season.view(choice)?;
    let (_, dir) = season.files_of(choice)?;
    if args.json {
        for layer in &mut view.layers {
            layer.png = format!("{}/{}.png", dir.display(), file_stem(layer));
        }
        println!("{}", serde_json::to_string_pretty(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_view(&view, &dir, &maps_dir(&workdir));
    Ok(ExitCode::SUCCESS)
}

fn file_stem(layer: &agriflux_core::maps::MapLayer) -> &'static str {
    layer.id.file_stem()
}

fn print_view(view: &MapView, dir: &std::path::Path, maps: &std::path::Path) {
    println!(
        "Maps of {} ({} x {} px, {}, {:.1} m pixels){}",
        view.date,
        view.width,
        view.height,
        view.crs,
        view.pixel_size_m,
        if view.simulated {
            " — SIMULATED data"
        } else {
            ""
        }
    );
    println!("  folder: {}", dir.display());
    for layer in &view.layers {
        let stem = file_stem(layer);
        let tif = dir.join(format!("{stem}.tif"));
        if tif.exists() {
            println!("  {:<40} {stem}.tif, {stem}.png", layer.title);
        } else {
            println!("  {:<40} {stem}.png", layer.title);
        }
    }
    for note in &view.notes {
        println!("  note: {note}");
    }
    if view.fields.is_empty() {
        println!("No fields: import boundaries with --fields FILE.geojson");
        return;
    }
    println!(
        "Fields on {} (neediest first; {} and {}):",
        view.date,
        maps.join("fields.geojson").display(),
        maps.join("fields.csv").display()
    );
    println!(
        "  {:<24} {:>9} {:>7} {:>14} {:>22} {:>9}",
        "field", "area ha", "clear", "NDVI mean±sd", "predicted health", "forecast"
    );
    for f in &view.fields {
        let s = &f.stats;
        let ndvi = match (s.ndvi_mean, s.ndvi_std) {
            (Some(m), Some(sd)) => format!("{m:.3}±{sd:.3}"),
            _ => "—".into(),
        };
        let health = s.predicted_class().map_or("—".to_string(), |k| {
            format!("{} {:.0} %", view.class_names[k], s.class_shares[k] * 100.0)
        });
        let forecast = f
            .next
            .as_ref()
            .map_or("—".to_string(), |n| format!("{:.3}", n.value));
        println!(
            "  {:<24} {:>9.2} {:>6.0}% {:>14} {:>22} {:>9}",
            f.name,
            f.area_ha,
            s.clear_fraction * 100.0,
            ndvi,
            health,
            forecast
        );
    }
}
