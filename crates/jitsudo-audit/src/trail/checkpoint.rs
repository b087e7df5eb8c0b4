//! Checkpoints: where the trail stands (its file, the hash that file
//! starts after, how many records it holds and the hash of the last one),
//! sent as an `audit.checkpoint` event to journald and syslog, which are
//! commonly forwarded off the host. Whoever rewrites the trail after a
//! checkpoint left cannot take the checkpoint back: [`check_checkpoints`]
//! names the first one the trail no longer matches.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead as _, BufReader, Read as _};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::reader::for_each_line;
use super::record::parse;
use super::writer::{Trail, TrailHead};
use super::GENESIS;
use crate::event::{Event, EventKind, FieldName};

/// The trail's file, as the daemon was told.
pub const TRAIL_FILE: &str = "JITSUDO_TRAIL_FILE";
/// The hash the file starts after (the last record of the file before it,
/// or [`GENESIS`]).
pub const TRAIL_START: &str = "JITSUDO_TRAIL_START";
/// How many records the file held.
pub const TRAIL_RECORDS: &str = "JITSUDO_TRAIL_RECORDS";
/// The hash of its last record (its start when it held none).
pub const TRAIL_HEAD: &str = "JITSUDO_TRAIL_HEAD";

/// The longest first line read to learn where a file starts.
const MAX_FIRST_LINE: u64 = 64 << 20;

/// Where a trail file stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The trail's path.
    pub file: PathBuf,
    /// The hash its first record follows.
    pub start: String,
    /// Records it holds.
    pub records: u64,
    /// The hash of the last one ([`Head::start`] when it holds none).
    pub hash: String,
}

impl Head {
    /// The `audit.checkpoint` event naming this head.
    pub fn event(&self) -> Event {
        let fields = [
            (
                TRAIL_FILE,
                self.file.as_os_str().as_encoded_bytes().to_vec(),
            ),
            (TRAIL_START, self.start.clone().into_bytes()),
            (TRAIL_RECORDS, self.records.to_string().into_bytes()),
            (TRAIL_HEAD, self.hash.clone().into_bytes()),
        ];
        fields.into_iter().fold(
            Event::new(EventKind::AuditCheckpoint),
            |ev, (name, value)| match FieldName::new(name) {
                Ok(name) => ev.field(name, value),
                Err(_) => ev,
            },
        )
    }
}

/// What the checkpointer knows of the file it last counted.
#[derive(Debug, Clone)]
struct Counted {
    dev: u64,
    ino: u64,
    len: u64,
    records: u64,
    start: String,
}

/// The daemon's checkpoints of one trail: counts its records as it grows
/// (reading only what was appended since it last looked) and says when a
/// checkpoint is due.
#[derive(Debug)]
pub struct Checkpointer {
    trail: Trail,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    counted: Option<Counted>,
    /// Records seen written, over every file, since the checkpointer began.
    written: u64,
    /// `written` and the time at the last checkpoint.
    last: (u64, Instant),
}

impl Checkpointer {
    /// Checkpoints of `trail`, the first one due once a record is written.
    pub fn new(trail: Trail) -> Self {
        Checkpointer {
            trail,
            state: Mutex::new(State {
                counted: None,
                written: 0,
                last: (0, Instant::now()),
            }),
        }
    }

    /// The checkpoint due now: `every` records were written since the
    /// last one (its own record not counted), or some were and `interval`
    /// has passed. `None` when none is due.
    pub fn due(&self, every: u32, interval: Duration) -> io::Result<Option<Head>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let head = self.count(&mut state)?;
        let (at_last, when) = state.last;
        // The last checkpoint's own record is not news.
        let new = state
            .written
            .saturating_sub(at_last + u64::from(at_last > 0));
        let due = new >= u64::from(every) || (new > 0 && when.elapsed() >= interval);
        if !due {
            return Ok(None);
        }
        state.last = (state.written, Instant::now());
        Ok(Some(head))
    }

    /// The checkpoint now, due or not (when the daemon stops).
    pub fn now(&self) -> io::Result<Head> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let head = self.count(&mut state)?;
        state.last = (state.written, Instant::now());
        Ok(head)
    }

    /// The trail's head, its newly appended records counted.
    fn count(&self, state: &mut State) -> io::Result<Head> {
        let TrailHead { log, size, hash } = self.trail.head()?;
        let meta = log.metadata()?;
        let same = state
            .counted
            .as_ref()
            .filter(|c| c.dev == meta.dev() && c.ino == meta.ino() && c.len <= size);
        let counted = match same {
            Some(c) => Counted {
                len: size,
                records: c.records + newlines(&log, c.len, size)?,
                ..c.clone()
            },
            None => Counted {
                dev: meta.dev(),
                ino: meta.ino(),
                len: size,
                records: newlines(&log, 0, size)?,
                start: first_prev(&log)?.unwrap_or_else(|| hash.clone()),
            },
        };
        let before = same.map_or(0, |c| c.records);
        state.written += counted.records - before;
        let head = Head {
            file: self.trail.path().to_owned(),
            start: counted.start.clone(),
            records: counted.records,
            hash,
        };
        state.counted = Some(counted);
        Ok(head)
    }
}

