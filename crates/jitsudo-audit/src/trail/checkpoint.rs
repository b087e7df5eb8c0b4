//! Checkpoints: where the trail stands (its file, the hash that file
//! starts after, how many records it holds and the hash of the last one),
//! sent as an `audit.checkpoint` event to journald and syslog, which are
//! commonly forwarded off the host. Whoever rewrites the trail after a
//! checkpoint left cannot take the checkpoint back: [`check_checkpoints`]
//! names the first one the trail no longer matches.
//!
//! The daemon's first count of a file resumes from the last checkpoint
//! record the file itself holds near its end, when that record proves
//! where it stands ([`resume`]), instead of reading the whole file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead as _, BufReader, Read as _};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::reader::for_each_line;
use super::record::parse;
use super::writer::{Trail, TrailHead};
use super::GENESIS;
use crate::escape::escape_value;
use crate::event::{field, Event, EventKind, FieldName};

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

/// How far back from the end of a trail its first count looks for a
/// checkpoint to resume from. Checkpoints come every
/// `audit_checkpoint_records` records (1000 by default: about 1 MiB of
/// records of a typical kilobyte), at the latest every
/// `audit_checkpoint_interval` while records are written, and whenever the
/// daemon stops, so the last one is normally well within the last MiB;
/// 8 MiB leaves room for records eight times longer. Reading 8 MiB takes
/// milliseconds where a full count of a trail never rotated takes seconds;
/// a trail checkpointed more sparsely is counted whole, as before.
const RESUME_WINDOW: u64 = 8 << 20;

/// The first stretch read back from the end when resuming; doubled up to
/// [`RESUME_WINDOW`] while no checkpoint to resume from is found.
const RESUME_FIRST: u64 = 64 << 10;

/// What a checkpoint record must name to be resumed from: this trail's
/// path (as its records escape it) and the hash its file starts after.
#[derive(Debug)]
struct Expected {
    file: String,
    start: String,
}

impl Expected {
    /// The trail at `path`, its file starting after `start`.
    fn of(path: &Path, start: &str) -> Self {
        let mut file = String::new();
        escape_value(&mut file, path.as_os_str().as_encoded_bytes());
        Expected {
            file,
            start: start.to_owned(),
        }
    }
}

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
            None => {
                let (records, start) = self.count_anew(&log, size)?;
                Counted {
                    dev: meta.dev(),
                    ino: meta.ino(),
                    len: size,
                    records,
                    start: start.unwrap_or_else(|| hash.clone()),
                }
            }
        };
        let before = same.map_or(0, |c| c.records);
        state.written = state
            .written
            .saturating_add(counted.records.saturating_sub(before));
        let head = Head {
            file: self.trail.path().to_owned(),
            start: counted.start.clone(),
            records: counted.records,
            hash,
        };
        state.counted = Some(counted);
        Ok(head)
    }

    /// The records in the first `size` bytes of a file not counted before
    /// and the hash it starts after (`None` when its first line is no
    /// whole record): resumed from a checkpoint near its end when one
    /// proves the count, else counted whole.
    fn count_anew(&self, log: &File, size: u64) -> io::Result<(u64, Option<String>)> {
        let start = first_prev(log)?;
        let resumed = match &start {
            Some(start) => {
                let expected = Expected::of(self.trail.path(), start);
                resume(log, size, &expected, RESUME_WINDOW)?
            }
            None => None,
        };
        let records = match resumed {
            Some(records) => records,
            None => newlines(log, 0, size)?,
        };
        Ok((records, start))
    }
}

