//! The end-to-end tests of the `agriflux` binary and of the Sentinel Hub client against the
//! emulator, in one test binary (a module per file): the engine is linked once and the
//! emulator compiled once. `cargo test --workspace --features agriflux-app/test-hooks --test
//! e2e -- cli_run::` runs one file's tests.

mod emulator;

mod cli_commands;
mod cli_evaluation;
mod cli_failures;
mod cli_files;
mod cli_incremental;
mod cli_lock;
mod cli_map;
mod cli_models;
mod cli_run;
mod cli_secrets;
mod cli_sentinel_hub;
mod cli_supervision;
mod sentinel_hub;
