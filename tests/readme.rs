//! The README says what the product does: its option list is checked against the engine's
//! table of settings, so a new setting cannot be left out of it.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use agriflux_core::settings::OPTIONS;

/// Flags of `agriflux run` that are not settings: where to run, how to print, what to re-run.
const RUN_FLAGS: [&str; 4] = ["workdir", "events", "from", "force"];

/// The flags named in the README's `agriflux run [...]` usage block.
fn readme_run_flags() -> BTreeSet<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = fs::read_to_string(&readme).unwrap();
    let start = text
        .find("```\nagriflux run [")
        .expect("README has an `agriflux run [...]` usage block");
    let block = &text[start + 4..];
    let block = &block[..block.find("```").expect("the usage block ends")];
    block
        .split(|c: char| c.is_whitespace() || "[]|".contains(c))
        .filter_map(|token| token.strip_prefix("--"))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_lists_every_run_option_and_no_other() {
    let listed = readme_run_flags();
    let expected: BTreeSet<String> = OPTIONS
        .iter()
        .map(|o| o.name.to_string())
        .chain(RUN_FLAGS.iter().map(|f| f.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&expected).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "README's `agriflux run` usage: missing {missing:?}, not an option {unknown:?}"
    );
}
