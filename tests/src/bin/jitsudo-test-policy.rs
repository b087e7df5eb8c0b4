//! Writes an equivalent jitsudo policy and sudoers drop-in for the benchmark
//! (tests/bench/sudo-vs-jitsudo.sh), from the same rule table code the tests
//! use, so the two sides of the comparison cannot drift.
//!
//! Usage: `jitsudo-test-policy USER EXTRA_RULES TOML_OUT SUDOERS_OUT`
//!
//! USER gets `ALL` without a password (the first rule); EXTRA_RULES more
//! rules follow, each for another (non-existent) user and command, so an
//! implementation has to get past all of them to decide.

use std::process::ExitCode;

use jitsudo_tests::policy::{Cmd, Config, Defaults, Rule, Who};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [user, extra, toml_out, sudoers_out] = args.as_slice() else {
        eprintln!("usage: jitsudo-test-policy USER EXTRA_RULES TOML_OUT SUDOERS_OUT");
        return ExitCode::from(2);
    };
    let Ok(extra) = extra.parse::<usize>() else {
        eprintln!("EXTRA_RULES must be a number, not {extra:?}");
        return ExitCode::from(2);
    };
    let mut rules = vec![
        Rule::new("bench", vec![Who::User(user.clone())], vec![Cmd::All])
            .run_as(&["ALL"])
            .nopasswd(),
    ];
    rules.extend((0..extra).map(Rule::filler));
    let config = Config {
        defaults: Defaults::default(),
        rules,
    };
    for (path, text) in [
        (toml_out, config.to_toml()),
        (sudoers_out, config.to_sudoers()),
    ] {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
