//! Loading the policy from disk: the main file and its `policy.d` drop-ins.
//! (Rule paths are not resolved: requests are matched against them by file
//! identity at decision time.)

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use jitsudo_policy::{parse, Policy, Source};
use sha2::{Digest, Sha256};

use crate::trusted_dir::TrustedDir;

/// A policy in force and the hash that names it in every decision and
/// log event.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed policy.
    pub policy: Policy,
    /// SHA-256 (hex) over the source files' names and contents, in order.
    pub hash: String,
}

/// Reads and validates the policy at `main` plus `<dir of main>/policy.d/*.toml`
/// in lexical order (dotfiles and editor backups are skipped, as sudo
/// skips them). Returns every error, one per line.
pub fn load(main: &Path) -> Result<Loaded, String> {
    let sources = installed_sources(main)?;
    let policy = parse(&sources).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(Loaded {
        policy,
        hash: hash(&sources),
    })
}

/// The policy's identity: SHA-256 over each source's name and text.
pub fn hash(sources: &[Source]) -> String {
    let mut digest = Sha256::new();
    for source in sources {
        for part in [source.name.as_bytes(), b"\0", source.text.as_bytes(), b"\0"] {
            digest.update(part);
        }
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The installed policy's files, in order: `main`, then the drop-ins of
/// `policy.d` next to it. Each file and every directory above it must be
/// root's and writable by root only, and none may be a symbolic link
/// ([`TrustedDir`]); each is read from the descriptor that was checked.
pub fn installed_sources(main: &Path) -> Result<Vec<Source>, String> {
    let (Some(dir), Some(name)) = (main.parent(), main.file_name()) else {
        return Err(format!("{}: not a file path", main.display()));
    };
    let dir = TrustedDir::open(dir)?;
    let mut sources = vec![trusted_source(&dir, name)?];
    if let Some(drop_ins) = dir.subdir(OsStr::new("policy.d"))? {
        for name in drop_ins.names()?.iter().filter(|n| is_drop_in(n)) {
            sources.push(trusted_source(&drop_ins, name)?);
        }
    }
    Ok(sources)
}

fn trusted_source(dir: &TrustedDir, name: &OsStr) -> Result<Source, String> {
    Ok(Source {
        name: dir.path().join(name).display().to_string(),
        text: dir.read_file(name)?,
    })
}

/// Candidate files (for `jitsudoctl policy check FILE…`), in the order
/// given; nobody's ownership is required to check a file.
pub fn candidate_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    paths.iter().map(|path| read_source(path)).collect()
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
    fn the_hash_names_the_exact_sources() {
        let source = |name: &str, text: &str| Source {
            name: name.into(),
            text: text.into(),
        };
        let base = hash(&[source("a", "x"), source("b", "y")]);
        assert_eq!(base.len(), 64);
        assert_eq!(base, hash(&[source("a", "x"), source("b", "y")]));
        assert_ne!(base, hash(&[source("a", "x"), source("b", "z")]));
        assert_ne!(base, hash(&[source("b", "y"), source("a", "x")]));
        assert_ne!(base, hash(&[source("a", "xb"), source("", "y")]));
    }

    #[test]
    fn drop_ins_are_filtered() {
        let names = ["b.toml", "a.toml", ".hidden.toml", "c.toml~", "d.toml.bak"];
        let kept: Vec<_> = names.iter().filter(|n| is_drop_in(OsStr::new(n))).collect();
        assert_eq!(kept, [&"b.toml", &"a.toml"]);
    }
}
