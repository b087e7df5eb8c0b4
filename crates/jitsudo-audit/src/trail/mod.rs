//! The local JSON-lines trail: one record per line, each naming the hash of
//! the one before it, so an edited, deleted, moved or cut record shows.
//!
//! A record is a JSON object whose keys are the event's structured fields
//! (`MESSAGE`, `MESSAGE_ID`, `JITSUDO_*`, ...; a repeated field becomes an
//! array) plus `host`, `boot_id`, `time` (UTC, RFC 3339 with microseconds),
//! `mono_us` (CLOCK_MONOTONIC in µs) and `prev`, the `hash` of the record
//! before it (64 zeros for the first record ever). The line ends with
//! `,"hash":"<sha-256>"}` where the hash covers the line up to that point
//! with `}` in place of the suffix. Every value is escaped
//! ([`crate::escape`]): no control character, bidi override or non-UTF-8
//! byte reaches the file, so no value can forge or hide a line.
//!
//! Writers (the daemon and its workers, several processes) take an
//! exclusive `flock` on the head file `<trail>.head`, which holds the hash
//! of the last record written. The chain continues across rotation: when
//! the trail is empty or missing (logrotate moved it away), the first new
//! record names the hash kept in the head file, the last one of the old
//! file.
//!
//! [`writer`] appends under the lock, [`record`] is the line format (render,
//! hash, parse), [`reader`] reads the trail back and checks its chain and
//! [`checkpoint`] pins its head outside it.

mod checkpoint;
mod reader;
mod record;
mod writer;

use std::path::{Path, PathBuf};

pub use checkpoint::{
    check_checkpoints, Checkpoint, Checkpointer, Head, Mismatch, TRAIL_FILE, TRAIL_HEAD,
    TRAIL_RECORDS, TRAIL_START,
};
pub use reader::{read, verify, Broken, Record, Verified, VerifyError};
pub use writer::Trail;

/// Where the daemon keeps the trail unless told otherwise.
pub const DEFAULT_TRAIL: &str = "/var/log/jitsudo/audit.jsonl";

/// `prev` of the first record ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length of a hash in hex.
const HASH_LEN: usize = 64;

/// What every record line ends with, around the hash.
const SUFFIX_HEAD: &str = ",\"hash\":\"";
const SUFFIX_TAIL: &str = "\"}";

/// Does once what every record of this process needs: reads the boot id,
/// and hashes once, so that SHA-256 has probed which instructions the CPU
/// offers (`cpuid`, a trap to the hypervisor in a virtual machine).
pub(crate) fn prepare() {
    record::boot_id();
    record::record_hash("");
}

/// The head file of the trail at `path`: `<path>.head`.
pub fn head_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// What the trail's tests (here and in checkpoint.rs) share: a trail of
/// their own, and records to fill it with.
#[cfg(test)]
mod testing {
    use std::fs;
    use std::path::PathBuf;

    use super::Trail;
    use crate::event::{Event, EventKind};

