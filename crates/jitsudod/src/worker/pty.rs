//! The command's own pseudo-terminal (sudo's `use_pty`): the command never
//! touches the caller's terminal, so it cannot push input into it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use nix::sys::stat::Mode;
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg};
use nix::unistd::{chown, Gid, Uid};
use std::os::unix::fs::PermissionsExt;

nix::ioctl_read_bad!(get_winsize, libc::TIOCGWINSZ, libc::winsize);
nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// A new pty pair for one command.
pub struct Pty {
    /// The master side, handed to the client.
    pub master: PtyMaster,
    /// Path of the slave side, opened by the command child.
    pub slave_path: PathBuf,
}

impl Pty {
    /// Opens a pty whose settings and window size copy the caller's
    /// terminal `like`, owned by the caller as sudo does.
    pub fn open_like(like: BorrowedFd<'_>, owner: u32) -> nix::Result<Pty> {
        let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let slave_path = PathBuf::from(ptsname_r(&master)?);
        let tty_gid = uzers::get_group_by_name("tty").map(|g| g.gid());
        chown(
            &slave_path,
            Some(Uid::from_raw(owner)),
            tty_gid.map(Gid::from_raw),
        )?;
        std::fs::set_permissions(&slave_path, std::fs::Permissions::from_mode(0o620))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let pty = Pty { master, slave_path };
        pty.copy_settings(like)?;
        Ok(pty)
    }

    fn copy_settings(&self, like: BorrowedFd<'_>) -> nix::Result<()> {
        let slave = nix::fcntl::open(
            &self.slave_path,
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        if let Ok(settings) = tcgetattr(like) {
            tcsetattr(&slave, SetArg::TCSANOW, &settings)?;
        }
        copy_window_size(like, slave.as_fd());
        Ok(())
    }

    /// Makes the pty the worker's controlling terminal: the worker is the
    /// session leader the command's process group belongs to (sudo's
    /// monitor), so the group is not orphaned and job control works.
    pub fn control(&self) -> nix::Result<()> {
        let slave = nix::fcntl::open(
            &self.slave_path,
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
        if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// Takes the master side out, to send it to the client.
    pub fn into_master(self) -> OwnedFd {
        self.master.into()
    }
}

fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `size` is valid storage for TIOCGWINSZ; `from` is open.
    if unsafe { get_winsize(from.as_raw_fd(), &mut size) }.is_ok() {
        // SAFETY: `to` is an open terminal and `size` a valid winsize.
        let _ = unsafe { set_winsize(to.as_raw_fd(), &size) };
    }
}
