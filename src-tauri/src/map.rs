//! Map commands: the season's maps for a date (computed on first use, with progress events),
//! what lies under a pixel, importing field boundaries and exporting the fields' table.

use std::sync::{Arc, Mutex};

use agriflux_core::maps::{
    DateChoice, FieldsImport, MapError, MapPoint, MapView, Season, import_fields as import,
    maps_dir,
};
use agriflux_core::pipeline::CancelToken;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use crate::error::{CommandError, ErrorKind, blocking};
use crate::workdir::Workspace;

/// The event carrying [`agriflux_core::maps::MapProgress`] while maps are computed.
pub const MAP_PROGRESS_EVENT: &str = "map-progress";

/// The season last made, kept for pointer queries (which must not recompute anything).
#[derive(Default)]
pub struct AppMaps(Mutex<Option<Arc<Season>>>);

impl AppMaps {
    fn get(&self) -> Option<Arc<Season>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, season: Arc<Season>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(season);
    }

    /// Forgets the season (another work directory was opened).
    pub(crate) fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn map_error(summary: &str, e: MapError) -> CommandError {
    let kind = match &e {
        MapError::NoImagery(_) | MapError::NoSuchDate { .. } | MapError::NotMade => {
            ErrorKind::NotFound
        }
        MapError::BadDate(_) | MapError::Fields { .. } => ErrorKind::Settings,
        MapError::Cancelled => ErrorKind::Conflict,
        _ => ErrorKind::Files,
    };
    CommandError::new(kind, summary).with_detail(e)
}

fn choice(date: Option<&str>) -> Result<DateChoice, CommandError> {
    date.map_or(Ok(DateChoice::Latest), str::parse)
        .map_err(|e| map_error("That date is not one of the season's.", e))
}

/// Makes (or reads from the cache) the season's maps and returns the view of `date` (the
/// latest when `None`), emitting `map-progress` while dates are computed.
#[tauri::command(rename_all = "snake_case")]
pub async fn map_view<R: Runtime>(
    app: AppHandle<R>,
    workspace: State<'_, Workspace>,
    maps: State<'_, AppMaps>,
    date: Option<String>,
) -> Result<MapView, CommandError> {
    let workdir = workspace.current()?;
    let dir = workdir.dir().clone();
    let choice = choice(date.as_deref())?;
    let season = blocking(move || {
        let mut progress = |p: &agriflux_core::maps::MapProgress| {
            if let Err(e) = app.emit(MAP_PROGRESS_EVENT, p) {
                tracing::warn!("map progress not delivered: {e}");
            }
        };
        let season = Season::compute(&dir, &mut progress, &CancelToken::new());
        // Computing a season runs both models over every date: give their buffers back.
        agriflux_core::ml::return_freed_memory();
        season
            .map(Arc::new)
            .map_err(|e| map_error("The maps could not be made.", e))
    })
    .await?;
    maps.set(season.clone());
    blocking(move || {
        season
            .view(choice)
            .map_err(|e| map_error("The maps of that date could not be shown.", e))
    })
    .await
}

/// What lies under pixel (`col`, `row`) on `date`, from the season `map_view` made last.
#[tauri::command(rename_all = "snake_case")]
pub async fn map_point(
    maps: State<'_, AppMaps>,
    date: String,
    col: usize,
    row: usize,
) -> Result<MapPoint, CommandError> {
    let season = maps
        .get()
        .ok_or_else(|| CommandError::new(ErrorKind::NotFound, "Open the map first."))?;
    let choice = choice(Some(&date))?;
    blocking(move || {
        season
            .point(choice, col, row)
            .map_err(|e| map_error("The values under the pointer could not be read.", e))
    })
    .await
}

/// Checks and keeps field boundaries (the text of a GeoJSON file the user picked, `name`
/// naming it in messages); the next `map_view` summarises them.
#[tauri::command(rename_all = "snake_case")]
pub async fn import_fields(
    workspace: State<'_, Workspace>,
    name: String,
    text: String,
) -> Result<FieldsImport, CommandError> {
    let workdir = workspace.current()?;
    let dir = workdir.dir().clone();
    blocking(move || {
        import(&dir, &name, &text)
            .map_err(|e| map_error("These field boundaries cannot be used.", e))
    })
    .await
}

/// The path of `maps/fields.csv` (one row per field and date), written by the last
/// `map_view`.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_fields_csv(workspace: State<'_, Workspace>) -> Result<String, CommandError> {
    let workdir = workspace.current()?;
    let path = maps_dir(workdir.dir()).join("fields.csv");
    if path.is_file() {
        Ok(path.display().to_string())
    } else {
        Err(CommandError::new(
            ErrorKind::NotFound,
            "No fields table yet: import field boundaries and open the map.",
        )
        .with_detail(format!("{} does not exist", path.display())))
    }
}
