//! The sessions directory, safe against a link planted in it or in its
//! place: the directory is opened without following a symbolic link and
//! must be the daemon's (it is made 0700 if it is not), recordings are
//! made and removed inside it (`openat`, `unlinkat`) without following
//! links, and a recording is locked (`flock`) for as long as it is being
//! written. The retention sweep ([`sweep`]) removes the oldest first and
//! never one that is locked.

use std::fs::{DirBuilder, File};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{open, openat, AtFlags, Flock, FlockArg, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::mkdir;
use nix::unistd::{geteuid, unlinkat, UnlinkatFlags};

use super::valid_id;

/// A recording younger than this is never removed by the sweep: it may
/// have just been made and not yet locked.
const YOUNGEST_REMOVED: Duration = Duration::from_secs(60);

/// Creates the file of recording `id` in `dir`, locked for writing.
pub(super) fn create(dir: &Path, id: &str) -> io::Result<Flock<File>> {
    let dir = open_dir(dir, true)?.ok_or_else(|| io::Error::from(Errno::ENOENT))?;
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(
        &dir,
        file_name(id).as_str(),
        flags,
        Mode::from_bits_truncate(0o600),
    )?;
    Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock)
        .map_err(|(_, errno)| io::Error::from(errno))
}

fn file_name(id: &str) -> String {
    format!("{id}.jsonl")
}

