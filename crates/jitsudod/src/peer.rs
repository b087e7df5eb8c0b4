//! Who is on the other end of a connection, from the kernel alone:
//! `SO_PEERCRED`, `SO_PEERPIDFD` and `SO_PEERGROUPS`, plus facts about the
//! pinned process read from /proc and re-checked against the pidfd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use jitsudo_policy::Origin;

use jitsudo_sys::proc::{tty_name, Stat, Status};
use jitsudo_sys::{pidfd, socket};
use nix::sys::socket::{getsockopt, sockopt};

use crate::cache::Scope;
use crate::namespace::MountNamespace;
use crate::origin;

/// The identity of a connected client, as the kernel states it.
#[derive(Debug)]
pub struct Peer {
    /// Real uid at connect time.
    pub uid: u32,
    /// Real gid at connect time.
    pub gid: u32,
    /// Supplementary groups at connect time (primary gid included).
    pub groups: Vec<u32>,
    /// Process id (pinned by a pidfd while /proc was read).
    pub pid: i32,
    /// Controlling terminal (`pts/3`), if any.
    pub tty: Option<String>,
    /// The caller's umask.
    pub umask: u32,
    /// Where a successful authentication of this caller counts, if that
    /// could be established.
    pub scope: Option<Scope>,
    /// The caller's mount namespace, if it could be read.
    pub mount_ns: Option<MountNamespace>,
    /// Where the caller comes from, worked out while the pidfd pinned it;
    /// `None` when the policy did not ask (no rule has `when.origin`).
    pub origin: Option<Origin>,
}

/// Why a peer could not be identified.
#[derive(Debug)]
pub struct PeerError(pub String);

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Peer {
    /// Identifies the process connected on `sock`, and where it comes
    /// from if `wants_origin` (see [`crate::origin`]).
    pub fn identify(sock: BorrowedFd<'_>, wants_origin: bool) -> Result<Peer, PeerError> {
        let cred = getsockopt(&sock, sockopt::PeerCredentials)
            .map_err(|e| PeerError(format!("SO_PEERCRED: {e}")))?;
        let pidfd =
            socket::peer_pidfd(sock).map_err(|e| PeerError(format!("SO_PEERPIDFD: {e}")))?;
        let groups =
            socket::peer_groups(sock).map_err(|e| PeerError(format!("SO_PEERGROUPS: {e}")))?;
        let ids = Ids {
            uid: cred.uid(),
            gid: cred.gid(),
            groups,
            pid: cred.pid(),
        };
        Peer::of_process(ids, pidfd.as_fd(), wants_origin)
    }

    /// Identifies a D-Bus caller from what the bus reports of it
    /// (`GetConnectionCredentials`): its uid, groups and pid, and the
    /// bus's pidfd of it when the bus has one (`ProcessFD`). Without one,
    /// the pid is opened now and must still belong to that uid (a pid
    /// reused by another user's process is refused).
    pub fn of_bus_caller(
        uid: u32,
        groups: Vec<u32>,
        pid: i32,
        pidfd: Option<OwnedFd>,
        wants_origin: bool,
    ) -> Result<Peer, PeerError> {
        let pidfd = match pidfd {
            Some(fd) => fd,
            None => pidfd::open(pid).map_err(|e| PeerError(format!("pidfd_open: {e}")))?,
        };
        let status = Status::of(pid).map_err(|e| PeerError(e.to_string()))?;
        if status.uid != uid {
            return Err(PeerError("the calling process went away".into()));
        }
        let ids = Ids {
            uid,
            gid: status.gid,
            groups,
            pid,
        };
        Peer::of_process(ids, pidfd.as_fd(), wants_origin)
    }

    /// The peer `ids` describe, its facts read from /proc while `pidfd`
    /// pins the process.
    fn of_process(ids: Ids, pidfd: BorrowedFd<'_>, wants_origin: bool) -> Result<Peer, PeerError> {
        let Ids {
            uid,
            gid,
            mut groups,
            pid,
        } = ids;
        if !groups.contains(&gid) {
            groups.push(gid);
        }
        let stat = Stat::of(pid).map_err(|e| PeerError(e.to_string()))?;
        let umask = Status::of(pid).map_err(|e| PeerError(e.to_string()))?.umask;
        let scope = scope(&stat);
        let mount_ns = MountNamespace::of(pid);
        let tty = tty_name(stat.tty_nr);
        let origin = wants_origin.then(|| origin::of(pid, tty.is_some()));
        // The pid may have died and been reused while we read /proc: the
        // pidfd tells whether the process we read is still the peer.
        if !pidfd::is_alive(pidfd) {
            return Err(PeerError("the calling process went away".into()));
        }
        Ok(Peer {
            uid,
            gid,
            groups,
            pid,
            tty,
            umask,
            scope,
            mount_ns,
            origin,
        })
    }
}

/// The ids a peer is known by, before /proc is read.
struct Ids {
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    pid: i32,
}

/// The credential-cache scope: the terminal session (with the session
/// leader's start time), else the parent process (see [`parent_scope`]).
fn scope(stat: &Stat) -> Option<Scope> {
    if stat.tty_nr != 0 {
        let leader = Stat::of(stat.session).ok()?;
        Some(Scope::Terminal {
            tty: stat.tty_nr,
            session: stat.session,
            leader_start: leader.start_time,
        })
    } else {
        parent_scope(stat)
    }
}

/// Without a terminal, the parent process — but only a parent the caller
/// cannot have been handed to by being orphaned: one in the caller's own
/// session that is not the init of a pid namespace. Orphans are adopted by
/// an init (or by a subreaper such as `systemd --user`, which runs in a
/// session of its own), and several orphans would otherwise share one
/// parent and each other's authentication. `None` means no cache: always
/// ask.
fn parent_scope(stat: &Stat) -> Option<Scope> {
    let parent = Stat::of(stat.ppid).ok()?;
    if parent.session != stat.session || is_namespace_init(stat.ppid) {
        return None;
    }
    Some(Scope::Parent {
        pid: stat.ppid,
        start: parent.start_time,
    })
}

/// Whether `pid` is process 1 of its own pid namespace, where orphans
/// inside it go. Unreadable counts as yes.
fn is_namespace_init(pid: i32) -> bool {
    Status::of(pid)
        .ok()
        .and_then(|status| status.ns_pid)
        .is_none_or(|innermost| innermost == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn identifies_this_process_over_a_socketpair() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = Peer::identify(a.as_fd(), true).unwrap();
        assert_eq!(peer.pid, std::process::id() as i32);
        assert_eq!(peer.uid, nix::unistd::getuid().as_raw());
        assert!(peer.groups.contains(&nix::unistd::getgid().as_raw()));
        // A socketpair has no terminal.
        assert_eq!(peer.origin, Some(Origin::None));
        assert_eq!(Peer::identify(a.as_fd(), false).unwrap().origin, None);
        let mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        nix::sys::stat::umask(mask);
        assert_eq!(peer.umask, mask.bits());
    }
}
