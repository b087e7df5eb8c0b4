//! Who is on the other end of a connection, from the kernel alone:
//! `SO_PEERCRED`, `SO_PEERPIDFD` and `SO_PEERGROUPS`, plus facts about the
//! pinned process read from /proc and re-checked against the pidfd.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{getsockopt, sockopt};

use crate::cache::Scope;
use crate::namespace::MountNamespace;

/// `SO_PEERGROUPS` (Linux ≥ 4.13), not exported by every libc version.
const SO_PEERGROUPS: libc::c_int = 59;
/// `SO_PEERPIDFD` (Linux ≥ 6.5).
const SO_PEERPIDFD: libc::c_int = 77;
/// Most supplementary groups the kernel allows (`NGROUPS_MAX`).
const NGROUPS_MAX: usize = 65536;

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
    /// Identifies the process connected on `sock`.
    pub fn identify(sock: BorrowedFd<'_>) -> Result<Peer, PeerError> {
        let cred = getsockopt(&sock, sockopt::PeerCredentials)
            .map_err(|e| PeerError(format!("SO_PEERCRED: {e}")))?;
        let pidfd = peer_pidfd(sock)?;
        let mut groups = peer_groups(sock)?;
        if !groups.contains(&cred.gid()) {
            groups.push(cred.gid());
        }
        let stat = ProcStat::read(cred.pid())?;
        let umask = read_umask(cred.pid())?;
        let scope = stat.scope();
        let mount_ns = MountNamespace::of(cred.pid());
        // The pid may have died and been reused while we read /proc: the
        // pidfd tells whether the process we read is still the peer.
        ensure_alive(&pidfd)?;
        Ok(Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            groups,
            pid: cred.pid(),
            tty: tty_name(stat.tty_nr),
            umask,
            scope,
            mount_ns,
        })
    }
}

fn peer_pidfd(sock: BorrowedFd<'_>) -> Result<OwnedFd, PeerError> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 || fd < 0 {
        return Err(PeerError(format!(
            "SO_PEERPIDFD: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: the kernel just created `fd` for us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn peer_groups(sock: BorrowedFd<'_>) -> Result<Vec<u32>, PeerError> {
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut len = (groups.len() * std::mem::size_of::<libc::gid_t>()) as libc::socklen_t;
        // SAFETY: the buffer holds `len` bytes of writable gid_t storage.
        let rc = unsafe {
            libc::getsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let count = len as usize / std::mem::size_of::<libc::gid_t>();
        if rc == 0 {
            groups.truncate(count);
            return Ok(groups);
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) || count <= groups.len() || count > NGROUPS_MAX
        {
            return Err(PeerError(format!("SO_PEERGROUPS: {err}")));
        }
        groups.resize(count, 0);
    }
}

fn ensure_alive(pidfd: &OwnedFd) -> Result<(), PeerError> {
    // SAFETY: pidfd_send_signal with signal 0 only checks for existence;
    // all pointer arguments are null, which the syscall allows.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(PeerError("the calling process went away".into()))
    }
}

/// The fields of /proc/PID/stat we use.
struct ProcStat {
    ppid: i32,
    session: i32,
    tty_nr: u64,
    start: u64,
}

impl ProcStat {
    fn read(pid: i32) -> Result<ProcStat, PeerError> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| PeerError(format!("/proc/{pid}/stat: {e}")))?;
        // The command name may contain anything, so split after its ')'.
        let rest = text
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| PeerError(format!("/proc/{pid}/stat: unexpected format")))?;
        // Fields after the name: state(3) ppid(4) pgrp(5) session(6)
        // tty_nr(7) ... starttime(22), numbered as in proc(5).
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).copied().unwrap_or("");
        let bad = || PeerError(format!("/proc/{pid}/stat: unexpected format"));
        Ok(ProcStat {
            ppid: field(4).parse().map_err(|_| bad())?,
            session: field(6).parse().map_err(|_| bad())?,
            tty_nr: field(7).parse().map_err(|_| bad())?,
            start: field(22).parse().map_err(|_| bad())?,
        })
    }

    /// The credential-cache scope: the terminal session (with the session
    /// leader's start time), else the parent process (see
    /// [`ProcStat::parent_scope`]).
    fn scope(&self) -> Option<Scope> {
        if self.tty_nr != 0 {
            let leader = ProcStat::read(self.session).ok()?;
            Some(Scope::Terminal {
                tty: self.tty_nr,
                session: self.session,
                leader_start: leader.start,
            })
        } else {
            self.parent_scope()
        }
    }

    /// Without a terminal, the parent process — but only a parent the
    /// caller cannot have been handed to by being orphaned: one in the
    /// caller's own session that is not the init of a pid namespace.
    /// Orphans are adopted by an init (or by a subreaper such as
    /// `systemd --user`, which runs in a session of its own), and several
    /// orphans would otherwise share one parent and each other's
    /// authentication. `None` means no cache: always ask.
    fn parent_scope(&self) -> Option<Scope> {
        let parent = ProcStat::read(self.ppid).ok()?;
        if parent.session != self.session || is_namespace_init(self.ppid) {
            return None;
        }
        Some(Scope::Parent {
            pid: self.ppid,
            start: parent.start,
        })
    }
}

/// Whether `pid` is process 1 of its own pid namespace (the last `NSpid`
/// entry of /proc/PID/status), where orphans inside it go. Unreadable
/// counts as yes.
fn is_namespace_init(pid: i32) -> bool {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|ids| ids.split_ascii_whitespace().last())
        .is_none_or(|innermost| innermost == "1")
}

fn read_umask(pid: i32) -> Result<u32, PeerError> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| PeerError(format!("/proc/{pid}/status: {e}")))?;
    text.lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .ok_or_else(|| PeerError(format!("/proc/{pid}/status: no umask")))
}

/// Maps a `tty_nr` from /proc to the name sudo logs (`pts/3`, `tty1`).
fn tty_name(tty_nr: u64) -> Option<String> {
    if tty_nr == 0 {
        return None;
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some(match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => format!("tty{major}:{minor}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn identifies_this_process_over_a_socketpair() {
        let (a, _b) = UnixStream::pair().unwrap();
        let peer = Peer::identify(a.as_fd()).unwrap();
        assert_eq!(peer.pid, std::process::id() as i32);
        assert_eq!(peer.uid, nix::unistd::getuid().as_raw());
        assert!(peer.groups.contains(&nix::unistd::getgid().as_raw()));
        let mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        nix::sys::stat::umask(mask);
        assert_eq!(peer.umask, mask.bits());
    }

    #[test]
    fn tty_names() {
        assert_eq!(tty_name(0), None);
        assert_eq!(tty_name((136 << 8) | 3).as_deref(), Some("pts/3"));
        assert_eq!(tty_name((4 << 8) | 1).as_deref(), Some("tty1"));
        assert_eq!(tty_name((4 << 8) | 64).as_deref(), Some("ttyS0"));
        // pts/300: minor 300 = 0x12c → low byte 0x2c, high bits at << 12.
        let nr = (136u64 << 8) | 0x2c | (0x100 << 12);
        assert_eq!(tty_name(nr).as_deref(), Some("pts/300"));
    }
}
