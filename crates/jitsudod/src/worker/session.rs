//! The command's terminal session: with a pty, the worker is the session
//! leader and every process the command starts stays in the session unless
//! it makes its own (`setsid`). A hang-up reaches all of their process
//! groups (a shell's jobs included), whatever the shell passes on.

use std::collections::BTreeSet;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{getpgrp, getsid, Pid};

/// Sends `signal` to every process group of the worker's session except the
/// worker's own. Only the worker's descendants can be in its session.
pub fn signal_groups(signal: Signal) {
    let Ok(session) = getsid(None) else { return };
    let own = getpgrp();
    for group in groups_in(session) {
        if group != own {
            let _ = killpg(group, signal);
        }
    }
}

/// The process groups of the processes in `session` (from /proc).
fn groups_in(session: Pid) -> BTreeSet<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_pid))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| group_and_session(&stat))
        .filter(|(_, sid)| *sid == session)
        .map(|(group, _)| group)
        .collect()
}

fn is_pid(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// The process group and session from a /proc/PID/stat line: "pid (comm)
/// state ppid pgrp session ...", where comm may hold anything but ends at
/// the last ')'.
fn group_and_session(stat: &str) -> Option<(Pid, Pid)> {
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let mut next = || fields.next();
    let _state = next()?;
    let _ppid = next()?;
    let group = next()?.parse().ok()?;
    let session = next()?.parse().ok()?;
    Some((Pid::from_raw(group), Pid::from_raw(session)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_parsed() {
        let line = "4242 (a) b) c) S 1 4240 4200 34816 4240 4194560 0";
        assert_eq!(
            group_and_session(line),
            Some((Pid::from_raw(4240), Pid::from_raw(4200)))
        );
        assert_eq!(group_and_session("4242 (x) S 1"), None);
        assert_eq!(group_and_session("garbage"), None);
    }

    #[test]
    fn own_session_is_found() {
        let own = getsid(None).unwrap();
        assert!(groups_in(own).contains(&getpgrp()));
    }
}
