//! The About box: versions, the build date, the licences of what the app bundles, and where
//! its log and its settings live (Tauri's path resolver finds both folders).

use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime};
use ts_rs::TS;

use crate::error::{CommandError, ErrorKind};

/// One bundled piece and its licence.
#[derive(Clone, Debug, Serialize, TS)]
pub struct BundledLicence {
    /// What it is ("Chart font: Ubuntu Light").
    pub item: String,
    /// Where it comes from.
    pub origin: String,
    /// Its licence (SPDX where there is one).
    pub licence: String,
}

/// What the About box shows.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AboutView {
    /// The app's version.
    pub version: String,
    /// The engine's (`agriflux-core`) version.
    pub engine_version: String,
    /// The day the app was built (UTC, `YYYY-MM-DD`).
    pub build_date: String,
    /// The app's licence.
    pub licence: String,
    /// What the app bundles, with licences.
    pub bundled: Vec<BundledLicence>,
    /// The folder of `agriflux-studio.log`.
    pub log_folder: String,
    /// The folder of the app's own settings (recent folders).
    pub config_folder: String,
}

/// The About box's facts.
#[tauri::command(rename_all = "snake_case")]
pub async fn about<R: Runtime>(app: AppHandle<R>) -> Result<AboutView, CommandError> {
    let paths = app.path();
    let folder = |dir: tauri::Result<std::path::PathBuf>| {
        dir.map(|d| d.display().to_string()).map_err(|e| {
            CommandError::new(ErrorKind::Files, "The app's folders could not be found.")
                .with_detail(e)
        })
    };
    Ok(AboutView {
        version: env!("CARGO_PKG_VERSION").into(),
        engine_version: agriflux_core::VERSION.into(),
        build_date: env!("AGRIFLUX_BUILD_DATE").into(),
        licence: env!("CARGO_PKG_LICENSE").into(),
        bundled: bundled_licences(),
        log_folder: folder(paths.app_log_dir())?,
        config_folder: folder(paths.app_config_dir())?,
    })
}

fn bundled_licences() -> Vec<BundledLicence> {
    let item = |item: &str, origin: &str, licence: &str| BundledLicence {
        item: item.into(),
        origin: origin.into(),
        licence: licence.into(),
    };
    vec![
        item(
            "Chart font: Ubuntu Light (PNG charts and map legends)",
            "the epaint_default_fonts crate, 0.37",
            "Ubuntu Font Licence 1.0",
        ),
        item(
            "App icon",
            "drawn for AgriFlux Studio by icons/make_icons.py",
            "MIT OR Apache-2.0",
        ),
        item(
            "Interface icons",
            "drawn for AgriFlux Studio (ui/src/components/Icon.svelte)",
            "MIT OR Apache-2.0",
        ),
        item(
            "Interface text",
            "the system's sans-serif font (none is bundled)",
            "the system's",
        ),
    ]
}
