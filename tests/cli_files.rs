//! End-to-end: `agriflux run --source files` on GeoTIFFs GDAL wrote from the real Bouconne
//! sample (7 dates, 246 x 227 px, UTM 31N): all 8 steps run on the files' own grid, the report
//! names the source and the folder, and changing a file makes the download step stale.

use std::path::Path;
use std::process::Command;

use agriflux_tests::{
    agriflux, latest_report, plan_json, read_json, real_samples_dir, text, workspace_root,
};

/// Flags small enough for 7 dates of 246 x 227 px.
const FLAGS: &[&str] = &[
    "--min-valid-dates",
    "5",
    "--sequence-length",
    "4",
    "--samples-per-class",
    "16",
    "--cnn-epochs",
    "1",
    "--lstm-epochs",
    "2",
];

/// Writes the sample in `layout` with GDAL; `false` after a message when GDAL or the samples
/// are missing, a failure instead when CI=true.
fn fixtures(out: &Path, layout: &str) -> bool {
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "from osgeo import gdal; import numpy"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let (Some(python), Some(samples)) = (python, real_samples_dir()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with osgeo.gdal and numpy, and ../shared/data/real-s2, are required when CI=true"
        );
        println!("skipped: python3 with osgeo.gdal + numpy or ../shared/data/real-s2 missing");
        return false;
    };
    let script = workspace_root().join("tests/fixtures/real_s2_geotiffs.py");
    let status = Command::new(python)
        .arg(script)
        .arg(samples)
        .arg("bouconne-2018")
        .arg(out)
        .arg(layout)
        .status()
        .unwrap();
    assert!(status.success(), "fixture script failed");
    true
}

#[test]
fn runs_all_steps_on_gdal_written_scene_files_and_reports_the_folder() {
    let files = tempfile::tempdir().unwrap();
    if !fixtures(files.path(), "multi") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (wd, sd) = (
        work.path().to_str().unwrap(),
        files.path().to_str().unwrap(),
    );
    let mut args = vec![
        "run",
        "--workdir",
        wd,
        "--source",
        "files",
        "--scenes-dir",
        sd,
    ];
    args.extend_from_slice(FLAGS);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("Data source: scene files in {sd}")),
        "{stdout}"
    );
    // Real data, but NDVI-derived labels: the CNN cannot beat the NDVI rule, so the gate
    // holds step 8 back.
    assert!(stdout.contains("Completed: 7"), "{stdout}");
    assert!(stdout.contains("Skipped: 1"), "{stdout}");

    let report = latest_report(work.path());
    assert_eq!(report["overall_status"], "success");
    assert_eq!(report["simulated_data"], false);
    let download = &report["steps"][0]["output_summary"];
    assert_eq!(download["source"], "files", "{download}");
    assert_eq!(download["source_details"]["folder"], sd, "{download}");
    assert!(
        download["source_details"]["validity"]
            .as_str()
            .unwrap()
            .starts_with("nodata only"),
        "{download}"
    );
    assert_eq!(download["dates"].as_array().unwrap().len(), 7, "{download}");
    assert_eq!(
        (download["width"].as_u64(), download["height"].as_u64()),
        (Some(227), Some(246))
    );
    assert_eq!(download["crs"], "EPSG:32631");

    // Each scene keeps the files' grid and records where it came from.
    let scene = work.path().join("data/scenes/2018-07-08");
    let meta = read_json(&scene.join("metadata.json"));
    assert_eq!(meta["source"], "files");
    assert_eq!(meta["crs"], "EPSG:32631");
    assert_eq!(
        meta["geotransform"],
        serde_json::json!([356040.0, 10.0, 0.0, 4835680.0, 0.0, -10.0])
    );
    assert_eq!(meta["provenance"]["folder"], sd);
    if Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let out = Command::new("gdalinfo")
            .arg(scene.join("bands.tif"))
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains("COMPRESSION=DEFLATE"), "{listing}");
        assert!(listing.contains("PREDICTOR=3"), "{listing}");
        assert!(listing.contains("WGS 84 / UTM zone 31N"), "{listing}");
        assert!(
            listing.contains("Upper Left  (  356040.000, 4835680.000)"),
            "{listing}"
        );
        assert!(
            listing.contains("Lower Right (  358310.000, 4833220.000)"),
            "{listing}"
        );
        for band in ["B02", "B03", "B04", "B08"] {
            assert!(
                listing.contains(&format!("Description = {band}")),
                "{listing}"
            );
        }
    }

    // Unchanged files: the download step is up to date. A changed file: it is not.
    let mut plan_flags = vec!["--source", "files", "--scenes-dir", sd];
    plan_flags.extend_from_slice(FLAGS);
    let plan = plan_json(work.path(), &plan_flags);
    assert_eq!(plan[0]["action"], "up_to_date", "{plan:?}");
    let changed = files.path().join("S2_L2A_2018-05-13.tif");
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes.extend_from_slice(b"\0\0\0\0");
    std::fs::write(&changed, bytes).unwrap();
    let plan = plan_json(work.path(), &plan_flags);
    assert_ne!(plan[0]["action"], "up_to_date", "{plan:?}");
}

