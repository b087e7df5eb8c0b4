//! Opening the files to edit, as the target: each directory on the way
//! reached without following a link and refused if the caller may write
//! it; the file itself a regular file, not a link, of bounded size.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use jitsudo_proto::MAX_EDIT_FILE;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};

use crate::request::job::EditJob;

/// A file that exists: open read-write, and its status when opened.
pub(super) type Existing = (std::fs::File, FileStat);

/// One file opened for editing.
pub(super) struct Opened {
    pub(super) path: Vec<u8>,
    /// The directory it is in, reached without following links.
    pub(super) dir: OwnedFd,
    pub(super) name: CString,
    /// The file, open read-write; `None` when it does not exist yet.
    pub(super) file: Option<Existing>,
    pub(super) content: Vec<u8>,
}

/// `path: reason`.
pub(super) fn failed(path: &[u8], reason: &str) -> Vec<u8> {
    let mut text = path.to_vec();
    text.extend_from_slice(b": ");
    text.extend_from_slice(reason.as_bytes());
    text
}

/// Opens `path` as the target: every directory on the way is reached
/// without following a link and must not be writable by the caller (root
/// excepted, as in sudo); the file itself must be a regular file, not a
/// link.
pub(super) fn open(path: &[u8], job: &EditJob) -> Result<Opened, Vec<u8>> {
    let err = |e: Errno| failed(path, e.desc());
    let parts: Vec<&[u8]> = path
        .get(1..)
        .unwrap_or_default()
        .split(|b| *b == b'/')
        .collect();
    let (last, dirs) = parts
        .split_last()
        .ok_or_else(|| failed(path, "not a file"))?;
    let mut dir = open_dir(None, b"/").map_err(err)?;
    check_dir(&dir, path, job)?;
    for part in dirs {
        dir = open_dir(Some(&dir), part).map_err(|e| match e {
            Errno::ELOOP => failed(path, "editing symbolic links is not permitted"),
            e => err(e),
        })?;
        check_dir(&dir, path, job)?;
    }
    let name = CString::new(last.to_vec()).map_err(|_| failed(path, "invalid name"))?;
    let flags =
        OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let file = match open_file(&dir, &name, flags) {
        Ok(fd) => Some(fd),
        Err(Errno::ENOENT) => None,
        Err(Errno::ELOOP) => return Err(failed(path, "editing symbolic links is not permitted")),
        Err(e) => return Err(err(e)),
    };
    let (file, content) = match file {
        None => (None, Vec::new()),
        Some(fd) => {
            let (existing, content) = read_regular(fd, path)?;
            (Some(existing), content)
        }
    };
    Ok(Opened {
        path: path.to_vec(),
        dir,
        name,
        file,
        content,
    })
}

/// Opens the file to edit for writing, which checks that the target may
/// write it. A program being run cannot be opened for writing (ETXTBSY,
/// which the kernel returns only after the permission check passed): it
/// is read through a read-only descriptor instead, as sudo does, since
/// the edit is written back through a new file renamed over it.
fn open_file(dir: &OwnedFd, name: &CString, flags: OFlag) -> Result<OwnedFd, Errno> {
    match openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty()) {
        Err(Errno::ETXTBSY) => {
            let read_only = (flags - OFlag::O_RDWR) | OFlag::O_RDONLY;
            openat(dir.as_fd(), name.as_c_str(), read_only, Mode::empty())
        }
        result => result,
    }
}

/// Opens directory `name` in `at` (or the root) as an `O_PATH` descriptor,
/// refusing a symbolic link.
fn open_dir(at: Option<&OwnedFd>, name: &[u8]) -> Result<OwnedFd, Errno> {
    let name = CString::new(name.to_vec()).map_err(|_| Errno::EINVAL)?;
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = match at {
        Some(dir) => openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty())?,
        None => nix::fcntl::open(name.as_c_str(), flags | OFlag::O_DIRECTORY, Mode::empty())?,
    };
    let kind = SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT;
    match kind {
        SFlag::S_IFDIR => Ok(fd),
        SFlag::S_IFLNK => Err(Errno::ELOOP),
        _ => Err(Errno::ENOTDIR),
    }
}

/// sudo's `sudoedit_checkdir`: a directory the caller may write is refused.
fn check_dir(dir: &OwnedFd, path: &[u8], job: &EditJob) -> Result<(), Vec<u8>> {
    let st = fstat(dir).map_err(|e| failed(path, e.desc()))?;
    let mode = st.st_mode;
    let writable = if job.caller_uid == 0 {
        false
    } else if st.st_uid == job.caller_uid {
        mode & libc::S_IWUSR != 0
    } else if job.caller_groups.contains(&st.st_gid) {
        mode & libc::S_IWGRP != 0
    } else {
        mode & libc::S_IWOTH != 0
    };
    if writable {
        return Err(failed(
            path,
            "editing files in a writable directory is not permitted",
        ));
    }
    Ok(())
}

/// The file's content, if it is a regular file of at most
/// [`MAX_EDIT_FILE`] bytes.
fn read_regular(fd: OwnedFd, path: &[u8]) -> Result<(Existing, Vec<u8>), Vec<u8>> {
    let st = fstat(&fd).map_err(|e| failed(path, e.desc()))?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(failed(path, "not a regular file"));
    }
    let mut file = std::fs::File::from(fd);
    let mut content = Vec::new();
    (&mut file)
        .take(MAX_EDIT_FILE as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| failed(path, &e.to_string()))?;
    if content.len() > MAX_EDIT_FILE {
        return Err(failed(
            path,
            &format!("larger than {MAX_EDIT_FILE} bytes, not edited"),
        ));
    }
    Ok(((file, st), content))
}
