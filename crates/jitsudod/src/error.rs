//! The daemon's one error type: why it could not start, why a connection
//! failed before its request was read, why a worker got no job. Refusals
//! of a request are not errors: they are [`jitsudo_proto::Failure`]s
//! worded by `request/refusal.rs`.

use std::fmt;
use std::io;
use std::path::PathBuf;

use jitsudo_proto::{ProtoError, PROTOCOL_VERSION};

use crate::grants::store::StoreError;
use crate::policy_store::LoadError;

/// What went wrong, worded for the log or (protocol errors) the client.
#[derive(Debug)]
pub enum Error {
    /// jitsudod was started by someone other than root.
    NotRoot,
    /// The policy could not be loaded at start.
    Policy(LoadError),
    /// The configured cgroup subtree (`--cgroup-root`) cannot be used.
    CgroupRoot(Box<Error>),
    /// No cgroup2 file system is mounted.
    NoCgroup2,
    /// /proc/self/cgroup names no cgroup v2 group.
    NoOwnCgroup,
    /// A cgroup path that is not absolute or holds `.` or `..`.
    CgroupPath(PathBuf),
    /// A cgroup outside the cgroup2 mount (the cgroup, the mount point).
    OutsideMount(PathBuf, PathBuf),
    /// A `cgroup.procs` above the subtree that others than root may write.
    Delegated(PathBuf),
    /// The daemon could not move itself into its leaf group.
    MovingInto(PathBuf, io::Error),
    /// The cgroup subtree was set up twice.
    SubtreeTwice,
    /// The grant store could not be opened.
    Grants(StoreError),
    /// A directory or the socket could not be set up.
    Path(PathBuf, io::Error),
    /// Another jitsudod listens on the socket.
    SocketInUse(PathBuf),
    /// Detaching from the terminal failed.
    Daemonize(nix::errno::Errno),
    /// The async runtime could not be built.
    Runtime(io::Error),
    /// A frame or a message could not be read, decoded or written.
    Protocol(ProtoError),
    /// The peer's hello does not carry jitsudo's magic.
    NotAClient,
    /// The peer speaks another protocol version (the one it sent).
    Version(u32),
    /// Another message came than the one named.
    Expected(&'static str),
    /// Bytes followed the request.
    TrailingData,
    /// The client did not send its request within the deadline.
    RequestTimeout,
    /// The welcome could not be written.
    Welcome(io::Error),
    /// The daemon closed a worker's channel without a job (it stopped).
    NoJob,
    /// A worker's job could not be read (what was being done).
    Job(&'static str, ProtoError),
    /// A worker's job came without a descriptor it needs (which).
    JobWithout(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotRoot => f.write_str("must be run as root"),
            Error::Policy(e) => write!(f, "{e}"),
            Error::CgroupRoot(e) => write!(f, "--cgroup-root: {e}"),
            Error::NoCgroup2 => f.write_str("no cgroup2 file system is mounted"),
            Error::NoOwnCgroup => f.write_str("this process is in no cgroup v2 group"),
            Error::CgroupPath(path) => write!(
                f,
                "{}: a cgroup is named by an absolute path without . or ..",
                path.display()
            ),
            Error::OutsideMount(path, mount) => write!(
                f,
                "cgroup {} is outside the cgroup2 mount at {}",
                path.display(),
                mount.display()
            ),
            Error::Delegated(procs) => write!(
                f,
                "{} may be written by others than root (delegated?): they could move \
                 processes out of a command's group",
                procs.display()
            ),
            Error::MovingInto(leaf, e) => write!(f, "moving into {}: {e}", leaf.display()),
            Error::SubtreeTwice => f.write_str("cgroup subtree set up twice"),
            Error::Grants(e) => write!(f, "{e}; refusing to start"),
            Error::Path(path, e) => write!(f, "{}: {e}", path.display()),
            Error::SocketInUse(path) => {
                write!(f, "{} is in use by another jitsudod", path.display())
            }
            Error::Daemonize(e) => write!(f, "daemon: {e}"),
            Error::Runtime(e) => write!(f, "runtime: {e}"),
            Error::Protocol(e) => write!(f, "{e}"),
            Error::NotAClient => f.write_str("not a jitsudo client"),
            Error::Version(version) => write!(
                f,
                "unsupported protocol version {version} (jitsudod speaks {PROTOCOL_VERSION})"
            ),
            Error::Expected(what) => write!(f, "expected {what}"),
            Error::TrailingData => f.write_str("unexpected data after the request"),
            Error::RequestTimeout => f.write_str("timed out waiting for the request"),
            Error::Welcome(e) => write!(f, "sending welcome: {e}"),
            Error::NoJob => f.write_str("the daemon closed the channel without a job"),
            Error::Job(doing, e) => write!(f, "{doing}: {e}"),
            Error::JobWithout(what) => write!(f, "no {what} with the job"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        Error::Protocol(e)
    }
}

/// Adds the path to an I/O error.
pub fn at(path: &std::path::Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::Path(path.to_path_buf(), e)
}
