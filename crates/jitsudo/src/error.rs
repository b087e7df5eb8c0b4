//! The client's error type for stating a request: what failed before the
//! daemon answered, in the words the user sees after `jitsudo: `.

use std::fmt;

use jitsudo_proto::{ConnectError, ProtoError};

/// Why a request could not be stated to the daemon.
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
        }
    }
}

impl std::error::Error for Error {}
