//! Where a caller is coming from, from facts the caller cannot forge: its
//! controlling terminal (from the kernel), its audit session (set by
//! `pam_loginuid` at login, inherited by every descendant, orphans
//! included, and not changeable by users) and its ancestry (no user process
//! can change its parents).
//!
//! The decision, for a caller with a terminal:
//!
//! * a root-owned sshd among its ancestors, or holding its audit session
//!   (the session an SSH login opened), makes it `Ssh`;
//! * an audit session that no root-owned process holds any more (the login
//!   that opened it has ended: a process left behind by an SSH session that
//!   disconnected) is `Unknown`, which satisfies no `origin` list;
//! * anything else (a console or graphical login, a local terminal, a
//!   session without audit id) is `Local`.
//!
//! Only worked out when the policy has a `when.origin` condition, and only
//! while the caller is pinned by its pidfd: the peer identification fails
//! if the caller is gone before it ends (its pid may name another process
//! by now).

use std::path::Path;

use jitsudo_policy::Origin;
use jitsudo_sys::proc::{self, Stat, Status};

/// The ssh daemon's programs: the listener, and the per-session process of
/// OpenSSH ≥ 9.8.
const SSHD: [&str; 2] = ["/usr/sbin/sshd", "/usr/lib/openssh/sshd-session"];
/// How far up the process tree to look.
const MAX_DEPTH: usize = 64;

/// The origin of process `pid`, which has a terminal or not. The caller
/// pins `pid` with its pidfd and checks it afterwards (the peer
/// identification), so what is read here is about the caller.
pub fn of(pid: i32, has_tty: bool) -> Origin {
    if has_tty {
        decide(&Proc, pid)
    } else {
        Origin::None
    }
}

/// What the decision needs to know about processes (the real `/proc`, or a
/// made-up table in tests).
trait Processes {
    /// The parent of `pid`.
    fn parent(&self, pid: i32) -> Option<i32>;
    /// The audit session of `pid` (`None`: never set, or no audit).
    fn audit_session(&self, pid: i32) -> Option<u32>;
    /// Every running process whose audit session is `session`.
    fn in_session(&self, session: u32) -> Vec<i32>;
    /// Whether `pid` runs as root.
    fn is_root(&self, pid: i32) -> bool;
    /// Whether `pid` runs one of the system's sshd programs.
    fn runs_sshd(&self, pid: i32) -> bool;
}

/// The origin of the terminal-holding process `pid` (see the module
/// documentation).
fn decide(table: &impl Processes, pid: i32) -> Origin {
    let root_sshd = |p: &i32| table.is_root(*p) && table.runs_sshd(*p);
    if ancestors(table, pid).any(|p| root_sshd(&p)) {
        return Origin::Ssh;
    }
    let Some(session) = table.audit_session(pid) else {
        return Origin::Local;
    };
    let holders: Vec<i32> = table
        .in_session(session)
        .into_iter()
        .filter(|p| table.is_root(*p))
        .collect();
    if holders.iter().any(root_sshd) {
        Origin::Ssh
    } else if holders.is_empty() {
        Origin::Unknown
    } else {
        Origin::Local
    }
}

/// `pid`'s parent, grandparent, … up to (not including) pid 1.
fn ancestors(table: &impl Processes, pid: i32) -> impl Iterator<Item = i32> + '_ {
    let mut current = pid;
    std::iter::from_fn(move || {
        current = table.parent(current).filter(|p| *p > 1)?;
        Some(current)
    })
    .take(MAX_DEPTH)
}

/// The running system, through `/proc`.
struct Proc;

impl Processes for Proc {
    fn parent(&self, pid: i32) -> Option<i32> {
        Stat::of(pid).ok().map(|stat| stat.ppid)
    }

    fn audit_session(&self, pid: i32) -> Option<u32> {
        proc::audit_session(pid).ok().flatten()
    }

    fn in_session(&self, session: u32) -> Vec<i32> {
        let Ok(pids) = proc::pids() else {
            return Vec::new();
        };
        pids.filter(|pid| self.audit_session(*pid) == Some(session))
            .collect()
    }

    fn is_root(&self, pid: i32) -> bool {
        Status::of(pid).is_ok_and(|status| status.uid == 0)
    }

