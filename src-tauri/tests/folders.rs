//! The work directory on Tauri's mock runtime: a first start with none open (the welcome view),
//! switching between remembered folders, the About box, and the plugins' commands, which the
//! window is not allowed to call (the backend opens the dialog and sends notifications).

use agriflux_app::{AppFolders, Startup};
use serde_json::json;

mod support;
use support::{app_starting, invoke};

#[test]
fn a_first_start_opens_no_folder_and_commands_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = app_starting(Startup {
        workdir: None,
        folders: AppFolders::At {
            config: tmp.path().join("config"),
        },
    });
    let view = invoke(&window, "workspace_view", json!({})).unwrap();
    assert!(view["current"].is_null(), "{view}");
    assert_eq!(view["recent"], json!([]));
    let err = invoke(&window, "read_settings", json!({})).unwrap_err();
    assert_eq!(err["kind"], "not_found", "{err}");
    assert!(
        err["summary"]
            .as_str()
            .unwrap()
            .contains("No work directory is open")
    );
}

#[test]
fn reopens_the_last_folder_and_switches_only_to_remembered_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let (north, south) = (tmp.path().join("north"), tmp.path().join("south"));
    for dir in [&north, &south] {
        drop(app_starting(Startup {
            workdir: Some(dir.clone()),
            folders: AppFolders::At {
                config: config.clone(),
            },
        }));
    }
    let (_app, window) = app_starting(Startup {
        workdir: None,
        folders: AppFolders::At { config },
    });
    let south = std::fs::canonicalize(&south).unwrap().display().to_string();
    let north = std::fs::canonicalize(&north).unwrap().display().to_string();
    let view = invoke(&window, "workspace_view", json!({})).unwrap();
    assert_eq!(view["current"], south, "the most recent folder reopens");
    let recent: Vec<_> = view["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].clone())
        .collect();
    assert_eq!(recent, vec![json!(south), json!(north)]);

    let view = invoke(&window, "open_recent_workdir", json!({ "path": north })).unwrap();
    assert_eq!(view["current"], north);
    let info = invoke(&window, "app_info", json!({})).unwrap();
    assert_eq!(
        info["workdir"], north,
        "every command now uses the folder opened"
    );

    // A page cannot point the app at a folder of its choosing.
    let elsewhere = tmp.path().join("elsewhere");
    let err = invoke(
        &window,
        "open_recent_workdir",
        json!({ "path": elsewhere.display().to_string() }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "not_found", "{err}");
    assert!(!elsewhere.exists(), "nothing made for a refused folder");
}

#[test]
fn a_removed_recent_folder_is_listed_as_missing_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let gone = tmp.path().join("gone");
    drop(app_starting(Startup {
        workdir: Some(gone.clone()),
        folders: AppFolders::At {
            config: config.clone(),
        },
    }));
    let gone = std::fs::canonicalize(&gone).unwrap();
    std::fs::remove_dir(&gone).unwrap();
    let (_app, window) = app_starting(Startup {
        workdir: Some(tmp.path().join("farm")),
        folders: AppFolders::At { config },
    });
    let view = invoke(&window, "workspace_view", json!({})).unwrap();
    let entry = view["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == gone.display().to_string())
        .cloned()
        .unwrap();
    assert_eq!(entry["exists"], false);
    let err = invoke(
        &window,
        "open_recent_workdir",
        json!({ "path": gone.display().to_string() }),
    )
    .unwrap_err();
    assert!(
        err["summary"]
            .as_str()
            .unwrap()
            .contains("no longer exists"),
        "{err}"
    );
}

#[test]
fn about_names_versions_licences_and_the_log_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = support::app(tmp.path());
    let about = invoke(&window, "about", json!({})).unwrap();
    assert_eq!(about["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        about["engine_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    let date = about["build_date"].as_str().unwrap();
    assert!(
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
        "{date}"
    );
    assert!(
        about["log_folder"].as_str().unwrap().ends_with("logs"),
        "{about}"
    );
    let licences = about["bundled"].to_string();
    assert!(licences.contains("Ubuntu Font Licence 1.0"), "{licences}");
}

/// The window has no dialog or notification permission: the backend uses both plugins itself.
#[test]
fn the_window_cannot_call_the_dialog_or_notification_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let (_app, window) = support::app(tmp.path());
    for (cmd, args) in [
        (
            "plugin:dialog|open",
            json!({ "options": { "directory": true } }),
        ),
        ("plugin:dialog|save", json!({ "options": {} })),
        (
            "plugin:notification|notify",
            json!({ "options": { "title": "x" } }),
        ),
        ("plugin:notification|request_permission", json!({})),
    ] {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{cmd}: {err}");
    }
    let main = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/main.json"),
    )
    .unwrap();
    assert!(
        !main.contains("dialog:") && !main.contains("notification:"),
        "{main}"
    );
}