    /// A trail in a fresh directory named after `tag` (unique per test).
    pub fn temp_trail(tag: &str) -> (PathBuf, Trail) {
        let dir = std::env::temp_dir().join(format!("jitsudo-trail-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        (dir, Trail::new(&path))
    }

    /// The `n`-th record of a test.
    pub fn event(n: usize) -> Event {
        Event::new(EventKind::ExecAccept)
            .user("alice")
            .argv([format!("cmd{n}")])
    }

    /// Appends `n` records.
    pub fn write(trail: &Trail, n: usize) {
        for i in 0..n {
            trail.append(&event(i)).expect("append");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::io::Write as _;

    use super::testing::{event, temp_trail, write};
    use super::*;
    use crate::event::{Event, EventKind};

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn rewrite(path: &Path, lines: &[String]) {
        fs::write(
            path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .expect("write");
    }

    fn broken_at(files: &[PathBuf]) -> usize {
        match verify(files) {
            Err(VerifyError::Broken(b)) => b.line,
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }

    #[test]
    fn chain_verifies_and_starts_at_genesis() {
        let (dir, trail) = temp_trail("ok");
        write(&trail, 4);
        let v = verify(&[trail.path().to_owned()]).expect("verify");
        assert_eq!(v.records, 4);
        assert_eq!(v.starts_after, GENESIS);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn tampering_is_found_at_the_right_record() {
        let (dir, trail) = temp_trail("tamper");
        write(&trail, 5);
        let path = trail.path().to_owned();
        let good = lines(&path);
        let files = [path.clone()];

        let mut edited = good.clone();
        edited[2] = edited[2].replace("cmd2", "cmdX");
        rewrite(&path, &edited);
        assert_eq!(broken_at(&files), 3, "edit");

        let mut deleted = good.clone();
        deleted.remove(1);
        rewrite(&path, &deleted);
        assert_eq!(broken_at(&files), 2, "delete");

        let mut moved = good.clone();
        moved.swap(1, 3);
        rewrite(&path, &moved);
        assert_eq!(broken_at(&files), 2, "reorder");

        rewrite(&path, &good[..3]);
        assert_eq!(broken_at(&files), 4, "truncate whole records");

        let mut cut = good.join("\n");
        cut.truncate(cut.len() - 10);
        fs::write(&path, cut).expect("write");
        assert_eq!(broken_at(&files), 5, "truncate mid-record");

        rewrite(&path, &good);
        assert!(verify(&files).is_ok());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn chain_continues_across_rotation() {
        let (dir, trail) = temp_trail("rotate");
        write(&trail, 2);
        let old = dir.join("audit.jsonl.1");
        fs::rename(trail.path(), &old).expect("rotate");
        write(&trail, 2);
        let both = [old.clone(), trail.path().to_owned()];
        assert_eq!(verify(&both).expect("verify").records, 4);
        let new_only = verify(&[trail.path().to_owned()]).expect("verify new");
        assert_eq!(
            new_only.starts_after,
            verify(std::slice::from_ref(&old)).expect("old").last_hash
        );
        // Dropping the rotated file's last record breaks the link.
        let mut first = lines(&old);
        first.pop();
        rewrite(&old, &first);
        assert_eq!(broken_at(&both), 1);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_trail_cut_to_nothing_continues_from_the_head_file() {
        let (dir, trail) = temp_trail("truncate");
        write(&trail, 2);
        let old = fs::read(trail.path()).expect("read");
        // logrotate's copytruncate: same file, emptied.
        fs::write(dir.join("audit.jsonl.1"), &old).expect("copy");
        OpenOptions::new()
            .write(true)
            .open(trail.path())
            .expect("open")
            .set_len(0)
            .expect("truncate");
        write(&trail, 1);
        let both = [dir.join("audit.jsonl.1"), trail.path().to_owned()];
        assert_eq!(verify(&both).expect("verify").records, 3);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_replaced_head_file_is_locked_and_written_anew() {
        let (dir, first) = temp_trail("head");
        let second = Trail::new(first.path());
        write(&first, 1);
        // The head file is removed; another writer makes a new one.
        fs::remove_file(head_path(first.path())).expect("remove head");
        write(&second, 1);
        // The first writer must now lock and write the new head file, not
        // the one it opened before.
        write(&first, 1);
        let last = verify(&[first.path().to_owned()]).expect("verify");
        assert_eq!(last.records, 3);
        let head = fs::read_to_string(head_path(first.path())).expect("head");
        assert_eq!(head.trim_end(), last.last_hash);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_trail_replaced_by_a_link_is_refused_and_its_target_untouched() {
        let (dir, trail) = temp_trail("link");
        write(&trail, 1);
        let decoy = dir.join("decoy");
        fs::write(&decoy, b"decoy\n").expect("decoy");
        fs::rename(trail.path(), dir.join("audit.jsonl.1")).expect("move");
        std::os::unix::fs::symlink(&decoy, trail.path()).expect("link");
        assert!(trail.append(&event(1)).is_err(), "wrote through a link");
        assert_eq!(fs::read(&decoy).expect("decoy"), b"decoy\n");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn preparing_a_missing_trail_makes_nothing() {
        let (dir, trail) = temp_trail("prepare-none");
        trail.prepare();
        assert!(!dir.exists(), "prepare made {}", dir.display());
        write(&trail, 1);
        assert_eq!(
            verify(&[trail.path().to_owned()]).expect("verify").records,
            1
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn prepared_files_are_checked_again_at_the_first_record() {
        let (dir, first) = temp_trail("prepare-moved");
        write(&first, 1);
        // A writer prepares, then the trail is rotated before its first
        // record: the record starts the new file, chained to the old one.
        let prepared = Trail::new(first.path());
        prepared.prepare();
        let old = dir.join("audit.jsonl.1");
        fs::rename(first.path(), &old).expect("rotate");
        write(&prepared, 1);
        assert_eq!(lines(&old).len(), 1, "wrote to the rotated file");
        let both = [old.clone(), first.path().to_owned()];
        assert_eq!(verify(&both).expect("verify").records, 2);
        // Prepared again, then the trail is replaced by a link: refused.
        let linked = Trail::new(first.path());
        linked.prepare();
        fs::rename(first.path(), dir.join("audit.jsonl.2")).expect("move");
        let decoy = dir.join("decoy");
        fs::write(&decoy, b"decoy\n").expect("decoy");
        std::os::unix::fs::symlink(&decoy, first.path()).expect("link");
        assert!(linked.append(&event(2)).is_err(), "wrote through a link");
        assert_eq!(fs::read(&decoy).expect("decoy"), b"decoy\n");
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn writers_in_turn_keep_one_chain() {
        let (dir, shared) = temp_trail("writers");
        let shared = std::sync::Arc::new(shared);
        let threads: Vec<_> = (0..4)
            .map(|n| {
                // Two threads share one trail (its files), two have their own.
                let trail = if n % 2 == 0 {
                    shared.clone()
                } else {
                    std::sync::Arc::new(Trail::new(shared.path()))
                };
                std::thread::spawn(move || write(&trail, 25))
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer");
        }
        let v = verify(&[shared.path().to_owned()]).expect("verify");
        assert_eq!(v.records, 100);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn control_characters_never_reach_the_file() {
        let (dir, trail) = temp_trail("escape");
        let ev = Event::new(EventKind::ExecAccept)
            .user("a\nb")
            .cwd(b"/tmp/\x1b[2K\r\xff\xe2\x80\xae")
            .argv([&b"x\n{\"prev\":\"forged\"}"[..]]);
        trail.append(&ev).expect("append");
        let text = fs::read(trail.path()).expect("read");
        assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(!text[..text.len() - 1].iter().any(|b| b.is_ascii_control()));
        let text = String::from_utf8(text).expect("utf-8");
        assert!(!text.contains('\u{202e}'));
        let records = read(&[trail.path().to_owned()], |_| true).expect("read");
        assert_eq!(
            records[0].text("JITSUDO_CWD"),
            Some("/tmp/\\x1b[2K\\x0d\\xff\\u{202e}")
        );
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_partial_line_from_a_crash_is_skipped_by_writers_and_named_by_verify() {
        let (dir, trail) = temp_trail("crash");
        write(&trail, 2);
        let mut f = OpenOptions::new()
            .append(true)
            .open(trail.path())
            .expect("open");
        f.write_all(b"{\"MESSAGE\":\"half").expect("write");
        write(&trail, 1);
        assert_eq!(lines(trail.path()).len(), 4);
        assert_eq!(broken_at(&[trail.path().to_owned()]), 3);
        let _ = fs::remove_dir_all(dir);
    }
}