#[test]
fn refuses_the_files_source_without_a_folder() {
    let work = tempfile::tempdir().unwrap();
    let wd = work.path().to_str().unwrap();
    let out = agriflux(&["run", "--workdir", wd, "--source", "files"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("--scenes-dir"), "{all}");
}

/// Observations drawn by hand over Bouconne (`fixtures/bouconne_labels.geojson`: polygons and
/// points in WGS84, some dated, one outside the area) label the patches of the UTM scenes: the
/// run goes end to end and the report counts the observations it used.
#[test]
fn hand_drawn_labels_over_bouconne_label_the_patches_and_are_counted() {
    let files = tempfile::tempdir().unwrap();
    if !fixtures(files.path(), "multi") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let labels = workspace_root().join("tests/fixtures/bouconne_labels.geojson");
    let (wd, sd, lf) = (
        work.path().to_str().unwrap(),
        files.path().to_str().unwrap(),
        labels.to_str().unwrap(),
    );
    let mut args = vec![
        "run",
        "--workdir",
        wd,
        "--source",
        "files",
        "--scenes-dir",
        sd,
        "--labels",
        lf,
    ];
    args.extend_from_slice(FLAGS);
    let out = agriflux(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("1 of 7 observations") && all.contains("outside the scenes' area"),
        "the point outside the area is reported: {all}"
    );
    assert!(!all.contains("labels derived from NDVI"), "{all}");

    let report = latest_report(work.path());
    assert_eq!(report["overall_status"], "success");
    let labels_out = &report["steps"][2]["output_summary"]["labels"];
    assert_eq!(labels_out["source"], "observations", "{labels_out}");
    assert_eq!(labels_out["from"], lf, "{labels_out}");
    assert_eq!(labels_out["observations_on_grid"], 6, "{labels_out}");
    // The undated quarters and point label patches on every date; a dated observation only
    // on the scenes within 8 days of it, where its patches may be cloudy or in the buffer.
    let used = labels_out["observations_used"].as_u64().unwrap();
    assert!((3..=6).contains(&used), "{labels_out}");
    let cnn = &report["steps"][4]["output_summary"];
    assert_eq!(
        cnn["evaluation"]["labels"]["source"], "observations",
        "{cnn}"
    );
    assert_eq!(cnn["evaluation"]["labels"]["from_ndvi"], false, "{cnn}");
    // The gate judged the CNN on these labels: step 8 either switched the models on or was
    // held back with the reason.
    let step8 = &report["steps"][7];
    assert!(
        step8["status"] == "success"
            || (step8["status"] == "skipped"
                && step8["output_summary"]["skipped_reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("held back"))),
        "{step8}"
    );
}
