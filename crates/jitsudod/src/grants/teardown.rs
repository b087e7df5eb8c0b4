//! A grant's processes: its cgroup `grant-<id>` below the daemon's subtree
//! holds the group of every command run under it (`grant-<id>/cmd-…`), so
//! ending it reaches double-forked descendants too. Also the warning on
//! the holder's terminals before the end.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use crate::cgroup::{self, Group};

use super::record::Record;
use super::{show_time, Grants};

/// Prefix of a grant's group name.
pub const GRANT_PREFIX: &str = "grant-";

/// How long a command's group may take to empty after the grant's did.
const REMOVE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Most terminals one warning is written to.
const MAX_TERMINALS: usize = 64;

/// The directory of grant `id`'s group, if cgroup v2 is usable.
pub fn group_dir(id: &str) -> Option<PathBuf> {
    cgroup::subtree().map(|s| s.dir.join(format!("{GRANT_PREFIX}{id}")))
}

/// The group of grant `id`, made if missing: commands run under the grant
/// make their own groups inside it.
pub fn ensure_group(id: &str) -> std::io::Result<Option<PathBuf>> {
    let Some(dir) = group_dir(id) else {
        return Ok(None);
    };
    match dir
        .parent()
        .map(|parent| Group::create(parent, &format!("{GRANT_PREFIX}{id}")))
    {
        Some(Ok(_)) => Ok(Some(dir)),
        Some(Err(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Some(dir)),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// Ends everything running under grant `id` (SIGTERM, SIGKILL after the
/// grace) and removes its groups; returns how many processes there were.
pub fn end(grants: &Grants, record: &Record) -> u32 {
    let id = &record.id;
    let Some(dir) = group_dir(id).filter(|d| d.exists()) else {
        return 0;
    };
    let group = Group::at(dir);
    let count = group.pids().map_or(0, |p| p.len());
    if let Err(e) = group.terminate(grants.timing(&record.rule_id).grace) {
        eprintln!("jitsudod: ending grant {id}'s processes: {e}");
    }
    remove_tree(&group);
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Removes the (empty) groups below `group`, then `group` (best effort:
/// a command's worker may remove its own group first).
fn remove_tree(group: &Group) {
    if let Ok(entries) = std::fs::read_dir(group.dir()) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let inner = Group::at(entry.path());
                let _ = inner.wait_empty(Some(std::time::Instant::now() + REMOVE_WAIT));
                let _ = inner.remove();
            }
        }
    }
    let _ = group.remove();
}

/// Writes the warning that `record` ends in `left` seconds on every
/// terminal its holder owns (as `write(1)` reaches a user).
pub fn warn(record: &Record, left: i64) {
    let text = format!(
        "\r\njitsudo: your grant {} (rule {}) ends in {left} s, at {}; everything run \
         under it will be stopped. Extend it with: jitsudoctl extend {} --by DURATION\r\n",
        record.id,
        record.rule_id,
        show_time(record.expires_at.unwrap_or(0)),
        record.id
    );
    let Ok(entries) = std::fs::read_dir("/dev/pts") else {
        return;
    };
    let terminals = entries
        .flatten()
        .filter(|e| e.file_name() != "ptmx")
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == record.requester_uid))
        .take(MAX_TERMINALS);
    for terminal in terminals {
        let opened = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(terminal.path());
        if let Ok(mut tty) = opened {
            let _ = tty.write_all(text.as_bytes());
        }
    }
}
