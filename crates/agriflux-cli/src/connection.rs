//! `agriflux check-connection`: fetch a token and run a one-result catalog search, then say
//! precisely what works or what is wrong. The client secret is never printed.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;

use agriflux_core::pipeline::WorkDir;
use agriflux_core::sentinel_hub::{ShError, check_connection};
use agriflux_core::settings::load_settings;

use crate::args::CheckConnectionArgs;

/// Runs the check; exit 0 when the service answered, 1 otherwise.
pub fn run(args: CheckConnectionArgs) -> Result<ExitCode> {
    let workdir = WorkDir::new(&args.workdir);
    let env_path = workdir.env_file();
    let settings = load_settings(&env_path, &BTreeMap::new())?;
    let sh = &settings.sentinel_hub;
    println!(
        "Checking {} ({}): token {}, API {}",
        sh.deployment.label(),
        sh.deployment,
        sh.token_url,
        sh.base_url
    );
    if !sh.client_id.is_empty() {
        println!(
            "client id {}, secret {}",
            sh.client_id,
            if sh.client_secret.is_empty() {
                "not set"
            } else {
                "set (hidden)"
            }
        );
    }
    match check_connection(sh, &settings.bbox, &env_path.display().to_string()) {
        Ok(report) => {
            println!(
                "connection OK: token obtained and catalog search answered by {} at {} ({} acquisition(s) found in the last 30 days over {})",
                report.label, report.base_url, report.features, settings.bbox
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("connection failed: {}: {e}", category(&e));
            Ok(ExitCode::from(1))
        }
    }
}

/// A short name of the failure, first on the error line.
fn category(e: &ShError) -> &'static str {
    match e {
        ShError::MissingCredentials { .. } => "missing credentials",
        ShError::WrongSecret { .. } => "wrong secret",
        ShError::WrongDeployment { .. } => "wrong deployment for these credentials",
        ShError::Unreachable { .. } => "unreachable host",
        ShError::RateLimited { .. } => "rate limited",
        ShError::Forbidden { .. } => "access denied",
        ShError::QuotaExhausted { .. } => "quota used up",
        ShError::InsecureUrl { .. } => "insecure URL",
        ShError::Unauthorized { .. } => "unauthorised",
        ShError::Http { .. } => "HTTP error",
        ShError::BadResponse { .. } => "unexpected answer",
        ShError::AreaTooLarge { .. } => "area too large",
        ShError::Cancelled => "cancelled",
    }
}
