//! `policy check` and `policy diff`: the policy files read and parsed here,
//! with the daemon's own loader (`jitsudo_policy::files`), no daemon needed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jitsudo_policy::{files, parse, Policy, PolicyError};

use crate::{Format, POLICY};

/// Parses candidate files into a policy, printing errors.
fn load_candidates(paths: &[PathBuf]) -> Option<Policy> {
    let parsed = files::candidate_sources(paths)
        .map_err(|e| vec![e.to_string()])
        .and_then(|sources| {
            parse(&sources).map_err(|errors| errors.iter().map(ToString::to_string).collect())
        });
    match parsed {
        Ok(policy) => Some(policy),
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            None
        }
    }
}

/// `policy diff OLD NEW`: exit 0 when nothing changes, 1 when something
/// does, 2 when a policy has errors.
pub fn diff(old: &Path, new: &Path, format: Format) -> ExitCode {
    let (Some(old), Some(new)) = (
        load_candidates(&[old.to_path_buf()]),
        load_candidates(&[new.to_path_buf()]),
    ) else {
        return ExitCode::from(2);
    };
    let changes = jitsudo_policy::entitlement_diff(&old, &new);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&changes).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        Format::Text => {
            for change in &changes {
                println!("{change}");
            }
        }
    }
    if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `policy check [FILES…]`: exit 1 on errors.
pub fn check(paths: &[PathBuf], format: Format) -> ExitCode {
    let names: Vec<String> = if paths.is_empty() {
        vec![POLICY.to_string()]
    } else {
        paths.iter().map(|f| f.display().to_string()).collect()
    };
    let sources = if paths.is_empty() {
        files::installed_sources(Path::new(POLICY))
    } else {
        files::candidate_sources(paths)
    };
    let errors: Vec<PolicyError> = match sources {
        Err(error) => vec![PolicyError {
            file: names.join(", "),
            line: 0,
            column: 0,
            message: error.to_string(),
        }],
        Ok(sources) => parse(&sources).err().unwrap_or_default(),
    };
    report(&names, &errors, format);
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report(names: &[String], errors: &[PolicyError], format: Format) {
    let out = match format {
        Format::Json => serde_json::json!({
            "ok": errors.is_empty(),
            "files": names,
            "errors": errors.iter().map(|e| serde_json::json!({
                "file": e.file, "line": e.line, "column": e.column, "message": e.message,
            })).collect::<Vec<_>>(),
        })
        .to_string(),
        Format::Text if errors.is_empty() => names
            .iter()
            .map(|n| format!("{n}: parsed OK"))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Text => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    // Errors in text form go to stderr, like visudo's; JSON always to stdout.
    if errors.is_empty() || format == Format::Json {
        println!("{out}");
    } else {
        eprintln!("{out}");
    }
}
