//! Loading the policy from disk: the main file, its `policy.d` drop-ins,
//! and command paths resolved the way requests are.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use jitsudo_policy::{parse, Policy, Source};
use sha2::{Digest, Sha256};

/// A policy in force and the hash that names it in every decision and
/// log event.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed, resolved policy.
    pub policy: Policy,
    /// SHA-256 (hex) over the source files' names and contents, in order.
    pub hash: String,
}

/// Reads and validates the policy at `main` plus `<dir of main>/policy.d/*.toml`
/// in lexical order (dotfiles and editor backups are skipped, as sudo
/// skips them). Returns every error, one per line.
pub fn load(main: &Path) -> Result<Loaded, String> {
    let sources = installed_sources(main)?;
    let mut policy = parse(&sources).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    resolve(&mut policy);
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

/// The installed policy's files, in order, each checked to be root's and
/// writable by root only.
pub fn installed_sources(main: &Path) -> Result<Vec<Source>, String> {
    let mut paths = vec![main.to_path_buf()];
    paths.extend(drop_ins(main));
    paths
        .iter()
        .map(|path| {
            check_ownership(path)?;
            read_source(path)
        })
        .collect()
}

/// Candidate files (for `jitsudoctl policy check FILE…`), in the order
/// given; nobody's ownership is required to check a file.
pub fn candidate_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    paths.iter().map(|path| read_source(path)).collect()
}

/// Resolves every rule's command path the way request paths are resolved
/// (symlinks followed), so the two compare.
pub fn resolve(policy: &mut Policy) {
    policy.resolve_command_paths(|path| std::fs::canonicalize(path).unwrap_or(path.into()));
}

fn read_source(path: &Path) -> Result<Source, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        text,
    })
}

/// Like sudo with sudoers: a policy file anyone but root could change is
/// refused (owned by root, not group- or world-writable).
fn check_ownership(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.uid() != 0 {
        return Err(format!("{}: must be owned by root", path.display()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{}: must not be writable by group or others (mode {:04o})",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

fn drop_ins(main: &Path) -> Vec<PathBuf> {
    let dir = main.parent().unwrap_or(Path::new("/")).join("policy.d");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_drop_in(p))
        .collect();
    paths.sort();
    paths
}

fn is_drop_in(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && name.ends_with(".toml") && path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

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
    fn writable_policy_files_are_refused() {
        let path = std::env::temp_dir().join(format!("jitsudod-perm-{}.toml", std::process::id()));
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let refused = check_ownership(&path);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let accepted = check_ownership(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(refused.unwrap_err().contains("must not be writable"));
        // Tests run as root, so the file is root's.
        assert_eq!(accepted, Ok(()));
    }

    #[test]
    fn drop_ins_are_filtered_and_sorted() {
        let dir = std::env::temp_dir().join(format!("jitsudod-policy-{}", std::process::id()));
        let d = dir.join("policy.d");
        std::fs::create_dir_all(&d).unwrap();
        for name in ["b.toml", "a.toml", ".hidden.toml", "c.toml~", "d.toml.bak"] {
            std::fs::write(d.join(name), "").unwrap();
        }
        let found: Vec<_> = drop_ins(&dir.join("policy.toml"))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, ["a.toml", "b.toml"]);
    }
}
