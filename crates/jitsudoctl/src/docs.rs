//! `jitsudoctl generate-docs DIR` (hidden; debian/rules runs it): writes the
//! man pages (DIR/man) and shell completions (DIR/completions) of jitsudo,
//! jitsudoctl and jitsudod.
//!
//! The pages and completions come from the programs' own clap definitions:
//! jitsudo's and jitsudod's command lines are compiled in from their sources
//! (`#[path]`: both files are self-contained), jitsudoctl's is this crate's.
//! jitsudo-policy(5) is converted from docs/policy.md ([`markdown`]); the
//! converted page is checked in as man/jitsudo-policy.5 and a test keeps it in
//! sync.

mod completions;
mod man;
mod markdown;

use std::path::Path;
use std::process::ExitCode;

use clap::{Command, CommandFactory, ValueHint};

#[allow(dead_code)]
#[path = "../../jitsudo/src/cli.rs"]
mod jitsudo_cli;
#[allow(dead_code)]
#[path = "../../jitsudod/src/options.rs"]
mod jitsudod_options;

/// Writes every page and completion script under `dir`.
pub fn run(dir: &Path) -> ExitCode {
    let written =
        man::write(&dir.join("man")).and_then(|()| completions::write(&dir.join("completions")));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudoctl: generate-docs: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// jitsudo's command line, with the descriptions `jitsudo -h` prints and the
/// value hints completions need (users, directories, the command).
fn jitsudo() -> Command {
    let mut cmd = jitsudo_cli::Args::command()
        .about("execute a command as another user, decided by jitsudod");
    for line in man::option_lines(&jitsudo_cli::help_text()) {
        if let Some(id) = man::arg_of(&cmd, &line) {
            cmd = cmd.mut_arg(id, |arg| arg.help(line.text.clone()));
        }
    }
    let hints = [
        ("user", ValueHint::Username),
        ("other_user", ValueHint::Username),
        ("chdir", ValueHint::DirPath),
        ("command", ValueHint::CommandWithArguments),
    ];
    for (id, hint) in hints {
        cmd = cmd.mut_arg(id, |arg| arg.value_hint(hint));
    }
    built(cmd)
}

/// `cmd` with clap's defaults filled in (how many values each option takes).
fn built(mut cmd: Command) -> Command {
    cmd.build();
    cmd
}

/// jitsudod's command line.
fn jitsudod() -> Command {
    built(jitsudod_options::Options::command())
}

/// jitsudoctl's command line.
fn jitsudoctl() -> Command {
    built(crate::Cli::command())
}
