//! Users and groups: resolving the caller and the requested target.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::unistd::{getgrouplist, Gid};
use uzers::os::unix::UserExt;

/// Longest user or group name we look up; anything longer is unknown.
const MAX_NAME_LEN: usize = 256;

/// A user from the password database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name (bytes).
    pub name: OsString,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: PathBuf,
    /// Login shell.
    pub shell: PathBuf,
}

impl Account {
    fn from_user(user: uzers::User) -> Account {
        Account {
            name: user.name().to_owned(),
            uid: user.uid(),
            gid: user.primary_group_id(),
            home: user.home_dir().to_owned(),
            shell: user.shell().to_owned(),
        }
    }

    /// The user's supplementary groups from the group database, primary
    /// group first. `primary` replaces the passwd gid (for `-g`).
    pub fn groups(&self, primary: u32) -> Vec<u32> {
        let Ok(name) = std::ffi::CString::new(self.name.as_bytes()) else {
            return vec![primary];
        };
        let mut groups: Vec<u32> = getgrouplist(&name, Gid::from_raw(self.gid))
            .map(|gids| gids.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_else(|_| vec![self.gid]);
        groups.retain(|g| *g != primary);
        groups.insert(0, primary);
        groups
    }
}

/// A group from the group database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name (bytes).
    pub name: OsString,
    /// Group id.
    pub gid: u32,
}

/// Looks a user up by uid.
pub fn user_by_uid(uid: u32) -> Option<Account> {
    uzers::get_user_by_uid(uid).map(Account::from_user)
}

/// The name of group `gid`, if it has one.
pub fn group_name(gid: u32) -> Option<OsString> {
    uzers::get_group_by_gid(gid).map(|g| g.name().to_owned())
}

/// Resolves `-u` (a name or `#uid`). `None` for anything unknown,
/// malformed, out of range or absurd.
pub fn resolve_user(spec: &[u8]) -> Option<Account> {
    match numeric_id(spec)? {
        Some(uid) => user_by_uid(uid),
        None => uzers::get_user_by_name(OsStr::from_bytes(spec)).map(Account::from_user),
    }
}

/// Resolves `-g` (a name or `#gid`).
pub fn resolve_group(spec: &[u8]) -> Option<GroupEntry> {
    let group = match numeric_id(spec)? {
        Some(gid) => uzers::get_group_by_gid(gid),
        None => uzers::get_group_by_name(OsStr::from_bytes(spec)),
    }?;
    Some(GroupEntry {
        name: group.name().to_owned(),
        gid: group.gid(),
    })
}

/// `Some(Some(id))` for a valid `#id`, `Some(None)` for a plausible name,
/// `None` for something that can name nobody.
fn numeric_id(spec: &[u8]) -> Option<Option<u32>> {
    if spec.is_empty() || spec.len() > MAX_NAME_LEN || spec.contains(&0) {
        return None;
    }
    let Some(digits) = spec.strip_prefix(b"#") else {
        return (!spec.contains(&b'/')).then_some(None);
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let id: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    // (uid_t)-1 means "no change" to the kernel; it is nobody's id.
    (id != u32::MAX).then_some(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids() {
        assert_eq!(numeric_id(b"#0"), Some(Some(0)));
        assert_eq!(numeric_id(b"#-1"), None);
        assert_eq!(numeric_id(b"#4294967295"), None);
        assert_eq!(numeric_id(b"#4294967296"), None);
        assert_eq!(numeric_id(b"#"), None);
        assert_eq!(numeric_id(b"#1x"), None);
        assert_eq!(numeric_id(b""), None);
        assert_eq!(numeric_id(b"../root"), None);
        assert_eq!(numeric_id(&[b'a'; 300]), None);
        assert_eq!(numeric_id(b"root"), Some(None));
    }

    #[test]
    fn resolves_root() {
        let root = resolve_user(b"root").unwrap();
        assert_eq!(root.uid, 0);
        assert_eq!(resolve_user(b"#0").unwrap().name, "root");
        assert!(resolve_user(b"no-such-user-jitsudo").is_none());
        assert_eq!(resolve_group(b"#0").unwrap().name, "root");
        assert_eq!(root.groups(0)[0], 0);
    }
}
