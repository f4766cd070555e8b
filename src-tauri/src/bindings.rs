//! The TypeScript declarations of everything the window receives or sends, generated from the
//! Rust types with `ts-rs`, so that the UI's types cannot drift from the engine's. The file
//! lives at `ui/src/lib/generated/engine.ts`; a test fails when it is stale, and
//! `UPDATE_BINDINGS=1 cargo test -p agriflux-app bindings` writes it anew.

use agriflux_core::ai_models::{
    BaselineFigure, GateView, ModelFigure, ModelsView, RunFigures, SwitchView,
};
use agriflux_core::evaluation::Estimate;
use agriflux_core::history::{
    ChartView, CnnHeadline, Headline, LstmHeadline, ReportView, RunSummary, StepLine, StoppedAt,
};
use agriflux_core::maps::{
    FieldStats, FieldsImport, LegendEntry, MapDate, MapField, MapLayer, MapLayerId, MapPoint,
    MapProgress, MapView, NextForecast, ReportMap, SeriesPoint,
};
use agriflux_core::pipeline::{
    LogLevel, PlannedAction, PlannedStep, RunEvent, StepId, StepInfo, StepStatus,
};
use agriflux_core::sentinel_hub::cost::CostEstimate;
use agriflux_core::settings::env_keys::{DuplicateKey, EnvKeyEdit, EnvKeyView};
use agriflux_core::settings::form::{
    AreaSize, FieldKind, SaveOutcome, SettingsCheck, SettingsEdits, SettingsField, SettingsGroup,
    SettingsView,
};
use agriflux_core::settings::{EnvChangeRecord, SettingsChange, SourceKind};
use ts_rs::{Config, TS};

use crate::about::{AboutView, BundledLicence};
use crate::bridge::{EventBatch, LiveRun};
use crate::error::{CommandError, ErrorKind};
use crate::folders::{RecentFolder, WorkspaceView};
use crate::history::Folder;
use crate::run::{RunOptions, StartedRun};
use crate::settings::{AppInfo, ConnectionResult, SourceBadge};

/// Where the generated file lives, relative to the repository root.
pub const BINDINGS_FILE: &str = "ui/src/lib/generated/engine.ts";

/// Appends one type's doc comment and `export type … = …;` to `out`.
fn declare<T: TS + ?Sized>(cfg: &Config, out: &mut String) {
    out.push('\n');
    if let Some(docs) = T::docs() {
        out.push_str(&docs);
    }
    out.push_str("export ");
    out.push_str(T::decl(cfg).trim_end_matches(';'));
    out.push_str(";\n");
}

/// The whole generated file: every type of the bridge, in a stable order.
pub fn typescript_declarations() -> String {
    // serde writes every integer of these types as a JSON number, so TypeScript gets `number`
    // (ts-rs's default for 64-bit integers is `bigint`).
    let cfg = Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the engine's Rust types by src-tauri/src/bindings.rs: do not edit.\n\
         // After changing a type: UPDATE_BINDINGS=1 cargo test -p agriflux-app bindings\n",
    );
    macro_rules! declare_all {
        ($($ty:ty),* $(,)?) => { $(declare::<$ty>(&cfg, &mut out);)* };
    }
    declare_all!(
        // Runs and their events.
        StepId,
        StepStatus,
        LogLevel,
        SourceKind,
        StepInfo,
        CostEstimate,
        PlannedAction,
        PlannedStep,
        RunEvent,
        EventBatch,
        LiveRun,
        RunOptions,
        StartedRun,
        // The header, the welcome view and the About box.
        SourceBadge,
        AppInfo,
        RecentFolder,
        WorkspaceView,
        BundledLicence,
        AboutView,
        // History and reports.
        Estimate,
        StoppedAt,
        RunSummary,
        CnnHeadline,
        LstmHeadline,
        Headline,
        StepLine,
        ChartView,
        ReportMap,
        ReportView,
        Folder,
        EnvChangeRecord,
        // The settings form.
        FieldKind,
        SettingsField,
        SettingsGroup,
        SettingsView,
        AreaSize,
        SettingsCheck,
        EnvKeyView,
        DuplicateKey,
        EnvKeyEdit,
        SettingsEdits,
        SettingsChange,
        SaveOutcome,
        ConnectionResult,
        // The AI-models switch.
        BaselineFigure,
        ModelFigure,
        RunFigures,
        SwitchView,
        GateView,
        ModelsView,
        // The map.
        MapLayerId,
        LegendEntry,
        MapLayer,
        MapDate,
        SeriesPoint,
        NextForecast,
        FieldStats,
        MapField,
        MapView,
        MapPoint,
        MapProgress,
        FieldsImport,
        // Errors of every command.
        ErrorKind,
        CommandError,
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn generated_bindings_match_the_rust_types() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(BINDINGS_FILE);
        let expected = typescript_declarations();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &expected).unwrap();
            return;
        }
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            found == expected,
            "{BINDINGS_FILE} is stale: a type the window uses changed. Regenerate it with \
             `UPDATE_BINDINGS=1 cargo test -p agriflux-app bindings` and commit it."
        );
    }

    #[test]
    fn every_declared_type_is_exported_once() {
        let text = typescript_declarations();
        let mut names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("export type "))
            .filter_map(|l| l.split([' ', '<']).next())
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a type is declared twice");
        assert!(names.contains(&"CommandError") && names.contains(&"RunEvent"));
    }
}
