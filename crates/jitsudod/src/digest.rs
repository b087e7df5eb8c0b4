//! SHA-256 of an executable, for rules that pin one.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The SHA-256 of the file at `path`, or `None` if it cannot be read (a
/// pinned rule then does not match: fail closed).
///
/// The command is later executed by path, so a file swapped in between
/// would not be the one hashed; digest pinning is therefore meant for
/// executables only root can replace, as everywhere in `secure_path`.
pub fn sha256_file(path: &Path) -> Option<[u8; 32]> {
    let mut file = std::fs::File::open(path).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_file_contents() {
        let path = std::env::temp_dir().join(format!("jitsudod-digest-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let digest = sha256_file(&path);
        std::fs::remove_file(&path).unwrap();
        // SHA-256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            digest.map(|d| d[..4].to_vec()),
            Some(vec![0xba, 0x78, 0x16, 0xbf])
        );
        assert_eq!(sha256_file(Path::new("/nonexistent/jitsudo")), None);
    }
}
