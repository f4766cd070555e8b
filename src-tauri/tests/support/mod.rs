//! The app on Tauri's mock runtime, and one command invoked through the IPC path the web view
//! uses: shared by the app's integration tests.

use std::path::Path;

use agriflux_app::{AppFolders, Startup, context, open_workspace, setup};
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

/// The app on `dir` with its main window.
pub fn app(dir: &Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_starting(Startup {
        workdir: Some(dir.to_path_buf()),
        folders: AppFolders::None,
    })
}

/// The app started as `startup` says, with its main window.
#[allow(dead_code)] // each test file compiles this module; not every one starts this way
pub fn app_starting(startup: Startup) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = setup(mock_builder()).build(context()).unwrap();
    open_workspace(&app, startup).unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, window)
}

/// Invokes `cmd` with `args` as the window would; the answer or the error, as JSON.
pub fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}
