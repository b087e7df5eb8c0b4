//! `-e`/`sudoedit`, the client's half: the daemon's worker opened and read
//! the files as the target; here, as the caller and without any privilege,
//! each is copied to a private temporary file (0600, in `/var/tmp`), the
//! caller's editor (`SUDO_EDITOR`, `VISUAL`, `EDITOR`, else `vi`) runs on
//! the copies, and the new contents of the files that changed go back to
//! the worker, which writes them as the target.
//!
//! The editor and its arguments cannot widen what is written: only the
//! files the daemon opened are written back, whatever the editor variable
//! holds (CVE-2023-22809 turned extra `--` file names in it into files sudo
//! wrote as root).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use jitsudo_proto::EditFile;
use serde_bytes::ByteBuf;

use crate::error::Error;

/// Largest file accepted back from the editor (the worker sends at most
/// this much, too).
const MAX_EDIT: usize = jitsudo_proto::MAX_EDIT_FILE;

/// Where the copies are made, as sudo does.
const TEMP_DIR: &str = "/var/tmp";

/// A copy being edited; removed when dropped.
struct Copy {
    path: PathBuf,
    original: ByteBuf,
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Edits the files: the new content of each changed one (`None`:
/// unchanged), or why the edit failed (then nothing is written back).
pub fn edit(files: Vec<EditFile>) -> Result<Vec<Option<ByteBuf>>, Error> {
    let copies = files
        .into_iter()
        .map(|file| copy_of(&file.path, file.content))
        .collect::<Result<Vec<_>, _>>()?;
    run_editor(&copies)?;
    copies.iter().map(changed).collect()
}

/// The editor's words: the first non-empty of `SUDO_EDITOR`, `VISUAL`,
/// `EDITOR`, split at white space; `vi` if none is set.
fn editor() -> Vec<OsString> {
    ["SUDO_EDITOR", "VISUAL", "EDITOR"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|value| {
            value
                .as_bytes()
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .map(|w| OsString::from_vec(w.to_vec()))
                .collect::<Vec<_>>()
        })
        .find(|words| !words.is_empty())
        .unwrap_or_else(|| vec![OsString::from("vi")])
}

fn run_editor(copies: &[Copy]) -> Result<(), Error> {
    let words = editor();
    let (program, args) = words.split_first().ok_or(Error::NoEditor)?;
    let status = Command::new(program)
        .args(args)
        .arg("--")
        .args(copies.iter().map(|c| c.path.as_os_str()))
        .status()
        .map_err(|e| Error::Spawn(program.clone(), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::EditorFailed(program.clone(), status))
    }
}

/// A private copy of `content`, named after the file's base name.
fn copy_of(path: &[u8], content: ByteBuf) -> Result<Copy, Error> {
    let base = Path::new(OsStr::from_bytes(path))
        .file_name()
        .map_or_else(|| OsString::from("file"), OsStr::to_os_string);
    let mut last = None;
    for _ in 0..16 {
        let mut name = base.clone();
        name.push(format!(".{}", random_suffix()));
        let temp = Path::new(TEMP_DIR).join(name);
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp);
        match opened {
            Ok(mut file) => {
                let copy = Copy {
                    path: temp,
                    original: content,
                };
                file.write_all(&copy.original)
                    .map_err(|e| Error::File(copy.path.clone(), e))?;
                return Ok(copy);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(Error::File(TEMP_DIR.into(), e)),
        }
    }
    Err(Error::NoTempFile(TEMP_DIR.into(), last))
}

/// Eight random letters and digits for a temporary name.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        // Unique enough with O_EXCL and retries: the pid and the clock.
        let seed = std::process::id() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        bytes = seed.to_le_bytes();
    }
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The copy's new content if it changed.
fn changed(copy: &Copy) -> Result<Option<ByteBuf>, Error> {
    let failed = |e| Error::File(copy.path.clone(), e);
    let file = File::open(&copy.path).map_err(failed)?;
    let mut content = Vec::new();
    file.take(MAX_EDIT as u64 + 1)
        .read_to_end(&mut content)
        .map_err(failed)?;
    if content.len() > MAX_EDIT {
        return Err(Error::TooLarge(copy.path.clone(), MAX_EDIT));
    }
    Ok((content[..] != copy.original[..]).then(|| ByteBuf::from(content)))
}
