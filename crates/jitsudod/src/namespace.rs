//! Mount namespaces: whether a caller sees the file system the daemon
//! finds and runs commands in.
//!
//! A caller in another mount namespace (a container, `unshare -m`, or an
//! unprivileged user namespace with its own mounts) names files the daemon
//! cannot see or sees differently: `/usr/bin/id` there may be the caller's
//! own file. The daemon refuses to run commands for such callers (the
//! decision itself is on the opened file's identity, so even a path that
//! resolves differently cannot make it run another file, but the command
//! would not be the one the caller meant).

use std::sync::OnceLock;

/// A mount namespace, by the identity (inode on the kernel's namespace
/// file system) of its `/proc/PID/ns/mnt` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountNamespace {
    ino: u64,
}

impl MountNamespace {
    /// The mount namespace of process `pid` (`0`: the daemon's own), or
    /// `None` if it cannot be read (the process is gone).
    pub fn of(pid: i32) -> Option<MountNamespace> {
        let pid = match pid {
            0 => i32::try_from(std::process::id()).ok()?,
            pid => pid,
        };
        let ino = jitsudo_sys::proc::namespace(pid, "mnt").ok()?;
        Some(MountNamespace { ino })
    }

    /// Whether this is the daemon's own mount namespace (read once: the
    /// daemon never changes namespaces; until it could be read, it is
    /// read again each time).
    pub fn is_daemons(self) -> bool {
        static DAEMONS: OnceLock<MountNamespace> = OnceLock::new();
        let daemons = match DAEMONS.get() {
            Some(daemons) => Some(*daemons),
            None => MountNamespace::of(0).map(|read| *DAEMONS.get_or_init(|| read)),
        };
        daemons == Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_in_its_own_namespace() {
        let ns = MountNamespace::of(i32::try_from(std::process::id()).unwrap());
        assert!(ns.is_some_and(MountNamespace::is_daemons));
        assert_eq!(MountNamespace::of(-1), None);
    }
}
