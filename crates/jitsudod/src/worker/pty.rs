//! The command's own pseudo-terminal (sudo's `use_pty`): the command never
//! touches the caller's terminal, so it cannot push input into it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use nix::sys::stat::Mode;
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg};
use nix::unistd::{chown, Gid, Uid};
use std::os::unix::fs::PermissionsExt;

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
        jitsudo_sys::tty::copy_window_size(like, slave.as_fd());
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
        jitsudo_sys::tty::make_controlling(slave.as_fd())
    }

    /// Takes the master side out, to send it to the client.
    pub fn into_master(self) -> OwnedFd {
        self.master.into()
    }
}