/// The records in the first `size` bytes of `log`, resumed from the last
/// checkpoint record within `window` bytes of that end that proves where
/// it stands: one naming `expected`'s file and start whose `prev` is its
/// `JITSUDO_TRAIL_HEAD` and directly follows the record it counted last.
/// Its count then is `JITSUDO_TRAIL_RECORDS`, itself and the lines after
/// it. `None` when no such checkpoint is found (or the file was cut
/// meanwhile): count the whole file.
fn resume(
    log: &impl FileExt,
    size: u64,
    expected: &Expected,
    window: u64,
) -> io::Result<Option<u64>> {
    let mut span = RESUME_FIRST.min(window);
    loop {
        let from = size - span.min(size);
        let mut tail = vec![0; usize::try_from(size - from).map_err(io::Error::other)?];
        match log.read_exact_at(&mut tail, from) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            read => read?,
        }
        if let Some(records) = last_checkpoint(&tail, from, expected) {
            return Ok(Some(records));
        }
        if from == 0 || span >= window {
            return Ok(None);
        }
        span = (span * 2).min(window);
    }
}

/// The count resumed from the last checkpoint in `tail` (the end of a
/// file, from its byte `from`) that proves where it stands. Only whole
/// lines count: a first line that may have begun before `tail` is not
/// read, nor a last line without its newline.
fn last_checkpoint(tail: &[u8], from: u64, expected: &Expected) -> Option<u64> {
    let whole = from == 0;
    let mut ends = memchr::memrchr_iter(b'\n', tail).peekable();
    let mut after = 0u64;
    while let Some(end) = ends.next() {
        let start = match ends.peek() {
            Some(&before) => before + 1,
            None if whole => 0,
            None => return None,
        };
        // Every record before it ends with a newline of its own.
        let room = from + start as u64;
        let claim = claim(&tail[..end], start, expected)
            .filter(|(records, _)| *records <= room)
            .filter(|(records, head)| follows(tail, start, whole, *records, head));
        if let Some((records, _)) = claim {
            return records.checked_add(after + 1);
        }
        after += 1;
    }
    None
}

/// What the checkpoint record on the line starting at `start` of `lines`
/// (which end with that line) claims: the records before it and the hash
/// of the last, when it is an intact `audit.checkpoint` of `expected`'s
/// file and start, written right after its count (its `prev` is its head:
/// no record slipped in between).
fn claim(lines: &[u8], start: usize, expected: &Expected) -> Option<(u64, String)> {
    let line = &lines[start..];
    // Cheap: only a checkpoint record has this key; `parse` decides.
    memchr::memmem::find(line, b"\"JITSUDO_TRAIL_HEAD\":")?;
    let (fields, prev, _) = parse(Path::new(""), 0, line).ok()?;
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    let intact = text(field::EVENT) == Some(EventKind::AuditCheckpoint.name())
        && text(TRAIL_FILE) == Some(expected.file.as_str())
        && text(TRAIL_START) == Some(expected.start.as_str())
        && text(TRAIL_HEAD) == Some(prev.as_str());
    if !intact {
        return None;
    }
    let records = text(TRAIL_RECORDS)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    Some((records, prev))
}

