//! `-e`/`sudoedit`, the worker's half. A child drops to the target user
//! for good, then: opens each file as the target, walking its path one
//! component at a time without following symbolic links and refusing
//! directories the caller may write (the lessons of sudo's sudoedit CVEs:
//! a link or a caller-writable directory lets the caller point the write
//! at another file); sends the contents to the client, whose editor runs
//! as the caller; and writes back the files that changed, as the target:
//! a new file beside the old one, given its mode and owner and renamed
//! over it, or (when the directory does not allow that) rewritten in place.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

use jitsudo_audit::{Audit, EventKind, ExitStatus};
use jitsudo_proto::{
    decode, ClientMessage, EditFile, Exit, Failure, FrameReader, ServerMessage, MAX_EDIT_FILE,
    MAX_MESSAGE_LEN,
};
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, umask, FileStat, Mode, SFlag};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{
    fchown, fsync, ftruncate, lseek, setgroups, setresgid, setresuid, unlinkat, ForkResult, Gid,
    Uid, UnlinkatFlags, Whence,
};

use crate::audit::AuditRecord;
use crate::request::job::EditJob;

use super::reply::send;

/// The most the files of one `-e` may hold together (they travel in one
/// message).
const MAX_EDIT_TOTAL: usize = 3 * MAX_EDIT_FILE;

/// A file that exists: open read-write, and its status when opened.
type Existing = (std::fs::File, FileStat);

/// One file opened for editing.
struct Opened {
    path: Vec<u8>,
    /// The directory it is in, reached without following links.
    dir: OwnedFd,
    name: CString,
    /// The file, open read-write; `None` when it does not exist yet.
    file: Option<Existing>,
    content: Vec<u8>,
}

/// Runs the edit in a child that is the target user, reports how it ended
/// and logs it.
pub fn run(job: &EditJob, conn: &OwnedFd, record: &AuditRecord, audit: &Audit) -> ExitCode {
    audit.emit(&record.event(EventKind::ExecAccept));
    // The worker is single-threaded; the child only uses what it owns and
    // ends with `exit`.
    let code = match jitsudo_sys::process::fork_single_threaded() {
        Ok(ForkResult::Child) => std::process::exit(as_target(job, conn)),
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => break code,
                Ok(WaitStatus::Signaled(..)) => break 1,
                Err(Errno::EINTR) | Ok(_) => continue,
                Err(_) => break 1,
            }
        },
        Err(e) => {
            send(
                conn,
                &ServerMessage::Error(Failure::new(format!("unable to fork: {}", e.desc()))),
                None,
            );
            1
        }
    };
    audit.emit(&record.exited(ExitStatus::Code(code)));
    if code == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The child: becomes the target, edits, tells the client.
fn as_target(job: &EditJob, conn: &OwnedFd) -> i32 {
    let outcome = become_target(job)
        .map_err(|e| format!("unable to change to the target user: {}", e.desc()).into_bytes())
        .and_then(|()| edit(job, conn));
    match outcome {
        Ok(()) => {
            send(conn, &ServerMessage::Exited(Exit::Code(0)), None);
            0
        }
        Err(message) => {
            send(conn, &ServerMessage::Error(Failure::new(message)), None);
            1
        }
    }
}

fn become_target(job: &EditJob) -> nix::Result<()> {
    let groups: Vec<Gid> = job.groups.iter().copied().map(Gid::from_raw).collect();
    setgroups(&groups)?;
    let gid = Gid::from_raw(job.gid);
    setresgid(gid, gid, gid)?;
    let uid = Uid::from_raw(job.uid);
    setresuid(uid, uid, uid)?;
    umask(Mode::from_bits_truncate(job.umask));
    Ok(())
}

fn edit(job: &EditJob, conn: &OwnedFd) -> Result<(), Vec<u8>> {
    let opened = job
        .files
        .iter()
        .map(|path| open(path, job))
        .collect::<Result<Vec<_>, _>>()?;
    if opened.iter().map(|o| o.content.len()).sum::<usize>() > MAX_EDIT_TOTAL {
        return Err(format!(
            "the files are too large to edit together (over {MAX_EDIT_TOTAL} bytes)"
        )
        .into_bytes());
    }
    let files = opened
        .iter()
        .map(|o| EditFile {
            path: o.path.clone().into(),
            content: o.content.clone().into(),
        })
        .collect();
    send(conn, &ServerMessage::Edit(files), None);
    let edited = receive_edited(conn, opened.len())?;
    for (file, content) in opened.iter().zip(edited) {
        match content {
            Some(content) if content[..] != file.content[..] => write_back(file, &content)?,
            _ => {}
        }
    }
    Ok(())
}

/// Waits for the client's [`ClientMessage::Edited`]; signals relayed
/// meanwhile are ignored (there is no command to deliver them to).
fn receive_edited(
    conn: &OwnedFd,
    count: usize,
) -> Result<Vec<Option<serde_bytes::ByteBuf>>, Vec<u8>> {
    let gone = || b"the client went away; nothing was written".to_vec();
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    loop {
        let frame = reader
            .read_frame(conn.as_fd())
            .map_err(|_| gone())?
            .ok_or_else(gone)?;
        match decode::<ClientMessage>(&frame) {
            Ok(ClientMessage::Edited(edited)) if edited.len() == count => return Ok(edited),
            Ok(ClientMessage::Signal(_) | ClientMessage::Resume { .. }) => {}
            _ => return Err(b"protocol error: unexpected message while editing".to_vec()),
        }
    }
}

/// `path: reason`.
fn failed(path: &[u8], reason: &str) -> Vec<u8> {
    let mut text = path.to_vec();
    text.extend_from_slice(b": ");
    text.extend_from_slice(reason.as_bytes());
    text
}

/// Opens `path` as the target: every directory on the way is reached
/// without following a link and must not be writable by the caller (root
/// excepted, as in sudo); the file itself must be a regular file, not a
/// link.
fn open(path: &[u8], job: &EditJob) -> Result<Opened, Vec<u8>> {
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
    let file = match openat(dir.as_fd(), name.as_c_str(), flags, Mode::empty()) {
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

/// Writes `content` as the file's new content.
fn write_back(file: &Opened, content: &[u8]) -> Result<(), Vec<u8>> {
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
