//! The caller's standard descriptors and working directory, as handed to
//! the daemon.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use jitsudo_sys::fd::{dup_raw, is_open_across_exec, Std};

use jitsudo_proto::{PassedFds, KEPT_FDS_BELOW, MAX_KEPT_FDS};

use nix::fcntl::{open, OFlag};

use crate::error::Error;
use crate::startup;
use nix::sys::stat::Mode;
use nix::unistd::isatty;

/// Which of fds 0, 1, 2 the caller really had open when we started.
#[derive(Debug, Clone, Copy)]
pub struct Stdio {
    /// `present[n]` is true when fd `n` was open.
    pub present: [bool; 3],
}

impl Stdio {
    /// Which standard descriptors the caller had open. The closed ones hold
    /// /dev/null placeholders by now (put there by the runtime), so no
    /// descriptor this client opens later can land in slot 0, 1 or 2; the
    /// placeholders are never sent: a closed descriptor stays closed for
    /// the command.
    pub fn claim() -> Stdio {
        let closed = startup::closed_fds();
        Stdio {
            present: [0, 1, 2].map(|fd| closed & (1 << fd) == 0),
        }
    }

    /// The descriptors that go with a request: the present ones of fds
    /// 0-2, the working directory `cwd` and the descriptors `kept` open
    /// with `-C`.
    pub fn passed<'a>(&self, cwd: &'a OwnedFd, kept: &'a Kept) -> PassedFds<BorrowedFd<'a>> {
        PassedFds {
            stdio: Std::ALL.map(|fd| self.is_present(fd).then(|| fd.borrow())),
            cwd: Some(cwd.as_fd()),
            kept: kept.iter().map(|(n, fd)| (*n, fd.as_fd())).collect(),
        }
    }

    /// Whether the caller had `fd` open.
    pub fn is_present(&self, fd: Std) -> bool {
        self.present[fd as usize]
    }

    /// Whether `fd` is present and a terminal.
    pub fn is_tty(&self, fd: Std) -> bool {
        self.is_present(fd) && isatty(fd.borrow()).unwrap_or(false)
    }
}

/// The caller's descriptors above 2 that `-C` keeps open for the command,
/// by number (copies: the client sends them, the daemon places them).
pub type Kept = Vec<(u32, OwnedFd)>;

/// `-C close_from`: copies of the caller's descriptors from 3 up to
/// `close_from` that were open when the client started (descriptors from
/// [`KEPT_FDS_BELOW`] up are never passed). More than [`MAX_KEPT_FDS`] of
/// them is refused, with the reason.
pub fn kept(close_from: Option<u32>) -> Result<Kept, Error> {
    let Some(close_from) = close_from else {
        return Ok(Vec::new());
    };
    let seen = startup::inherited_fds();
    let numbers: Vec<u32> = (3..close_from.min(KEPT_FDS_BELOW))
        .filter(|n| seen & (1 << n) != 0 || unseen_o_path(*n))
        .collect();
    if numbers.len() > MAX_KEPT_FDS {
        return Err(Error::TooManyKept {
            close_from,
            count: numbers.len(),
            max: MAX_KEPT_FDS,
        });
    }
    numbers
        .into_iter()
        .map(|n| {
            dup_raw(n as i32)
                .map(|fd| (n, fd))
                .map_err(|e| Error::KeepFd(n, e))
        })
        .collect()
}

/// Whether `n`, not seen open at start-up, is an `O_PATH` descriptor of
/// the caller's, which the start-up scan cannot see: open now, and not
/// close-on-exec. Every descriptor this client opens is close-on-exec, and
/// none it inherited can be (the exec would have closed it). The one
/// exception: Rust's runtime takes an `O_PATH` standard descriptor for a
/// closed one and opens /dev/null (not close-on-exec) on the lowest free
/// number, which is then kept too.
fn unseen_o_path(n: u32) -> bool {
    is_open_across_exec(n as i32)
}

/// Opens the caller's working directory as an `O_PATH` descriptor.
pub fn cwd() -> nix::Result<OwnedFd> {
    open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}
