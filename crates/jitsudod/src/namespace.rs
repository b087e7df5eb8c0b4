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

use std::os::unix::fs::MetadataExt;

/// A mount namespace, by the identity of its `/proc/PID/ns/mnt` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountNamespace {
    dev: u64,
    ino: u64,
}

impl MountNamespace {
    /// The mount namespace of process `pid` (`0`: the daemon's own), or
    /// `None` if it cannot be read (the process is gone).
    pub fn of(pid: i32) -> Option<MountNamespace> {
        let path = match pid {
            0 => "/proc/self/ns/mnt".to_owned(),
            pid => format!("/proc/{pid}/ns/mnt"),
        };
        let meta = std::fs::metadata(path).ok()?;
        Some(MountNamespace {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Whether this is the daemon's own mount namespace.
    pub fn is_daemons(self) -> bool {
        MountNamespace::of(0) == Some(self)
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
