#![forbid(unsafe_code)]

//! `jitsudoctl`: jitsudo administration.
//!
//! * `policy check` validates the installed policy or candidate files
//!   (like `visudo -c`/`-cf`);
//! * `policy explain` asks the daemon what it decides for a described
//!   request, and why (like `doas -C`);
//! * `policy diff` lists who gains or loses which command as whom;
//! * `policy import-sudoers` converts a sudoers file;
//! * `policy reload` makes the daemon re-read its policy and reports errors.
//!
//! `check`, `diff` and `import-sudoers` work offline; `explain` and
//! `reload` talk to jitsudod (root only).
//!
//! `audit` reads the local trail, `audit verify` proves its hash chain and
//! `audit exposure` sums up privilege held per user (docs/audit.md);
//! `replay` plays a recorded session back.
//!
//! The grant verbs (`request`, `requests`, `approve`, `deny`, `cancel`,
//! `grants`, `revoke`, `done`, `extend`) are for every user: see
//! [`grants`] and docs/grants.md.

mod audit;
mod checkpoints;
mod complete;
mod daemon;
mod docs;
mod error;
mod explain;
mod exposure;
mod grants;
mod import;
mod journal;
mod offline;
mod prompt;
mod replay;
mod session;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Default location of the installed policy.
const POLICY: &str = "/etc/jitsudo/policy.toml";
/// Default daemon socket.
const SOCKET: &str = "/run/jitsudo/jitsudod.sock";

#[derive(Parser)]
#[command(
    name = "jitsudoctl",
    version,
    about = "Ask for, approve and use just-in-time grants; administer jitsudo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Just-in-time grants.
    #[command(flatten)]
    Grant(grants::GrantCommand),
    /// Start a shell under my group, caps or shell grant ID on this
    /// terminal: my shell with the grant's group or capabilities, or the
    /// granted user's login shell. The grant's end ends it.
    Shell(session::SessionArgs),
    /// Run one command under my group, caps or shell grant ID.
    Run(session::SessionArgs),
    /// The daemon's version, uptime, policy in force, last reload and load
    /// (connections, workers idle, bound to a password prompt or busy,
    /// pending grant requests and grants in force); exit 1 when it cannot
    /// be reached (the state needs root).
    Status {
        /// The daemon's socket.
        #[arg(long, default_value = SOCKET)]
        socket: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Read the local audit trail (filters below), prove its hash chain
    /// (`verify`), or sum up privilege held per user (`exposure`).
    Audit(audit::AuditArgs),
    /// Play a recorded session (`record = true`) back with its timing, or
    /// list the recordings (root only).
    Replay(replay::ReplayArgs),
    /// Write the man pages and shell completions into DIR (for packaging).
    #[command(hide = true)]
    GenerateDocs {
        /// Output directory: DIR/man, DIR/completions.
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate policy files without installing them; exit 1 on errors.
    Check {
        /// Files to check, in order (main file first); default: the
        /// installed policy and its drop-ins.
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What jitsudod decides for a request, and why; exit 0 if allowed
    /// (root only).
    Explain(explain::ExplainArgs),
    /// Entitlement diff: who gains and who loses which command as whom.
    /// Exit 0 when nothing changes, 1 when something does.
    Diff {
        /// The policy before (one file).
        old: PathBuf,
        /// The policy after (one file).
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Convert a sudoers file (and what it includes) to a jitsudo policy on
    /// stdout; what could not be converted faithfully goes to stderr.
    ImportSudoers {
        /// The sudoers file.
        #[arg(default_value = "/etc/sudoers")]
        file: PathBuf,
    },
    /// Make jitsudod re-read its policy now (root only); an invalid policy
    /// is refused, its errors printed, and the old one stays in force.
    Reload {
        /// The daemon's socket.
        #[arg(long, default_value = SOCKET)]
        socket: PathBuf,
    },
}

/// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON document for tools.
    Json,
}

fn main() -> ExitCode {
    if let Some(what) = complete::asked() {
        return complete::run(&what);
    }
    match Cli::parse().command {
        Command::Policy(PolicyCommand::Check { files, format }) => offline::check(&files, format),
        Command::Policy(PolicyCommand::Explain(args)) => explain::run(&args),
        Command::Policy(PolicyCommand::Diff { old, new, format }) => {
            offline::diff(&old, &new, format)
        }
        Command::Policy(PolicyCommand::ImportSudoers { file }) => import::run(&file),
        Command::Policy(PolicyCommand::Reload { socket }) => daemon::reload(&socket),
        Command::Grant(command) => grants::run(&command),
        Command::Shell(args) => session::run(&args, false),
        Command::Run(args) => session::run(&args, true),
        Command::Status { socket, format } => status::run(&socket, format),
        Command::Audit(args) => audit::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::GenerateDocs { dir } => docs::run(&dir),
    }
}