/// Line ends in `log` from byte `from` to `to`.
fn newlines(log: &File, from: u64, to: u64) -> io::Result<u64> {
    let mut buf = vec![0; 64 << 10];
    let (mut at, mut count) = (from, 0);
    while at < to {
        let want = usize::try_from(to - at).map_or(buf.len(), |n| n.min(buf.len()));
        let n = log.read_at(&mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        count += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        at += n as u64;
    }
    Ok(count)
}

/// The `prev` of the file's first record, if it has a whole one.
fn first_prev(log: &File) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    BufReader::new(log.try_clone()?)
        .take(MAX_FIRST_LINE)
        .read_until(b'\n', &mut line)?;
    if line.pop() != Some(b'\n') {
        return Ok(None);
    }
    Ok(parse(Path::new(""), 1, &line).ok().map(|(_, prev, _)| prev))
}

/// A checkpoint as read back (e.g. from the journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Where it was read and when it was written, for messages.
    pub label: String,
    /// The hash the file starts after.
    pub start: String,
    /// Records the file held.
    pub records: u64,
    /// The hash of the last of them.
    pub head: String,
}

/// The first checkpoint the trail does not match, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// What the trail holds instead.
    pub what: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.checkpoint;
        write!(
            f,
            "checkpoint {} ({} records after {}, head {}) does not match: {}",
            c.label, c.records, c.start, c.head, self.what
        )
    }
}

/// Checks `files` (oldest first, a chain [`super::verify`] accepted)
/// against `checkpoints` (oldest first): the file starting after each
/// checkpoint's start must hold at least its records, the last of them
/// with its head hash. The first checkpoint that does not hold is
/// returned; a checkpoint of a file not given is one (give the rotated
/// files too, or only checkpoints made since).
pub fn check_checkpoints(
    files: &[PathBuf],
    checkpoints: &[Checkpoint],
) -> Result<Result<(), Mismatch>, super::VerifyError> {
    let mut by_start: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in checkpoints.iter().enumerate() {
        by_start.entry(c.start.as_str()).or_default().push(i);
    }
    // The first mismatch of each checkpoint, by index.
    let mut wrong: HashMap<usize, String> = HashMap::new();
    let mut seen_start = vec![false; checkpoints.len()];
    let mut previous_last = None;
    for file in files {
        let mut start = None;
        let mut lines = 0u64;
        let mut last = None;
        for_each_line(file, |line_no, line| {
            let (_, prev, hash) = parse(file, line_no, line).map_err(super::VerifyError::Broken)?;
            let start = start.get_or_insert(prev);
            lines = line_no as u64;
            for &i in by_start.get(start.as_str()).into_iter().flatten() {
                let c = &checkpoints[i];
                if c.records == lines && c.head != hash {
                    wrong
                        .entry(i)
                        .or_insert_with(|| format!("{}:{line_no} has hash {hash}", file.display()));
                }
            }
            last = Some(hash);
            Ok(())
        })?;
        let start = start
            .or_else(|| previous_last.clone())
            .unwrap_or_else(|| empty_start(file));
        for &i in by_start.get(start.as_str()).into_iter().flatten() {
            seen_start[i] = true;
            let c = &checkpoints[i];
            if c.records == 0 && c.head != start {
                wrong
                    .entry(i)
                    .or_insert_with(|| format!("{} starts after {start}", file.display()));
            } else if c.records > lines {
                wrong
                    .entry(i)
                    .or_insert_with(|| format!("{} holds only {lines} record(s)", file.display()));
            }
        }
        previous_last = last.or(Some(start));
    }
    for (i, seen) in seen_start.iter().enumerate() {
        if !seen {
            wrong.entry(i).or_insert_with(|| {
                "no file given starts after that hash: the trail was rewritten from its \
                 first record, or the checkpoint is of a rotated file not given (give the \
                 rotated files oldest first, or --since after the rotation)"
                    .to_owned()
            });
        }
    }
    Ok(match wrong.into_iter().min_by_key(|(i, _)| *i) {
        Some((i, what)) => Err(Mismatch {
            checkpoint: checkpoints[i].clone(),
            what,
        }),
        None => Ok(()),
    })
}

