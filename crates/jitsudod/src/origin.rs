//! Where a caller is coming from, from facts the caller cannot forge: its
//! controlling terminal (from the kernel) and its ancestry (a login through
//! sshd descends from root's sshd; no user process can change its parents).

use std::path::Path;

use jitsudo_policy::Origin;

/// The ssh daemon whose descendants count as remote sessions.
const SSHD: &str = "/usr/sbin/sshd";
/// How far up the process tree to look.
const MAX_DEPTH: usize = 64;

/// Determines the origin of process `pid`, which has a terminal or not:
/// a session descending from root's sshd is `Ssh`, any other terminal
/// (console, serial line, local terminal emulator) `Local`.
pub fn of(pid: i32, has_tty: bool) -> Origin {
    if !has_tty {
        return Origin::None;
    }
    if ancestors(pid).any(is_root_sshd) {
        Origin::Ssh
    } else {
        Origin::Local
    }
}

/// `pid`'s parent, grandparent, … up to (not including) pid 1.
fn ancestors(pid: i32) -> impl Iterator<Item = i32> {
    let mut current = pid;
    std::iter::from_fn(move || {
        current = parent_of(current).filter(|p| *p > 1)?;
        Some(current)
    })
    .take(MAX_DEPTH)
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` runs the system's sshd binary as root.
fn is_root_sshd(pid: i32) -> bool {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
    let runs_sshd = exe.is_ok_and(|exe| exe == Path::new(SSHD));
    runs_sshd && uid_of(pid) == Some(0)
}

fn uid_of(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_terminal_is_no_tty() {
        assert_eq!(of(std::process::id() as i32, false), Origin::None);
    }

    #[test]
    fn only_root_sshd_counts() {
        assert!(!is_root_sshd(std::process::id() as i32));
        assert_eq!(
            uid_of(std::process::id() as i32),
            Some(nix::unistd::getuid().as_raw())
        );
    }

    #[test]
    fn ancestry_ends_before_init() {
        let chain: Vec<i32> = ancestors(std::process::id() as i32).collect();
        assert!(!chain.contains(&1));
        assert!(chain.len() < MAX_DEPTH);
        assert_eq!(chain.first(), parent_of(std::process::id() as i32).as_ref());
    }
}
