//! `agriflux-studio`: the AgriFlux desktop window. Everything happens in the library crate.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    agriflux_app::prepare_environment();
    agriflux_core::ml::keep_freed_memory_for_reuse();
    if let Err(e) = agriflux_app::run(std::env::args_os().skip(1).collect()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
