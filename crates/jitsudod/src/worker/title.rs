//! The worker's name in `ps`: `jitsudod: worker [idle]` while it waits in
//! the pool, `jitsudod: worker alice → root /usr/bin/systemctl` while it
//! serves a job, so an admin finds workers with `pgrep -f jitsudod` and
//! sees whose command a busy one runs.
//!
//! The command name (`comm`, what `top` and plain `pgrep` show) becomes
//! `jitsudod-worker` with `PR_SET_NAME`. The command line is written over
//! the worker's own argv strings, as `setproctitle(3)` does: the daemon
//! starts workers with an `argv[0]` of [`IDLE`] padded with spaces to
//! [`ARGV0_LEN`] bytes, which leaves room for a busy title; the rest of the
//! area is zeroed (`ps` drops trailing NULs): `jitsudo_sys::process::
//! set_title`. The worker has parsed its arguments before and never reads
//! them again, and it is single-threaded.
//! (`PR_SET_MM_ARG_START` would avoid the rewrite but needs
//! `CAP_SYS_RESOURCE`, which containers often drop.)

use crate::request::job::{Job, Then};

/// The title of a worker waiting for a job.
pub const IDLE: &str = "jitsudod: worker [idle]";

/// Length of the `argv[0]` workers are started with: the room for titles.
pub const ARGV0_LEN: usize = 256;

/// The worker's `comm` (at most 15 bytes).
const COMM: &std::ffi::CStr = c"jitsudod-worker";

/// The fork server's title (not a worker's: it serves no request).
pub const FORK_SERVER: &str = "jitsudod: fork server";

/// The fork server's `comm`.
const FORK_SERVER_COMM: &std::ffi::CStr = c"jitsudod-fork";

/// The `argv[0]` a worker is started with: [`IDLE`], padded.
pub fn argv0() -> String {
    format!("{IDLE:ARGV0_LEN$}")
}

/// The title of a worker serving `job`: who runs what as whom (arguments
/// are left out), or who is authenticating for a reply.
pub fn busy(job: &Job) -> String {
    let user = printable(&job.audit.user);
    match &job.then {
        Then::Run(_) | Then::Edit(_) => format!(
            "jitsudod: worker {user} → {} {}",
            printable(&job.audit.run_as),
            printable(&job.audit.command)
        ),
        Then::Reply(_) => format!("jitsudod: worker {user} [authenticating]"),
        Then::Review => format!("jitsudod: worker {user} [reviewing]"),
    }
}

/// Caller-chosen bytes made safe to show: UTF-8 (lossy), control
/// characters as `?`.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Sets the worker's `comm` and command line to `title`, cut to fit (best
/// effort: a name is a convenience, never a reason to fail a request).
pub fn set(title: &str) {
    let _ = nix::sys::prctl::set_name(COMM);
    let _ = jitsudo_sys::process::set_title(title);
}

/// Names the fork server (best effort, as [`set`]).
pub fn set_fork_server() {
    let _ = nix::sys::prctl::set_name(FORK_SERVER_COMM);
    let _ = jitsudo_sys::process::set_title(FORK_SERVER);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_bytes_are_shown_safely() {
        assert_eq!(printable(b"alice"), "alice");
        assert_eq!(printable(b"/tmp/x\x1b[2J\n"), "/tmp/x?[2J?");
        assert_eq!(printable(b"\xff"), "\u{fffd}");
    }

    #[test]
    fn idle_workers_have_room_for_a_title() {
        assert_eq!(argv0().len(), ARGV0_LEN);
        assert!(argv0().starts_with(IDLE));
    }
}
