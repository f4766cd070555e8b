//! How the window's web view is set up on Linux, for memory: the app shows a few views of
//! its own content, not the web, so WebKitGTK's browser-sized caches and its DMA-BUF renderer
//! buy nothing here. Measured with `bench/idle-memory.sh` (README, "Idle memory"): the
//! renderer alone held about 90 MB in the web process.

use tauri::{Manager as _, Runtime};

/// Environment for WebKitGTK, set before any thread starts (it is read when the web process
/// is launched): its DMA-BUF renderer off, unless the user set the variable either way.
pub fn prepare_environment() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none() {
        // SAFETY: called first thing in `main`, while the process has one thread.
        unsafe { std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1") };
    }
}

/// Sizes WebKit's caches for a document viewer in the main window's web view (a no-op
/// elsewhere than Linux).
pub fn tune_main_webview<R: Runtime>(app: &tauri::App<R>) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    #[cfg(target_os = "linux")]
    {
        let tuned = window.with_webview(|webview| {
            use webkit2gtk::{CacheModel, WebContextExt as _, WebViewExt as _};
            if let Some(context) = webview.inner().context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
        if let Err(e) = tuned {
            tracing::warn!("web view left untuned: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}
