//! The caller's terminal: raw mode while relaying, and window size.

use std::os::fd::BorrowedFd;

use jitsudo_sys::fd::{is_pipe, Std};

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::{getpgrp, tcgetpgrp};

use crate::stdio::Stdio;

/// The caller's terminal in raw mode; the saved settings come back on
/// [`RawMode::restore`] and on drop, so every exit path restores them.
pub struct RawMode {
    fd: Std,
    saved: Termios,
    active: bool,
}

impl RawMode {
    /// Saves the settings of terminal `fd` and switches it to raw mode.
    pub fn enter(fd: Std) -> nix::Result<RawMode> {
        let saved = tcgetattr(fd.borrow())?;
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
        tcsetattr(self.fd.borrow(), SetArg::TCSADRAIN, &raw)?;
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
            let _ = tcsetattr(self.fd.borrow(), SetArg::TCSADRAIN, &self.saved);
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
pub fn copy_window_size(from: Std, to: BorrowedFd<'_>) {
    jitsudo_sys::tty::copy_window_size(from.borrow(), to);
}

/// Whether the client's process group is the foreground of terminal `fd`
/// (else changing its modes would stop the client with SIGTTOU, and
/// reading it with SIGTTIN).
pub fn in_foreground(fd: Std) -> bool {
    tcgetpgrp(fd.borrow()).is_ok_and(|group| group == getpgrp())
}

/// Whether one of the caller's stdio descriptors is a pipe (`jitsudo cmd |
/// less`): the terminal is then shared with other programs of the
/// pipeline, and the client leaves its modes alone, as sudo does.
pub fn in_pipeline(stdio: &Stdio) -> bool {
    Std::ALL
        .into_iter()
        .filter(|fd| stdio.is_present(*fd))
        .any(|fd| is_pipe(fd.borrow()))
}
