//! Terminal helpers that client and worker share.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// The window size of terminal `fd`.
pub fn window_size(fd: BorrowedFd<'_>) -> nix::Result<libc::winsize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`, which is valid
    // storage for it; `fd` is an open descriptor.
    unsafe { get_winsize(fd.as_raw_fd(), &mut size) }?;
    Ok(size)
}

/// Sets the window size of terminal `fd` (the kernel then sends SIGWINCH
/// to its foreground process group).
pub fn set_window_size(fd: BorrowedFd<'_>, size: &libc::winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads one winsize from `size`; `fd` is open.
    unsafe { set_winsize(fd.as_raw_fd(), size) }.map(drop)
}

/// Copies the window size of terminal `from` to terminal `to`; silently
/// does nothing when `from` has none.
pub fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Ok(size) = window_size(from) {
        let _ = set_window_size(to, &size);
    }
}

/// Makes terminal `fd` the controlling terminal of this process, which
/// must be a session leader without one (TIOCSCTTY; never steals).
pub fn make_controlling(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal a
    // terminal that is another session's) and touches no memory of ours.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    Errno::result(rc).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn window_size_travels_between_ptys() {
        let a = nix::pty::openpty(None, None).unwrap();
        let b = nix::pty::openpty(None, None).unwrap();
        let size = libc::winsize {
            ws_row: 33,
            ws_col: 101,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        set_window_size(a.master.as_fd(), &size).unwrap();
        assert!(is_terminal(a.slave.as_fd()));
        copy_window_size(a.slave.as_fd(), b.master.as_fd());
        let got = window_size(b.slave.as_fd()).unwrap();
        assert_eq!((got.ws_row, got.ws_col), (33, 101));
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(!is_terminal(file.as_fd()));
        assert!(window_size(file.as_fd()).is_err());
    }
}