/// Where an empty first file starts: the hash its head file keeps (the
/// last record of the file rotated away), else the beginning.
fn empty_start(file: &Path) -> String {
    std::fs::read_to_string(super::head_path(file))
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| super::record::is_hash(h))
        .unwrap_or_else(|| GENESIS.to_owned())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::event::Event;

    fn temp_trail(tag: &str) -> (PathBuf, Trail) {
        let dir =
            std::env::temp_dir().join(format!("jitsudo-checkpoint-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        (dir.clone(), Trail::new(dir.join("audit.jsonl")))
    }

    fn write(trail: &Trail, n: usize) {
        for i in 0..n {
            let ev = Event::new(EventKind::ExecAccept).argv([format!("cmd{i}")]);
            trail.append(&ev).expect("append");
        }
    }

    fn as_read(head: &Head, label: &str) -> Checkpoint {
        Checkpoint {
            label: label.to_owned(),
            start: head.start.clone(),
            records: head.records,
            head: head.hash.clone(),
        }
    }

    #[test]
    fn checkpoints_count_records_and_come_when_due() {
        let (dir, trail) = temp_trail("due");
        let cp = Checkpointer::new(trail.clone());
        let hour = Duration::from_secs(3600);
        assert_eq!(cp.due(3, hour).expect("due"), None);
        write(&trail, 2);
        assert_eq!(cp.due(3, hour).expect("due"), None);
        write(&trail, 1);
        let head = cp.due(3, hour).expect("due").expect("a checkpoint");
        assert_eq!((head.records, head.start.as_str()), (3, GENESIS));
        trail.append(&head.event()).expect("append");
        // Its own record does not call for another; the interval does once
        // a record is written.
        assert_eq!(cp.due(3, hour).expect("due"), None);
        assert_eq!(cp.due(3, Duration::ZERO).expect("due"), None);
        write(&trail, 1);
        let head = cp
            .due(3, Duration::ZERO)
            .expect("due")
            .expect("a checkpoint");
        assert_eq!(head.records, 5);
        let files = [trail.path().to_owned()];
        assert_eq!(head.hash, crate::verify(&files).expect("verify").last_hash);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_rewritten_trail_misses_its_checkpoints() {
        let (dir, trail) = temp_trail("rewrite");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 2);
        let first = as_read(&cp.now().expect("head"), "first");
        write(&trail, 2);
        let second = as_read(&cp.now().expect("head"), "second");
        let files = [trail.path().to_owned()];
        let both = [first.clone(), second.clone()];
        assert_eq!(check_checkpoints(&files, &both).expect("read"), Ok(()));

        // Rewritten from the third record on, with a valid chain.
        let old = fs::read_to_string(trail.path()).expect("read");
        let kept: String = old.lines().take(2).map(|l| format!("{l}\n")).collect();
        fs::write(trail.path(), kept).expect("cut");
        write(&trail, 2);
        assert_eq!(crate::verify(&files).expect("verify").records, 4);
        let mismatch = check_checkpoints(&files, &both)
            .expect("read")
            .expect_err("a mismatch");
        assert_eq!(mismatch.checkpoint, second);
        assert!(
            mismatch.what.contains("audit.jsonl:4 has hash"),
            "{mismatch}"
        );

        // Cut short: the first checkpoint no longer holds either.
        let text = fs::read_to_string(trail.path()).expect("read");
        fs::write(
            trail.path(),
            text.lines().next().expect("line").to_owned() + "\n",
        )
        .expect("cut");
        let mismatch = check_checkpoints(&files, &both)
            .expect("read")
            .expect_err("a mismatch");
        assert_eq!(mismatch.checkpoint, first);
        assert!(
            mismatch.what.contains("holds only 1 record(s)"),
            "{mismatch}"
        );
        let _ = fs::remove_dir_all(dir);
    }
}
