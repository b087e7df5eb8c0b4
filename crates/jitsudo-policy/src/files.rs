//! Reading the policy from disk (feature `files`): the main file and its
//! `policy.d` drop-ins.
//! The daemon and `jitsudoctl` share it, so a file the daemon would refuse
//! is refused by `jitsudoctl policy check` too. The rest of the crate does
//! no I/O.

mod trusted_dir;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::Source;
pub use trusted_dir::TrustedDir;

/// The installed policy's files, in order: `main`, then the drop-ins of
/// `policy.d` next to it (`*.toml`, sorted; dotfiles and editor backups
/// skipped, as sudo skips them). Each file and every directory above it
/// must be root's and writable by root only, and none may be a symbolic
/// link ([`TrustedDir`]); each is read from the descriptor that was checked.
pub fn installed_sources(main: &Path) -> Result<Vec<Source>, String> {
    let (dir, name) = split(main)?;
    let dir = TrustedDir::open(dir)?;
    let mut sources = vec![trusted_source(&dir, name)?];
    if let Some(drop_ins) = dir.subdir(OsStr::new("policy.d"))? {
        for name in drop_ins.names()?.iter().filter(|n| is_drop_in(n)) {
            sources.push(trusted_source(&drop_ins, name)?);
        }
    }
    Ok(sources)
}

/// These files, in order, each read with the checks of the installed
/// policy (candidate files the daemon reads for `jitsudoctl policy
/// explain --policy`).
pub fn trusted_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    paths
        .iter()
        .map(|path| {
            let (dir, name) = split(path)?;
            trusted_source(&TrustedDir::open(dir)?, name)
        })
        .collect()
}

/// Candidate files (for `jitsudoctl policy check FILE…`), in the order
/// given; nobody's ownership is required to check a file.
pub fn candidate_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    paths.iter().map(|path| read_source(path)).collect()
}

fn split(path: &Path) -> Result<(&Path, &OsStr), String> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(format!("{}: not a file path", path.display())),
    }
}

fn trusted_source(dir: &TrustedDir, name: &OsStr) -> Result<Source, String> {
    Ok(Source {
        name: dir.path().join(name).display().to_string(),
        text: dir.read_file(name)?,
    })
}

fn read_source(path: &Path) -> Result<Source, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        text,
    })
}

/// Drop-ins are `*.toml`; dotfiles and editor backups are skipped, as
/// sudo skips them.
fn is_drop_in(name: &OsStr) -> bool {
    let name = name.as_bytes();
    !name.starts_with(b".") && name.ends_with(b".toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_ins_are_filtered() {
        let names = ["b.toml", "a.toml", ".hidden.toml", "c.toml~", "d.toml.bak"];
        let kept: Vec<_> = names.iter().filter(|n| is_drop_in(OsStr::new(n))).collect();
        assert_eq!(kept, [&"b.toml", &"a.toml"]);
    }
}
