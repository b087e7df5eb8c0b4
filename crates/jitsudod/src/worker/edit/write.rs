//! Writing an edited file back, as the target: a new file beside the old
//! one, given its mode and owner and renamed over it if the name still
//! holds the file opened, or (when the directory does not allow that) the
//! file rewritten in place, as sudo does.

use std::ffi::CString;
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstatat, FileStat, Mode};
use nix::unistd::{fchown, fsync, ftruncate, lseek, unlinkat, Gid, Uid, UnlinkatFlags, Whence};

use super::open::{failed, Opened};

/// Writes `content` as the file's new content.
pub(super) fn write_back(file: &Opened, content: &[u8]) -> Result<(), Vec<u8>> {
    let err = |e: Errno| failed(&file.path, e.desc());
    let Some((old, st)) = &file.file else {
        let flags =
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(
            file.dir.as_fd(),
            file.name.as_c_str(),
            flags,
            Mode::from_bits_truncate(0o666),
        )
        .map_err(err)?;
        return write_all(&fd, content)
            .and_then(|()| fsync(&fd))
            .map_err(err);
    };
    match replace(file, st, content) {
        Ok(()) => Ok(()),
        Err(Replace::Failed(e)) => Err(err(e)),
        // The directory does not let the target create a file with the
        // old one's mode and owner: rewrite the file in place, as sudo does.
        Err(Replace::CannotReplace) => {
            ftruncate(old, 0).map_err(err)?;
            lseek(old, 0, Whence::SeekSet).map_err(err)?;
            write_all(old, content)
                .and_then(|()| fsync(old))
                .map_err(err)
        }
    }
}

enum Replace {
    CannotReplace,
    Failed(Errno),
}

/// Writes a new file beside the old one, with its mode and owner, and
/// renames it over the old one if that name still holds the file opened.
fn replace(file: &Opened, st: &FileStat, content: &[u8]) -> Result<(), Replace> {
    let mut temp = b".".to_vec();
    temp.extend_from_slice(file.name.as_bytes());
    temp.extend_from_slice(format!(".jitsudo-{}", std::process::id()).as_bytes());
    let temp = CString::new(temp).map_err(|_| Replace::Failed(Errno::EINVAL))?;
    let flags =
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(
        file.dir.as_fd(),
        temp.as_c_str(),
        flags,
        Mode::from_bits_truncate(0o600),
    )
    .map_err(|_| Replace::CannotReplace)?;
    let remove = || {
        let _ = unlinkat(
            file.dir.as_fd(),
            temp.as_c_str(),
            UnlinkatFlags::NoRemoveDir,
        );
    };
    let owner = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
    if fchown(&fd, Some(owner.0), Some(owner.1)).is_err() {
        remove();
        return Err(Replace::CannotReplace);
    }
    let written = write_all(&fd, content)
        .and_then(|()| fchmod(&fd, Mode::from_bits_truncate(st.st_mode & 0o7777)))
        .and_then(|()| fsync(&fd));
    if let Err(e) = written {
        remove();
        return Err(Replace::Failed(e));
    }
    let now = fstatat(
        file.dir.as_fd(),
        file.name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    );
    if !now.is_ok_and(|now| now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
        remove();
        return Err(Replace::Failed(Errno::ESTALE));
    }
    renameat(
        file.dir.as_fd(),
        temp.as_c_str(),
        file.dir.as_fd(),
        file.name.as_c_str(),
    )
    .map_err(|e| {
        remove();
        Replace::Failed(e)
    })
}

fn write_all(fd: impl AsFd, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd.as_fd(), bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