/// Opens the sessions directory `dir` (made 0700 with its parents if
/// `create` and missing; `None` if missing otherwise). Refused: a symbolic
/// link in its place, or a directory that is not this process's user's
/// (root's); one that others may enter is made 0700.
fn open_dir(dir: &Path, create: bool) -> io::Result<Option<OwnedFd>> {
    if create {
        if let Some(parent) = dir.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        match mkdir(dir, Mode::from_bits_truncate(0o700)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = match open(dir, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) if !create => return Ok(None),
        Err(Errno::ELOOP | Errno::ENOTDIR) => {
            return Err(io::Error::other(format!(
                "{} is not a directory (a symbolic link?): remove it",
                dir.display()
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let st = fstat(&fd)?;
    if st.st_uid != geteuid().as_raw() {
        return Err(io::Error::other(format!(
            "{} belongs to uid {}, not to jitsudod's user: remove it",
            dir.display(),
            st.st_uid
        )));
    }
    if st.st_mode & 0o7777 != 0o700 {
        fchmod(&fd, Mode::from_bits_truncate(0o700))?;
    }
    Ok(Some(fd))
}

/// How long recordings are kept (`record_retention`) and how much they
/// may hold together (`record_max_total`); `None`: no bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Recordings last written longer ago are removed.
    pub max_age: Option<Duration>,
    /// The oldest recordings are removed until the rest hold no more bytes.
    pub max_total: Option<u64>,
}

/// A recording the sweep removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Its id.
    pub id: String,
    /// Its size, in bytes.
    pub bytes: u64,
}

/// A recording as the sweep finds it.
struct Found {
    name: String,
    st: FileStat,
    modified: SystemTime,
}

/// Removes, oldest first, the recordings in `dir` that `retention` no
/// longer keeps at `now`, except those still being written (locked) and
/// those younger than a minute. Nothing to do without a bound or without
/// the directory.
pub fn sweep(dir: &Path, retention: &Retention, now: SystemTime) -> io::Result<Vec<Removed>> {
    if retention.max_age.is_none() && retention.max_total.is_none() {
        return Ok(Vec::new());
    }
    let Some(dir) = open_dir(dir, false)? else {
        return Ok(Vec::new());
    };
    let mut found = recordings(&dir)?;
    found.sort_by_key(|f| f.modified);
    let mut total: u64 = found.iter().map(|f| size(&f.st)).sum();
    let mut removed = Vec::new();
    for recording in found {
        let age = now.duration_since(recording.modified).unwrap_or_default();
        let expired = retention.max_age.is_some_and(|max| age > max);
        let over = retention.max_total.is_some_and(|max| total > max);
        if !(expired || over) || age < YOUNGEST_REMOVED {
            continue;
        }
        if remove(&dir, &recording)? {
            total -= size(&recording.st);
            removed.push(Removed {
                id: recording.name.trim_end_matches(".jsonl").to_owned(),
                bytes: size(&recording.st),
            });
        }
    }
    Ok(removed)
}

fn size(st: &FileStat) -> u64 {
    u64::try_from(st.st_size).unwrap_or(0)
}

/// The regular files of `dir` named like recordings.
fn recordings(dir: &OwnedFd) -> io::Result<Vec<Found>> {
    let mut listing = Dir::from_fd(dir.try_clone()?)?;
    let mut found = Vec::new();
    for entry in listing.iter().flatten() {
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if !name.strip_suffix(".jsonl").is_some_and(valid_id) {
            continue;
        }
        let Ok(st) = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue;
        };
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
            continue;
        }
        let modified = UNIX_EPOCH + Duration::from_secs(u64::try_from(st.st_mtime).unwrap_or(0));
        found.push(Found {
            name: name.to_owned(),
            st,
            modified,
        });
    }
    Ok(found)
}

/// Removes `recording` unless it is being written (locked) or its name no
/// longer holds the file found; whether it was removed.
fn remove(dir: &OwnedFd, recording: &Found) -> io::Result<bool> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let Ok(fd) = openat(dir, recording.name.as_str(), flags, Mode::empty()) else {
        return Ok(false);
    };
    let Ok(locked) = Flock::lock(File::from(fd), FlockArg::LockExclusiveNonblock) else {
        return Ok(false);
    };
    let st = fstat(locked.as_fd())?;
    if (st.st_dev, st.st_ino) != (recording.st.st_dev, recording.st.st_ino) {
        return Ok(false);
    }
    Ok(unlinkat(dir, recording.name.as_str(), UnlinkatFlags::NoRemoveDir).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("jitsudo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_link_in_place_of_the_directory_is_refused() {
        let base = scratch("store-link");
        let target = base.join("elsewhere");
        std::fs::create_dir_all(&target).unwrap();
        let dir = base.join("sessions");
        std::os::unix::fs::symlink(&target, &dir).unwrap();
        assert!(create(&dir, "0123456789abcdef").is_err());
        assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_sweep_keeps_what_is_locked_and_removes_oldest_first() {
        let dir = scratch("store-sweep");
        let locked = create(&dir, "000000000000000a").unwrap();
        drop(create(&dir, "000000000000000b").unwrap());
        drop(create(&dir, "000000000000000c").unwrap());
        let later = SystemTime::now() + Duration::from_secs(3600);
        let keep_all = Retention {
            max_age: Some(Duration::from_secs(7200)),
            max_total: None,
        };
        assert!(sweep(&dir, &keep_all, later).unwrap().is_empty());
        let removed = sweep(
            &dir,
            &Retention {
                max_age: Some(Duration::from_secs(60)),
                max_total: None,
            },
            later,
        )
        .unwrap();
        let mut ids: Vec<_> = removed.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["000000000000000b", "000000000000000c"]);
        drop(locked);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_total_bound_removes_the_oldest_until_the_rest_fit() {
        use std::io::Write;
        let dir = scratch("store-total");
        let now = SystemTime::now();
        for (id, days_old) in [
            ("00000000000000a1", 3),
            ("00000000000000a2", 1),
            ("00000000000000a3", 2),
        ] {
            let mut file = create(&dir, id).unwrap();
            file.write_all(&[b'x'; 1000]).unwrap();
            file.set_modified(now - Duration::from_secs(days_old * 86_400))
                .unwrap();
        }
        let bound = Retention {
            max_age: None,
            max_total: Some(1500),
        };
        let removed = sweep(&dir, &bound, now).unwrap();
        let ids: Vec<_> = removed.iter().map(|r| (r.id.as_str(), r.bytes)).collect();
        assert_eq!(
            ids,
            [("00000000000000a1", 1000), ("00000000000000a3", 1000)]
        );
        assert!(dir.join("00000000000000a2.jsonl").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
