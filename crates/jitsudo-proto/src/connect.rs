//! Connecting to jitsudod, with errors that say what to do next.

use std::fmt;
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

/// Why a client could not connect to the daemon's socket.
#[derive(Debug)]
pub struct ConnectError {
    socket: PathBuf,
    error: io::Error,
}

/// Connects to the daemon listening on `socket`.
pub fn connect(socket: &Path) -> Result<UnixStream, ConnectError> {
    UnixStream::connect(socket).map_err(|error| ConnectError {
        socket: socket.to_path_buf(),
        error,
    })
}

impl fmt::Display for ConnectError {
    /// For a missing socket or nobody listening: the daemon is not running
    /// and how to start it; for a refused permission: what to check;
    /// otherwise the system's reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let socket = self.socket.display();
        match self.error.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ENOENT | Errno::ECONNREFUSED) => write!(
                f,
                "jitsudod is not running (nothing listens on {socket}): start it with \
                 `systemctl start jitsudod` (without systemd: run /usr/sbin/jitsudod as root)"
            ),
            Some(errno @ (Errno::EACCES | Errno::EPERM)) => write!(
                f,
                "cannot connect to jitsudod at {socket}: {}: the socket must be connectable \
                 by everyone (mode 0666, in a root-owned 0755 directory); an administrator \
                 can check with `ls -ld {} {socket}` and `systemctl restart jitsudod`",
                errno.desc(),
                self.socket.parent().unwrap_or(Path::new("/")).display(),
            ),
            Some(errno) => write!(
                f,
                "unable to connect to jitsudod at {socket}: {}",
                errno.desc()
            ),
            None => write!(
                f,
                "unable to connect to jitsudod at {socket}: {}",
                self.error
            ),
        }
    }
}

impl std::error::Error for ConnectError {}
