//! jitsudod's command line. Self-contained (clap and std only): jitsudoctl
//! includes this file to generate jitsudod(8) and its shell completions
//! (`jitsudoctl generate-docs`, crates/jitsudoctl/src/docs.rs).

use std::path::PathBuf;

use clap::Parser;

/// Command-line options.
#[derive(Parser, Debug)]
#[command(name = "jitsudod", version, about = "The jitsudo daemon")]
pub(crate) struct Options {
    /// Stay in the foreground (for systemd and tests).
    #[arg(long)]
    pub(crate) foreground: bool,
    /// Socket to listen on.
    #[arg(long, default_value = "/run/jitsudo/jitsudod.sock")]
    pub(crate) socket: PathBuf,
    /// Main policy file; drop-ins are read from `policy.d` beside it.
    #[arg(long, default_value = "/etc/jitsudo/policy.toml")]
    pub(crate) policy: PathBuf,
    /// Directory for persistent state.
    #[arg(long, default_value = "/var/lib/jitsudo")]
    pub(crate) state_dir: PathBuf,
    /// cgroup (as /proc/self/cgroup names it, e.g. `/jitsudo`) under which
    /// each command gets its own group. Default: the unit's own cgroup
    /// under systemd (`Delegate=yes`), else `jitsudo` below the daemon's.
    #[arg(long)]
    pub(crate) cgroup_root: Option<PathBuf>,
    /// The local hash-chained audit trail (JSON lines).
    #[arg(long, default_value = "/var/log/jitsudo/audit.jsonl")]
    pub(crate) audit_file: PathBuf,
    /// Where session recordings (`record = true`) are kept.
    #[arg(long, default_value = "/var/log/jitsudo/sessions")]
    pub(crate) session_dir: PathBuf,
    /// journald's native socket (for tests: a socket nothing listens on
    /// makes journald unreachable).
    #[arg(long, default_value = "/run/systemd/journal/socket", hide = true)]
    pub(crate) journal_socket: PathBuf,
    /// Internal: fork a worker for each request of the daemon on fd 0.
    #[arg(long, hide = true)]
    pub(crate) fork_server: bool,
    /// Internal (with --fork-server): the directory of the daemon's cgroup
    /// subtree, where the command's group is made.
    #[arg(long, hide = true)]
    pub(crate) worker_cgroup: Option<PathBuf>,
}
