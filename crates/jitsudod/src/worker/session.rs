//! The command's terminal session: with a pty, the worker is the session
//! leader and every process the command starts stays in the session unless
//! it makes its own (`setsid`). A hang-up reaches all of their process
//! groups (a shell's jobs included), whatever the shell passes on.

use std::collections::BTreeSet;

use jitsudo_sys::proc::{self, Stat};
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
    let Ok(pids) = proc::pids() else {
        return BTreeSet::new();
    };
    pids.filter_map(|pid| Stat::of(pid).ok())
        .filter(|stat| stat.session == session.as_raw())
        .map(|stat| Pid::from_raw(stat.pgrp))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_session_is_found() {
        let own = getsid(None).unwrap();
        assert!(groups_in(own).contains(&getpgrp()));
    }
}
