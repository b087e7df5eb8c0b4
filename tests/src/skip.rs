//! Tests that did not run, said out loud.
//!
//! libtest has no run-time skip: a test that returns early is reported
//! `ok`. So every skip goes through here: it is written straight to the
//! terminal (past libtest's output capture, which only takes `print!` and
//! `eprint!`) and appended to the file named by `JITSUDO_SKIP_LOG`, from
//! which `tests/run.sh` counts skipped tests and tests that ran one half
//! only, and reports them apart from the passed ones.

use std::env;
use std::fs::OpenOptions;
use std::io::Write;

use crate::world::Impl;

/// How much of a test did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// Nothing was checked.
    Whole,
    /// One implementation ran; the comparison with the other did not.
    Half,
}

impl Skipped {
    fn word(self) -> &'static str {
        match self {
            Skipped::Whole => "skipped",
            Skipped::Half => "half-skipped",
        }
    }
}

/// The running test as `binary::name` (libtest names each test's thread
/// after the test).
fn current_test() -> String {
    let binary = env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => stem,
        })
        .unwrap_or_default();
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}

/// Records that the current test (or half of it) did not run, and why.
pub fn record(what: Skipped, why: &str) {
    let line = format!("{} {}: {why}\n", what.word().to_uppercase(), current_test());
    // Unbuffered and uncaptured, so it shows even for a passing test.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = env::var_os("JITSUDO_SKIP_LOG").filter(|p| !p.is_empty()) {
        let appended = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            panic!("cannot record a skip in {}: {e}", path.to_string_lossy());
        }
    }
}

/// Whether `imp` may run under `JITSUDO_TESTS_ONLY`; if not, records the
/// whole test as skipped. For tests of one implementation that do more
/// than run a [`crate::Case`].
pub fn runs(imp: Impl) -> bool {
    let on = imp.enabled();
    if !on {
        record(
            Skipped::Whole,
            &format!("{} disabled by JITSUDO_TESTS_ONLY", imp.name()),
        );
    }
    on
}