/// Whether the line starting at `start` of `tail` directly follows the
/// `records`-th record, whose hash is `head`: it is the file's first line
/// when `records` is 0, else the whole line before it is that record (not
/// a line a crash cut short, which the count did not hold).
fn follows(tail: &[u8], start: usize, whole: bool, records: u64, head: &str) -> bool {
    if records == 0 || start == 0 {
        return records == 0 && whole && start == 0;
    }
    let before = &tail[..start - 1];
    let from = match memchr::memrchr(b'\n', before) {
        Some(at) => at + 1,
        None if whole => 0,
        None => return false,
    };
    parse(Path::new(""), 0, &before[from..]).is_ok_and(|(_, _, hash)| hash == head)
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
    use std::cell::Cell;
    use std::fs;

    use super::super::testing::{temp_trail, write};
    use super::*;
    use crate::event::Event;

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

    /// Appends the checkpoint of `trail` now, as the daemon does.
    fn checkpoint(cp: &Checkpointer, trail: &Trail) -> Head {
        let head = cp.now().expect("head");
        trail.append(&head.event()).expect("append");
        head
    }

    /// The line ends in the whole file: what a count must come to.
    fn full_count(trail: &Trail) -> u64 {
        let text = fs::read(trail.path()).expect("read");
        memchr::memchr_iter(b'\n', &text).count() as u64
    }

    /// A daemon's first count of `trail`.
    fn first_count(trail: &Trail) -> u64 {
        Checkpointer::new(trail.clone())
            .now()
            .expect("head")
            .records
    }

    /// The count resumed from a checkpoint of `trail` within `window`, if
    /// one proves it, and the bytes read from the trail to find it.
    fn resumed(trail: &Trail, window: u64) -> (Option<u64>, u64) {
        let file = File::open(trail.path()).expect("open");
        let start = first_prev(&file).expect("read").expect("a first record");
        let size = file.metadata().expect("stat").len();
        let counting = Counting {
            file: &file,
            read: Cell::new(0),
        };
        let expected = Expected::of(trail.path(), &start);
        let records = resume(&counting, size, &expected, window).expect("read");
        (records, counting.read.get())
    }

    /// A trail file that counts the bytes read from it.
    struct Counting<'a> {
        file: &'a File,
        read: Cell<u64>,
    }

    impl FileExt for Counting<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let n = self.file.read_at(buf, offset)?;
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }

        fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
            Err(io::Error::other("read only"))
        }
    }

    #[test]
    fn a_first_count_resumes_from_the_last_checkpoint() {
        let (dir, trail) = temp_trail("resume");
        let cp = Checkpointer::new(trail.clone());
        // A checkpoint of the empty file is its first line.
        assert_eq!(checkpoint(&cp, &trail).records, 0);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, Some(1));
        write(&trail, 3);
        checkpoint(&cp, &trail);
        write(&trail, 2);
        assert_eq!(checkpoint(&cp, &trail).records, 7);
        write(&trail, 4);
        assert_eq!(full_count(&trail), 12);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, Some(12));
        assert_eq!(first_count(&trail), 12);
        // A last line a crash cut short is not a record yet, either way.
        let mut log = fs::OpenOptions::new()
            .append(true)
            .open(trail.path())
            .expect("open");
        std::io::Write::write_all(&mut log, b"{\"MESSAGE\":\"half").expect("write");
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, Some(12));
        assert_eq!(first_count(&trail), 12);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn resuming_reads_only_the_end_of_the_trail() {
        let (dir, trail) = temp_trail("tail");
        let cp = Checkpointer::new(trail.clone());
        let long = "x".repeat(128 << 10);
        for _ in 0..24 {
            let ev = Event::new(EventKind::ExecAccept).argv([long.as_str()]);
            trail.append(&ev).expect("append");
        }
        write(&trail, 2);
        checkpoint(&cp, &trail);
        write(&trail, 3);
        let size = fs::metadata(trail.path()).expect("stat").len();
        assert!(size > 3 << 20, "{size}");
        let (records, read) = resumed(&trail, RESUME_WINDOW);
        assert_eq!(records, Some(full_count(&trail)));
        assert!(read <= RESUME_FIRST, "read {read} of {size} bytes");

        // Without a checkpoint within the window, it reads the window (in
        // doubling stretches) and gives up: the whole file is counted.
        write(&trail, 1);
        let window = 1 << 20;
        let ev = Event::new(EventKind::ExecAccept).argv([long.repeat(8).as_str()]);
        trail.append(&ev).expect("append");
        let (records, read) = resumed(&trail, window);
        assert_eq!(records, None);
        assert!(read < 2 * window, "read {read} bytes");
        assert_eq!(first_count(&trail), full_count(&trail));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_checkpoint_or_its_record_beyond_the_window_is_not_resumed_from() {
        let (dir, trail) = temp_trail("window");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 1);
        let long = "x".repeat(96 << 10);
        trail
            .append(&Event::new(EventKind::ExecAccept).argv([long.as_str()]))
            .expect("append");
        checkpoint(&cp, &trail);
        let line = fs::read_to_string(trail.path()).expect("read");
        let last = line.lines().last().expect("a line").len() as u64 + 1;
        // The checkpoint's line is whole in the window, the record it
        // follows is not: nothing proves its count.
        assert_eq!(resumed(&trail, last + 100).0, None);
        // Nor the checkpoint line itself, cut by the window's start.
        assert_eq!(resumed(&trail, last - 1).0, None);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, Some(3));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_checkpoint_a_record_slipped_before_is_not_resumed_from() {
        let (dir, trail) = temp_trail("slipped");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 3);
        let head = cp.now().expect("head");
        // A worker's record between the count and the checkpoint's.
        write(&trail, 1);
        trail.append(&head.event()).expect("append");
        write(&trail, 1);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, None);
        assert_eq!(first_count(&trail), 6);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_checkpoint_of_another_file_or_start_or_an_impossible_count_is_not_resumed_from() {
        // Each makes the count wrong if trusted.
        type Forge = fn(&mut Head);
        let forged: [(&str, Forge); 3] = [
            ("other-file", |h| {
                h.file = PathBuf::from("/tmp/other.jsonl");
                h.records += 10;
            }),
            ("other-start", |h| {
                h.start = h.hash.clone();
                h.records += 10;
            }),
            // More records than the bytes before it could hold.
            ("impossible", |h| h.records = 1 << 40),
        ];
        for (tag, forge) in forged {
            let (dir, trail) = temp_trail(tag);
            write(&trail, 3);
            let mut head = Checkpointer::new(trail.clone()).now().expect("head");
            forge(&mut head);
            trail.append(&head.event()).expect("append");
            write(&trail, 1);
            assert_eq!(resumed(&trail, RESUME_WINDOW).0, None, "{tag}");
            assert_eq!(first_count(&trail), 5, "{tag}");
            let _ = fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_checkpoint_of_the_file_rotated_away_is_not_resumed_from() {
        let (dir, trail) = temp_trail("rotated");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 3);
        let head = cp.now().expect("head");
        // Rotated between the count and the checkpoint's record, which
        // starts the new file.
        fs::rename(trail.path(), dir.join("audit.jsonl.1")).expect("rotate");
        trail.append(&head.event()).expect("append");
        write(&trail, 1);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, None);
        assert_eq!(first_count(&trail), 2);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn an_altered_checkpoint_or_one_after_a_cut_line_is_not_resumed_from() {
        let (dir, trail) = temp_trail("altered");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 2);
        checkpoint(&cp, &trail);
        write(&trail, 1);
        let text = fs::read_to_string(trail.path()).expect("read");
        let altered = text.replace(
            "\"JITSUDO_TRAIL_RECORDS\":\"2\"",
            "\"JITSUDO_TRAIL_RECORDS\":\"9\"",
        );
        assert_ne!(altered, text);
        fs::write(trail.path(), altered).expect("write");
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, None);
        assert_eq!(first_count(&trail), 4);

        // A crash cut the last line; the checkpoint counted the records
        // before it and follows it on a line of its own.
        let (dir2, trail) = temp_trail("cut");
        let cp = Checkpointer::new(trail.clone());
        write(&trail, 2);
        let mut log = fs::OpenOptions::new()
            .append(true)
            .open(trail.path())
            .expect("open");
        std::io::Write::write_all(&mut log, b"{\"MESSAGE\":\"half").expect("write");
        assert_eq!(checkpoint(&cp, &trail).records, 2);
        write(&trail, 1);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, None);
        assert_eq!(first_count(&trail), 5);
        let _ = fs::remove_dir_all(dir);
        let _ = fs::remove_dir_all(dir2);
    }

    #[test]
    fn a_trail_without_checkpoints_is_counted_whole() {
        let (dir, trail) = temp_trail("none");
        write(&trail, 5);
        assert_eq!(resumed(&trail, RESUME_WINDOW).0, None);
        assert_eq!(first_count(&trail), 5);
        let _ = fs::remove_dir_all(dir);
    }
}
