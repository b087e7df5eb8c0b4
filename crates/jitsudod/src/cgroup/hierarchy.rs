//! Where the cgroup v2 hierarchy is mounted, and where in it we are.

use std::path::{Component, Path, PathBuf};

use crate::error::{at, Error};

/// The cgroup2 mount: its mount point and which cgroup its root shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    mount_point: PathBuf,
    mount_root: PathBuf,
}

impl Hierarchy {
    /// The first cgroup2 mount in /proc/self/mountinfo.
    pub fn find() -> Result<Hierarchy, Error> {
        let mountinfo = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(mountinfo).map_err(at(mountinfo))?;
        text.lines().find_map(parse_mount).ok_or(Error::NoCgroup2)
    }

    /// Whether `dir` is in the mounted hierarchy.
    pub fn contains(&self, dir: &Path) -> bool {
        dir.starts_with(&self.mount_point)
    }

    /// The directory of the cgroup `path` (as /proc/self/cgroup names it:
    /// absolute, no `.` or `..`).
    pub fn dir_of(&self, path: &Path) -> Result<PathBuf, Error> {
        let plain = path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !plain {
            return Err(Error::CgroupPath(path.to_path_buf()));
        }
        let inside = path
            .strip_prefix(&self.mount_root)
            .map_err(|_| Error::OutsideMount(path.to_path_buf(), self.mount_point.clone()))?;
        Ok(self.mount_point.join(inside))
    }
}

/// One mountinfo line, if it is a cgroup2 mount: `id parent dev root
/// mountpoint options [optional…] - fstype source super-options`.
fn parse_mount(line: &str) -> Option<Hierarchy> {
    let (before, after) = line.split_once(" - ")?;
    if after.split(' ').next()? != "cgroup2" {
        return None;
    }
    let mut fields = before.split(' ').skip(3);
    let root = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    Some(Hierarchy {
        mount_point: PathBuf::from(mount_point),
        mount_root: PathBuf::from(root),
    })
}

/// Undoes mountinfo's octal escapes (`\040` for a space, and so on).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let s = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(s, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup v2 path, from /proc/self/cgroup (`0::/path`).
pub fn own_cgroup() -> Result<PathBuf, Error> {
    let cgroup = Path::new("/proc/self/cgroup");
    let text = std::fs::read_to_string(cgroup).map_err(at(cgroup))?;
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(PathBuf::from)
        .ok_or(Error::NoOwnCgroup)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";

    #[test]
    fn finds_the_cgroup2_mount_among_v1_ones() {
        let found = HYBRID.lines().find_map(parse_mount).unwrap();
        assert_eq!(found.mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(
            found.dir_of(Path::new("/jitsudo")).unwrap(),
            Path::new("/sys/fs/cgroup/unified/jitsudo")
        );
    }

    #[test]
    fn unescapes_mount_points_and_maps_through_the_mount_root() {
        let line = "5 1 0:9 /sys.slice /my\\040cg rw - cgroup2 none rw";
        let found = parse_mount(line).unwrap();
        assert_eq!(
            found.dir_of(Path::new("/sys.slice/x.service")).unwrap(),
            Path::new("/my cg/x.service")
        );
        assert!(found.dir_of(Path::new("/other")).is_err());
    }

    #[test]
    fn refuses_relative_and_dotted_paths() {
        let found = HYBRID.lines().find_map(parse_mount).unwrap();
        for bad in ["jitsudo", "/a/../b", "../b"] {
            assert!(found.dir_of(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
