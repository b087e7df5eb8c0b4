//! The caller's terminal: raw mode while relaying, and window size.

use std::os::fd::{BorrowedFd, RawFd};

use nix::sys::stat::{fstat, SFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::{getpgrp, tcgetpgrp};

use crate::stdio::Stdio;

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: only used on fds 0-2, which stay open for the client's life.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// The caller's terminal in raw mode; the saved settings come back on
/// [`RawMode::restore`] and on drop, so every exit path restores them.
pub struct RawMode {
    fd: RawFd,
    saved: Termios,
    active: bool,
}

impl RawMode {
    /// Saves the settings of terminal `fd` and switches it to raw mode.
    pub fn enter(fd: RawFd) -> nix::Result<RawMode> {
        let saved = tcgetattr(borrow(fd))?;
        let mut mode = RawMode {
            fd,
            saved,
            active: false,
        };
        mode.reapply()?;
        Ok(mode)
    }

    /// Switches to raw mode again (after a suspension).
    pub fn reapply(&mut self) -> nix::Result<()> {
        let mut raw = self.saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(borrow(self.fd), SetArg::TCSADRAIN, &raw)?;
        self.active = true;
        Ok(())
    }

    /// Forgets the saved settings: the terminal hung up, there is nothing
    /// left to restore.
    pub fn abandon(&mut self) {
        self.active = false;
    }

    /// Puts the saved settings back.
    pub fn restore(&mut self) {
        if self.active {
            let _ = tcsetattr(borrow(self.fd), SetArg::TCSADRAIN, &self.saved);
            self.active = false;
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Copies the window size of terminal `from` to the pty master `to`; the
/// kernel then sends SIGWINCH to the command.
pub fn copy_window_size(from: RawFd, to: BorrowedFd<'_>) {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `size` is a valid winsize for the ioctl to fill, and `from`
    // is an open descriptor.
    if unsafe { get_winsize(from, &mut size) }.is_ok() {
        use std::os::fd::AsRawFd;
        // SAFETY: `to` is an open pty master and `size` a valid winsize.
        let _ = unsafe { set_winsize(to.as_raw_fd(), &size) };
    }
}

/// Whether the client's process group is the foreground of terminal `fd`
/// (else changing its modes would stop the client with SIGTTOU, and
/// reading it with SIGTTIN).
pub fn in_foreground(fd: RawFd) -> bool {
    tcgetpgrp(borrow(fd)).is_ok_and(|group| group == getpgrp())
}

/// Whether one of the caller's stdio descriptors is a pipe (`jitsudo cmd |
/// less`): the terminal is then shared with other programs of the
/// pipeline, and the client leaves its modes alone, as sudo does.
pub fn in_pipeline(stdio: &Stdio) -> bool {
    (0..3).filter(|fd| stdio.present[*fd as usize]).any(|fd| {
        fstat(borrow(fd))
            .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFIFO)
    })
}
