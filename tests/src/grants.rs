//! Helpers of the grant tests (tests/tests/grants.rs, grant_kinds.rs):
//! running `jitsudo` and `jitsudoctl` as a test user against a test's own
//! daemon, reading their JSON, and watching processes die.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::daemon::Daemon;
use crate::util::{make_dir, poll_until};
use crate::world;

/// `program args` as `user` (with their groups), in a directory they may
/// read, talking to `d`.
pub fn as_user(user: &str, d: &Daemon, program: &str, args: &[&str]) -> Command {
    let bin = world().jitsudo_bin().join(program);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", user, "--regid", user, "--init-groups", "--"])
        .arg(bin)
        .args(args)
        .env("JITSUDO_SOCKET", &d.socket)
        .current_dir("/")
        .stdin(Stdio::null());
    cmd
}

/// Runs `jitsudoctl args` as `user`.
pub fn ctl(user: &str, d: &Daemon, args: &[&str]) -> std::process::Output {
    as_user(user, d, "jitsudoctl", args)
        .output()
        .expect("run jitsudoctl")
}

/// Runs `jitsudo args` as `user`.
pub fn sudo(user: &str, d: &Daemon, args: &[&str]) -> std::process::Output {
    as_user(user, d, "jitsudo", args)
        .output()
        .expect("run jitsudo")
}

/// Bytes as text, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Succeeds with a JSON record; panics with the output otherwise.
pub fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Fails with status 1 and this text on stderr (one line).
pub fn refused(out: &std::process::Output, expected: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}{}", text(&out.stdout));
    assert!(err.contains(expected), "expected {expected:?} in {err:?}");
}

/// Whether `pid` is alive (not gone, not a zombie).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A scratch directory the requester may write.
pub fn scratch(name: &str) -> PathBuf {
    let dir = world().scratch_dir(name);
    make_dir(&dir, 0o777);
    dir
}

/// Waits until every pid is dead; when the last died (unix seconds), or
/// `None` (after killing them) if one outlived `bound`.
pub fn wait_all_dead(pids: &[i32], bound: Duration) -> Option<f64> {
    let dead = poll_until(bound, || pids.iter().all(|p| !alive(*p)).then(unix_now));
    if dead.is_none() {
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    dead
}
