//! Reading files that only root can have written, as sshd's `StrictModes`
//! and sudo's sudoers checks do: every directory from `/` down to the file,
//! and the file itself, must be owned by root and writable by nobody else
//! (a sticky, world-writable directory such as /tmp is refused too), and no
//! component may be a symbolic link.
//!
//! Each component is opened once, relative to the descriptor of the one
//! above it, with `O_NOFOLLOW`; the checks are made with `fstat` on that
//! descriptor and the contents read from that same descriptor, so nothing
//! is looked up by name twice.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{open, openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};

/// The largest policy file read (a sanity bound; policies are a few KiB).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// An open directory, checked (with all its ancestors) to be root's and
/// writable by root only.
pub struct TrustedDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl TrustedDir {
    /// Opens the absolute directory `path`, checking `/` and every
    /// directory below it on the way down.
    pub fn open(path: &Path) -> Result<TrustedDir, String> {
        if !path.is_absolute() {
            return Err(format!("{}: the path must be absolute", path.display()));
        }
        let root = open("/", dir_flags(), Mode::empty()).map_err(|e| failure(Path::new("/"), e))?;
        let mut dir = TrustedDir::checked(root, PathBuf::from("/"))?;
        for component in path.components() {
            match component {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(name) => {
                    dir = dir
                        .subdir(name)?
                        .ok_or_else(|| failure(&dir.path.join(name), Errno::ENOENT))?;
                }
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(format!("{}: the path must not contain ..", path.display()));
                }
            }
        }
        Ok(dir)
    }

    /// Opens the directory `name` in this one, checked; `None` if there is
    /// no such entry.
    pub fn subdir(&self, name: &OsStr) -> Result<Option<TrustedDir>, String> {
        let path = self.path.join(name);
        match openat(&self.fd, name, dir_flags(), Mode::empty()) {
            Ok(fd) => TrustedDir::checked(fd, path).map(Some),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(failure(&path, e)),
        }
    }

    /// Reads the regular file `name` of this directory, checked like the
    /// directories (root's, writable by root only, not a symbolic link).
    pub fn read_file(&self, name: &OsStr) -> Result<String, String> {
        let path = self.path.join(name);
        let flags = OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_CLOEXEC
            | OFlag::O_NOCTTY
            | OFlag::O_NONBLOCK;
        let fd = openat(&self.fd, name, flags, Mode::empty()).map_err(|e| failure(&path, e))?;
        let stat = fstat(&fd).map_err(|e| failure(&path, e))?;
        if kind(&stat) != SFlag::S_IFREG {
            return Err(format!("{} is not a regular file", path.display()));
        }
        check_owner_and_mode(&path, &stat)?;
        let mut text = String::new();
        File::from(fd)
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "{} is larger than {MAX_FILE_BYTES} bytes",
                path.display()
            ));
        }
        Ok(text)
    }

    /// The names in this directory (without `.` and `..`), sorted bytewise.
    pub fn names(&self) -> Result<Vec<OsString>, String> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut dir = Dir::from_fd(fd).map_err(|e| failure(&self.path, e))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| failure(&self.path, e))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                names.push(name.to_os_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// This directory's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn checked(fd: OwnedFd, path: PathBuf) -> Result<TrustedDir, String> {
        let stat = fstat(fd.as_fd()).map_err(|e| failure(&path, e))?;
        check_owner_and_mode(&path, &stat)?;
        Ok(TrustedDir { fd, path })
    }
}

/// Directories are opened for reading (to list them), never following a
/// symbolic link.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits())
}

/// Root's, and not writable by group or others.
fn check_owner_and_mode(path: &Path, stat: &FileStat) -> Result<(), String> {
    if stat.st_uid != 0 {
        return Err(format!(
            "{} is owned by uid {}, should be 0",
            path.display(),
            stat.st_uid
        ));
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {:04o}), should be writable by root only",
            path.display(),
            stat.st_mode & 0o7777
        ));
    }
    Ok(())
}

/// The message for a failed system call on `path`; `O_NOFOLLOW` on a
/// symbolic link fails with `ELOOP` (or `ENOTDIR` with `O_DIRECTORY`).
fn failure(path: &Path, errno: Errno) -> String {
    match errno {
        Errno::ELOOP => format!("{} is a symbolic link, should not be", path.display()),
        _ => format!("{}: {}", path.display(), errno.desc()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// A fresh directory below /run, root's all the way up (the tests run
    /// as root, as the whole suite does).
    fn scratch(name: &str) -> PathBuf {
        let dir = Path::new("/run").join(format!("jitsudod-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[test]
    fn world_writable_sticky_directories_are_refused() {
        let dir = scratch("sticky");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let refused = TrustedDir::open(&dir).err().unwrap_or_default();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            refused.contains("is writable by group or others (mode 1777)"),
            "{refused}"
        );
    }

    #[test]
    fn symbolic_links_are_refused_as_files_and_directories() {
        let dir = scratch("links");
        std::fs::write(dir.join("real.toml"), "").unwrap();
        symlink(dir.join("real.toml"), dir.join("link.toml")).unwrap();
        symlink(&dir, dir.join("linkdir")).unwrap();
        let trusted = TrustedDir::open(&dir).unwrap();
        assert_eq!(
            trusted.read_file(OsStr::new("real.toml")),
            Ok(String::new())
        );
        let file = trusted.read_file(OsStr::new("link.toml")).unwrap_err();
        assert!(
            file.ends_with("link.toml is a symbolic link, should not be"),
            "{file}"
        );
        assert!(trusted.subdir(OsStr::new("linkdir")).is_err());
        assert!(TrustedDir::open(&dir.join("linkdir")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_others_could_write_are_refused() {
        let dir = scratch("modes");
        std::fs::write(dir.join("p.toml"), "x").unwrap();
        std::fs::set_permissions(dir.join("p.toml"), std::fs::Permissions::from_mode(0o664))
            .unwrap();
        let trusted = TrustedDir::open(&dir).unwrap();
        let refused = trusted.read_file(OsStr::new("p.toml")).unwrap_err();
        assert!(refused.contains("(mode 0664)"), "{refused}");
        assert!(TrustedDir::open(Path::new("relative")).is_err());
        assert!(TrustedDir::open(&dir.join("../x")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
