//! Opening the executable a request names, once.
//!
//! The daemon opens the command (`O_PATH`, never a device or FIFO), decides
//! on that open file (its device and inode, its digest read through it) and
//! hands the descriptor to the worker, which executes exactly it
//! (`execveat(fd, "", AT_EMPTY_PATH)`). No path string the caller controls
//! is resolved again after the decision: a symlink swapped or a directory
//! mounted over in the meantime changes nothing.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use jitsudo_policy::{Executable, FileId};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use sha2::{Digest, Sha256};

/// An executable file the daemon opened.
#[derive(Debug)]
pub struct Opened {
    /// The `O_PATH` descriptor the worker executes.
    pub fd: OwnedFd,
    /// The absolute path it was found at, as named (a `secure_path`
    /// directory and the name, or the path typed, relative ones after the
    /// caller's directory): what the policy matches, and what is shown.
    pub path: PathBuf,
    /// The kernel's name for the open file (symlinks resolved).
    pub real_path: PathBuf,
    /// Its device and inode.
    pub id: FileId,
}

/// Finds and opens `program`: with a slash it is a path (relative ones are
/// opened from the caller's directory `cwd`, whose name is `cwd_name`),
/// without one it is searched in the absolute directories of
/// `secure_path`. Only an executable regular file counts: directories,
/// FIFOs, devices and dangling links do not, and are never opened for I/O.
pub fn open(
    program: &OsStr,
    secure_path: &str,
    cwd: BorrowedFd<'_>,
    cwd_name: &Path,
) -> Option<Opened> {
    let bytes = program.as_bytes();
    if bytes.is_empty() || bytes.contains(&0) {
        return None;
    }
    if bytes.contains(&b'/') {
        return open_at(cwd, Path::new(program), cwd_name.join(program));
    }
    secure_path
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(program))
        .find_map(|path| open_at(cwd, &path, path.clone()))
}

/// Opens `name` (from `dir` when relative) as an executable regular file.
fn open_at(dir: BorrowedFd<'_>, name: &Path, path: PathBuf) -> Option<Opened> {
    let fd = openat(dir, name, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let stat = fstat(&fd).ok()?;
    let is_file = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
    if !is_file || stat.st_mode & 0o111 == 0 {
        return None;
    }
    let real_path = std::fs::read_link(proc_path(&fd)).ok()?;
    Some(Opened {
        id: FileId {
            dev: stat.st_dev,
            ino: stat.st_ino,
        },
        fd,
        path,
        real_path,
    })
}

/// `/proc/self/fd/N`: the open file itself, whatever its path now.
fn proc_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

impl Opened {
    /// The policy's view of the open file.
    pub fn executable(&self) -> Executable<'_> {
        Executable {
            id: self.id,
            real_path: &self.real_path,
            identify,
        }
    }

    /// The open file, readable: reopened through its descriptor (the same
    /// inode, whatever its path names now).
    fn reader(&self) -> Option<File> {
        File::open(proc_path(&self.fd.as_fd())).ok()
    }

    /// The SHA-256 of the open file's contents, or `None` if it cannot be
    /// read (a pinned rule then does not match: fail closed).
    pub fn sha256(&self) -> Option<[u8; 32]> {
        let mut file = self.reader()?;
        let mut digest = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => digest.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        Some(digest.finalize().into())
    }

    /// Whether the file starts with `#!`: its interpreter will then read it
    /// through `/dev/fd/N`, so the descriptor must survive the exec.
    pub fn is_script(&self) -> bool {
        let mut magic = [0u8; 2];
        self.reader()
            .is_some_and(|mut file| file.read_exact(&mut magic).is_ok() && &magic == b"#!")
    }
}

/// The device and inode of the file `path` leads to now (symlinks
/// followed), for comparing a rule's path with the opened file.
pub fn identify(path: &Path) -> Option<FileId> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn find(program: &str, secure_path: &str, cwd: &str) -> Option<Opened> {
        let dir = OwnedFd::from(File::open(cwd).unwrap());
        open(
            OsStr::new(program),
            secure_path,
            dir.as_fd(),
            Path::new(cwd),
        )
    }

    #[test]
    fn finds_in_secure_path_only() {
        let sh = find("sh", "relative:/bin", "/").unwrap();
        assert_eq!(sh.path, Path::new("/bin/sh"));
        assert_eq!(Some(sh.id), identify(Path::new("/bin/sh")));
        assert!(find("sh", "/nonexistent", "/").is_none());
        assert!(find("tmp", "/", "/").is_none());
        assert!(find("/dev/null", "/bin", "/").is_none());
        assert!(find("/etc/passwd", "/bin", "/").is_none());
        let relative = find("./sh", "", "/bin").unwrap();
        assert_eq!(relative.path, Path::new("/bin/./sh"));
        assert!(!relative.is_script());
    }

    #[test]
    fn digest_and_kind_are_those_of_the_open_file() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("jitsudod-exe-{}", std::process::id()));
        let other = dir.join(format!("jitsudod-exe-{}.new", std::process::id()));
        for (file, text) in [(&path, &b"abc"[..]), (&other, b"#!/bin/sh\n")] {
            std::fs::write(file, text).unwrap();
            std::fs::set_permissions(file, PermissionsExt::from_mode(0o755)).unwrap();
        }
        let opened = find(path.to_str().unwrap(), "", "/").unwrap();
        // Another file is renamed over the path after the open.
        std::fs::rename(&other, &path).unwrap();
        let digest = opened.sha256();
        let script = opened.is_script();
        std::fs::remove_file(&path).unwrap();
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            digest.map(|d| d[..4].to_vec()),
            Some(vec![0xba, 0x78, 0x16, 0xbf])
        );
        assert!(!script);
    }
}
