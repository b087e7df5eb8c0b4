//! Tests of the sudoers converter: real-world files converted exactly
//! (`fixtures`), the meaning of the converted policies (`semantics`), one
//! test per construct (`constructs`), the parser (`parse`) and includes
//! (`includes`).
//!
//! The expected policies of the fixtures are in `testdata/expected/`;
//! `JITSUDO_BLESS=1 cargo test` rewrites them (review the diff).

mod constructs;
mod fixtures;
mod includes;
mod parse;
mod semantics;

use std::path::Path;

use super::{import, Conversion, Include};
use jitsudo_policy::{parse as parse_policy, Policy, Source};

/// Converts one file named `/etc/sudoers.d/<name>` whose includes fail.
pub(super) fn convert(name: &str, text: &str) -> Conversion {
    let main = Source {
        name: format!("/etc/sudoers.d/{name}"),
        text: text.to_owned(),
    };
    let mut read = |include: &Include| -> Result<Vec<Source>, String> {
        Err(format!("{}: not available in this test", include.path))
    };
    import(&main, &mut read)
}

/// Parses a converted policy, panicking with the text on errors.
pub(super) fn policy_of(conversion: &Conversion) -> Policy {
    let source = Source {
        name: "converted.toml".into(),
        text: conversion.toml.clone(),
    };
    parse_policy(&[source])
        .unwrap_or_else(|errors| panic!("{errors:#?}\n--- policy:\n{}", conversion.toml))
}

/// The notes as `file:line: LABEL: construct: reason` lines.
pub(super) fn notes(conversion: &Conversion) -> Vec<String> {
    conversion
        .unconverted
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The policy text without comments and blank lines.
pub(super) fn tables(conversion: &Conversion) -> String {
    conversion
        .toml
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(|line| match line.find("  # ") {
            Some(cut) => &line[..cut],
            None => line,
        })
        .fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

/// Compares `actual` with `testdata/expected/<name>.toml`, or rewrites
/// that file when `JITSUDO_BLESS` is set.
pub(super) fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/testdata/expected")
        .join(format!("{name}.toml"));
    if std::env::var_os("JITSUDO_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with JITSUDO_BLESS=1)", path.display()));
    assert!(
        actual == expected,
        "{name}: the converted policy differs from {} (JITSUDO_BLESS=1 rewrites it):\n{actual}",
        path.display()
    );
}
