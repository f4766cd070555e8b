//! The settings flags of `run` and `plan`, built from the engine's settings table
//! (`agriflux_core::settings::OPTIONS`) rather than declared here, so a setting added to the
//! table is a flag, with its help and `.env` key, without touching the CLI.

use std::collections::BTreeMap;

use agriflux_core::settings::{OPTIONS, OptionInput, OptionSpec};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

/// The settings given on the command line, keyed by option name (`cnn-epochs`, …); values
/// stay text, for the engine to parse, so an error names the flag as it names a `.env` key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsFlags(pub BTreeMap<String, String>);

/// The clap argument of one table entry.
fn argument(spec: &'static OptionSpec) -> Arg {
    let arg = Arg::new(spec.name)
        .long(spec.name)
        .help(format!(
            "{} [env: {}]",
            capitalised(spec.help),
            spec.env_key()
        ))
        .conflicts_with_all(spec.conflicts_with);
    let arg = spec
        .requires
        .iter()
        .fold(arg, |arg, other| arg.requires(*other));
    match spec.input {
        OptionInput::Switch => arg.action(ArgAction::SetTrue),
        OptionInput::Bbox => arg.value_name(spec.value_name).allow_hyphen_values(true),
        _ => arg.value_name(spec.value_name),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl Args for SettingsFlags {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(OPTIONS.iter().map(argument))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for SettingsFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for spec in OPTIONS {
            let value = match spec.input {
                OptionInput::Switch => matches.get_flag(spec.name).then(|| "true".to_string()),
                _ => matches.get_one::<String>(spec.name).cloned(),
            };
            if let Some(value) = value {
                self.0.insert(spec.name.to_string(), value);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: SettingsFlags,
    }

    fn parse(args: &[&str]) -> Result<BTreeMap<String, String>, clap::Error> {
        Cli::try_parse_from(std::iter::once("agriflux").chain(args.iter().copied()))
            .map(|cli| cli.settings.0)
    }

    #[test]
    fn every_table_entry_is_a_flag() {
        for spec in OPTIONS {
            let mut args = vec![format!("--{}", spec.name)];
            if spec.input != OptionInput::Switch {
                args.push(spec.example.to_string());
            }
            for partner in spec.requires {
                let partner = agriflux_core::settings::option(partner).unwrap();
                args.extend([format!("--{}", partner.name), partner.example.to_string()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let flags = parse(&args).unwrap_or_else(|e| panic!("--{}: {e}", spec.name));
            let expected = match spec.input {
                OptionInput::Switch => "true",
                _ => spec.example,
            };
            assert_eq!(flags.get(spec.name).map(String::as_str), Some(expected));
        }
    }

    #[test]
    fn takes_a_negative_bbox_and_keeps_unset_flags_out() {
        let flags = parse(&["--bbox", "-60.1,-3.2,-60.0,-3.1"]).unwrap();
        assert_eq!(
            flags,
            BTreeMap::from([("bbox".to_string(), "-60.1,-3.2,-60.0,-3.1".to_string())])
        );
    }

    #[test]
    fn refuses_start_without_end_and_days_back_with_dates() {
        assert!(parse(&["--start", "2025-01-01"]).is_err());
        let err = parse(&[
            "--days-back",
            "30",
            "--start",
            "2025-01-01",
            "--end",
            "2025-02-01",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
