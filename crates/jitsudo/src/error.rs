//! The client's one error type: what failed on its side (stating the
//! request, the askpass helper, the editor of `-e`, `-V`'s question), in
//! the words the user sees after `jitsudo: `.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;

use jitsudo_proto::{ConnectError, ProtoError};

/// What failed in the client.
#[derive(Debug)]
pub enum Error {
    /// The signal descriptor could not be set up.
    Signals(nix::errno::Errno),
    /// The current directory could not be opened.
    Cwd(nix::errno::Errno),
    /// The daemon's socket could not be reached.
    Connect(ConnectError),
    /// The hello could not be encoded.
    Encode(ProtoError),
    /// The request is larger than the protocol carries (sudo's wording:
    /// the kernel's E2BIG).
    TooLong,
    /// The request could not be written to the socket.
    Send(std::io::Error),
    /// `-C` would keep more descriptors than the protocol carries.
    TooManyKept {
        /// The `-C` number.
        close_from: u32,
        /// How many open descriptors are below it.
        count: usize,
        /// How many can be passed.
        max: usize,
    },
    /// A descriptor `-C` keeps could not be duplicated.
    KeepFd(u32, nix::errno::Errno),
    /// `-A` without `SUDO_ASKPASS` (sudo's wording).
    NoAskpass,
    /// A helper program (askpass, editor) could not be started.
    Spawn(OsString, std::io::Error),
    /// Every editor variable is set to blanks only.
    NoEditor,
    /// The editor failed; the files are not written back.
    EditorFailed(OsString, ExitStatus),
    /// A file of the edit (a copy, the temporary directory) failed.
    File(PathBuf, std::io::Error),
    /// No unused temporary name was found in the directory.
    NoTempFile(PathBuf, Option<std::io::Error>),
    /// An edited copy outgrew what the protocol carries (the limit).
    TooLarge(PathBuf, usize),
    /// `-V`: the daemon's status could not be read.
    NoAnswer(ProtoError),
    /// `-V`: the daemon answered something else than its status.
    UnexpectedAnswer(String),
    /// `-V`: the daemon refused, in its words.
    Refused(String),
}

/// The strerror text without Rust's " (os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Signals(e) => write!(f, "unable to set up signal handling: {e}"),
            Error::Cwd(e) => write!(f, "unable to open the current directory: {e}"),
            Error::Connect(e) => write!(f, "{e}"),
            Error::Encode(e) => write!(f, "{e}"),
            Error::TooLong => f.write_str("unable to run the command: Argument list too long"),
            Error::Send(e) => write!(f, "unable to send the request to jitsudod: {e}"),
            Error::TooManyKept {
                close_from,
                count,
                max,
            } => write!(
                f,
                "-C {close_from} would keep {count} descriptors open: at most {max} can be \
                 passed to the command"
            ),
            Error::KeepFd(n, e) => write!(f, "unable to pass descriptor {n}: {}", e.desc()),
            Error::NoAskpass => {
                f.write_str("no askpass program specified, try setting SUDO_ASKPASS")
            }
            Error::Spawn(program, e) => write!(
                f,
                "unable to run {}: {}",
                program.to_string_lossy(),
                io_reason(e)
            ),
            Error::NoEditor => f.write_str("no editor"),
            Error::EditorFailed(program, status) => write!(
                f,
                "{} exited with {status}; nothing was written",
                program.to_string_lossy()
            ),
            Error::File(path, e) => write!(f, "{}: {}", path.display(), io_reason(e)),
            Error::NoTempFile(dir, e) => write!(
                f,
                "unable to create a temporary file in {}: {}",
                dir.display(),
                e.as_ref().map_or_else(String::new, io_reason)
            ),
            Error::TooLarge(path, max) => write!(
                f,
                "{}: larger than {max} bytes; nothing was written",
                path.display()
            ),
            Error::NoAnswer(e) => write!(f, "jitsudod did not answer: {e}"),
            Error::UnexpectedAnswer(what) => {
                write!(f, "jitsudod did not answer: unexpected answer {what}")
            }
            Error::Refused(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}