    fn runs_sshd(&self, pid: i32) -> bool {
        proc::exe(pid).is_ok_and(|exe| SSHD.iter().any(|sshd| exe == Path::new(sshd)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// One made-up process.
    #[derive(Clone, Copy)]
    struct Fake {
        ppid: i32,
        session: Option<u32>,
        root: bool,
        sshd: bool,
    }

    struct Table(HashMap<i32, Fake>);

    impl Processes for Table {
        fn parent(&self, pid: i32) -> Option<i32> {
            self.0.get(&pid).map(|p| p.ppid)
        }
        fn audit_session(&self, pid: i32) -> Option<u32> {
            self.0.get(&pid)?.session
        }
        fn in_session(&self, session: u32) -> Vec<i32> {
            let mut pids: Vec<i32> = self.0.keys().copied().collect();
            pids.retain(|pid| self.0[pid].session == Some(session));
            pids
        }
        fn is_root(&self, pid: i32) -> bool {
            self.0.get(&pid).is_some_and(|p| p.root)
        }
        fn runs_sshd(&self, pid: i32) -> bool {
            self.0.get(&pid).is_some_and(|p| p.sshd)
        }
    }

    const UNSET: Option<u32> = None;

    fn process(ppid: i32, session: Option<u32>, root: bool, sshd: bool) -> Fake {
        Fake {
            ppid,
            session,
            root,
            sshd,
        }
    }

    /// pid 1 (init), 100 (root sshd listener, no audit session), and the
    /// processes given.
    fn table(more: &[(i32, Fake)]) -> Table {
        let mut all = HashMap::from([
            (1, process(0, UNSET, true, false)),
            (100, process(1, UNSET, true, true)),
        ]);
        all.extend(more.iter().copied());
        Table(all)
    }

    /// An SSH login: sshd's session process (root, audit session 7) and the
    /// user's shell under it.
    fn ssh_login() -> [(i32, Fake); 2] {
        [
            (200, process(100, Some(7), true, true)),
            (300, process(200, Some(7), false, false)),
        ]
    }

    #[test]
    fn a_shell_under_sshd_is_ssh() {
        assert_eq!(decide(&table(&ssh_login()), 300), Origin::Ssh);
    }

    #[test]
    fn an_orphan_of_an_ssh_login_is_still_ssh() {
        // `( (sleep 1; jitsudo cmd) & )`: reparented to init, no sshd among
        // its ancestors, but in the SSH login's audit session.
        let orphan = (400, process(1, Some(7), false, false));
        let t = table(&[ssh_login()[0], ssh_login()[1], orphan]);
        assert_eq!(decide(&t, 400), Origin::Ssh);
    }

    #[test]
    fn an_orphan_of_an_ended_login_is_unknown() {
        // The SSH connection closed: nothing root holds audit session 7.
        let orphan = (400, process(1, Some(7), false, false));
        assert_eq!(decide(&table(&[orphan]), 400), Origin::Unknown);
    }

    #[test]
    fn a_console_login_is_local() {
        // login(1) (root, audit session 3) and the user's shell; an orphan
        // of that login stays local while the login lasts.
        let t = table(&[
            (50, process(1, Some(3), true, false)),
            (51, process(50, Some(3), false, false)),
            (52, process(1, Some(3), false, false)),
        ]);
        assert_eq!(decide(&t, 51), Origin::Local);
        assert_eq!(decide(&t, 52), Origin::Local);
    }

    #[test]
    fn without_audit_sessions_ancestry_decides() {
        let t = table(&[
            (200, process(100, UNSET, true, true)),
            (300, process(200, UNSET, false, false)),
            (60, process(1, UNSET, false, false)),
        ]);
        assert_eq!(decide(&t, 300), Origin::Ssh);
        assert_eq!(decide(&t, 60), Origin::Local);
    }

    #[test]
    fn only_a_root_sshd_counts() {
        // A user's own sshd (or a copy of it) proves nothing, as an
        // ancestor or as a holder of the session.
        let t = table(&[
            (200, process(1, Some(9), false, true)),
            (201, process(1, Some(9), true, false)),
            (300, process(200, Some(9), false, false)),
        ]);
        assert_eq!(decide(&t, 300), Origin::Local);
    }

    #[test]
    fn the_ancestry_walk_is_bounded() {
        // A cycle (a table read while pids were reused) ends after
        // MAX_DEPTH steps.
        let t = table(&[
            (10, process(11, UNSET, false, false)),
            (11, process(10, UNSET, false, false)),
        ]);
        assert_eq!(ancestors(&t, 10).count(), MAX_DEPTH);
        assert_eq!(decide(&t, 10), Origin::Local);
    }

    #[test]
    fn this_process_through_proc() {
        let me = std::process::id() as i32;
        assert!(!Proc.runs_sshd(me));
        assert_eq!(Proc.is_root(me), nix::unistd::getuid().is_root());
        let chain: Vec<i32> = ancestors(&Proc, me).collect();
        assert!(!chain.contains(&1));
        assert_eq!(chain.first(), Proc.parent(me).as_ref());
        if let Some(session) = Proc.audit_session(me) {
            assert!(Proc.in_session(session).contains(&me));
        }
    }
}
