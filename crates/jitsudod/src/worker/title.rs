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
//! area is zeroed (`ps` drops trailing NULs). The worker has parsed its
//! arguments before and never reads them again, and it is single-threaded.
//! (`PR_SET_MM_ARG_START` would avoid the rewrite but needs
//! `CAP_SYS_RESOURCE`, which containers often drop.)

use crate::request::job::{Job, Then};

/// The title of a worker waiting for a job.
pub const IDLE: &str = "jitsudod: worker [idle]";

/// Length of the `argv[0]` workers are started with: the room for titles.
pub const ARGV0_LEN: usize = 256;

/// The worker's `comm` (at most 15 bytes).
const COMM: &std::ffi::CStr = c"jitsudod-worker";

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
    let Some((start, end)) = argv_area() else {
        return;
    };
    let room = end.saturating_sub(start).saturating_sub(1);
    let mut len = title.len().min(room);
    while !title.is_char_boundary(len) {
        len -= 1;
    }
    // SAFETY: [start, end) is this process's argv area as the kernel
    // reports it: mapped, writable stack memory holding NUL-terminated
    // strings. We write `len` < end - start bytes of title and zero the
    // rest, so it stays NUL-terminated for anyone (std's `args()`, glibc's
    // `program_invocation_name`) who reads it later; nothing reads it
    // concurrently (the worker is single-threaded).
    unsafe {
        let area = start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), area, len);
        std::ptr::write_bytes(area.add(len), 0, end - start - len);
    }
}

/// The bounds of the argv strings (`arg_start`, `arg_end`), from
/// /proc/self/stat, fields 48 and 49.
fn argv_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields from the third on follow the last ')' (the name may hold any).
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(48 - 3);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    (start != 0 && end > start).then_some((start, end))
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
    fn the_command_line_becomes_the_title() {
        set("jitsudod: worker unit-test");
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
        let shown = cmdline.split(|b| *b == 0).next().unwrap();
        assert_eq!(shown, b"jitsudod: worker unit-test");
        assert!(cmdline[shown.len()..].iter().all(|b| *b == 0));
        assert_eq!(argv0().len(), ARGV0_LEN);
        assert!(argv0().starts_with(IDLE));
    }
}
