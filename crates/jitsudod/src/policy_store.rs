//! The policy in force: read from disk (`jitsudo_policy::files`, with its
//! ownership and symbolic-link checks), parsed, and named by a hash. (Rule
//! paths are not resolved: requests are matched against them by file
//! identity at decision time.)

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jitsudo_policy::files;
use jitsudo_policy::{parse, Policy, PolicyError, Source};
use jitsudo_sys::region::Region;
use sha2::{Digest, Sha256};

/// A policy in force and the hash that names it in every decision and
/// log event.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed policy.
    pub policy: Policy,
    /// SHA-256 (hex) over the source files' names and contents, in order.
    pub hash: String,
    /// The source files' names, in order.
    pub files: Vec<String>,
    /// When it was read.
    pub loaded: Instant,
}

/// Why a policy was not loaded.
#[derive(Debug, Clone)]
pub enum LoadError {
    /// A file could not be read, or someone other than root could have
    /// written it (the reason, with the path).
    File(String),
    /// The files are not a valid policy: every error found.
    Invalid(Vec<PolicyError>),
}

impl fmt::Display for LoadError {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::File(reason) => f.write_str(reason),
            LoadError::Invalid(errors) => {
                for (i, error) in errors.iter().enumerate() {
                    let separator = if i > 0 { "\n" } else { "" };
                    write!(f, "{separator}{error}")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads and validates the policy at `main` plus `<dir of main>/policy.d/*.toml`
/// in lexical order.
///
/// The files are read and parsed inside a scratch allocation region, and
/// the policy is then copied into a region of its own: the parser's
/// temporaries (several times the policy's size) go back to the kernel at
/// once, and the policy sits in one block that is unmapped whole when it
/// is replaced and its last request ends (see `jitsudo_sys::region`).
pub fn load(main: &Path) -> Result<Loaded, LoadError> {
    let Some(scratch) = Region::new(true) else {
        return from_sources(files::installed_sources(main));
    };
    let read = scratch.within(|| from_sources(files::installed_sources(main)));
    match &read {
        Ok(loaded) => Ok(match Region::new(false) {
            Some(home) => home.within(|| loaded.detached()),
            None => loaded.detached(),
        }),
        Err(error) => Err(error.clone()),
    }
}

/// Reads and validates these files, in order, with the same checks as the
/// installed policy (`jitsudoctl policy explain --policy FILE…`).
pub fn load_files(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    from_sources(files::trusted_sources(paths))
}

impl Loaded {
    /// A copy that shares no allocation with this one.
    fn detached(&self) -> Loaded {
        Loaded {
            policy: self.policy.detached(),
            hash: self.hash.clone(),
            files: self.files.clone(),
            loaded: self.loaded,
        }
    }
}

fn from_sources(sources: Result<Vec<Source>, String>) -> Result<Loaded, LoadError> {
    let sources = sources.map_err(LoadError::File)?;
    let policy = parse(&sources).map_err(LoadError::Invalid)?;
    Ok(Loaded {
        policy,
        hash: hash(&sources),
        files: sources.iter().map(|source| source.name.clone()).collect(),
        loaded: Instant::now(),
    })
}

/// The policy's identity: SHA-256 over each source's name and text.
fn hash(sources: &[Source]) -> String {
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
}
