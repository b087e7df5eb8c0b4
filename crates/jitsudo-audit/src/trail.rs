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

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write as _};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::escape::escape_value;
use crate::event::Event;
use crate::sink::Sink;

/// Where the daemon keeps the trail unless told otherwise.
pub const DEFAULT_TRAIL: &str = "/var/log/jitsudo/audit.jsonl";

/// `prev` of the first record ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest a writer waits for another to finish its record.
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// Length of a hash in hex.
const HASH_LEN: usize = 64;

/// What every record line ends with, around the hash.
const SUFFIX_HEAD: &str = ",\"hash\":\"";
const SUFFIX_TAIL: &str = "\"}";

/// The JSON-lines trail at a path (and its head file beside it).
#[derive(Debug, Clone)]
pub struct Trail {
    path: PathBuf,
    head: PathBuf,
}

impl Trail {
    /// The trail at `path`; its head file is `<path>.head`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let head = head_path(&path);
        Trail { path, head }
    }

    /// Path of the trail.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `ev` as one record and returns its hash. Fails (leaving the
    /// trail as it was) when the head file cannot be locked within two
    /// seconds or the record cannot be written whole, e.g. on a full disk.
    pub fn append(&self, ev: &Event) -> io::Result<String> {
        self.make_dir()?;
        let head = lock(open_head(&self.head)?, LOCK_TIMEOUT)?;
        let mut log = open_log(&self.path)?;
        let size = log.metadata()?.len();
        let (prev, newline) = match last_hash(&log, size)? {
            Tail::Hash(hash) => (hash, false),
            Tail::Empty => (read_head(&head)?, false),
            Tail::Broken { newline } => (read_head(&head)?, newline),
        };
        let record = render(ev, &prev, &Meta::now());
        let hash = record_hash(&record);
        let mut line = String::with_capacity(record.len() + 80);
        if newline {
            line.push('\n');
        }
        line.push_str(&record[..record.len() - 1]);
        line.push_str(SUFFIX_HEAD);
        line.push_str(&hash);
        line.push_str(SUFFIX_TAIL);
        line.push('\n');
        if let Err(e) = log.write_all(line.as_bytes()) {
            // Leave no partial line behind (a full disk).
            let _ = log.set_len(size);
            return Err(e);
        }
        head.write_all_at(format!("{hash}\n").as_bytes(), 0)?;
        Ok(hash)
    }

    /// Whether a record could be written now: the directory exists or can
    /// be made, the head file and the trail open for writing, and their
    /// file system has room left.
    pub fn probe(&self) -> io::Result<()> {
        self.make_dir()?;
        open_head(&self.head)?;
        let log = open_log(&self.path)?;
        let room = nix::sys::statvfs::fstatvfs(&log).map_err(io::Error::from)?;
        if room.blocks_available() == 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }

    /// Makes the trail's directory (root's only) if it is missing.
    fn make_dir(&self) -> io::Result<()> {
        match self.path.parent() {
            Some(dir) => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir),
            None => Ok(()),
        }
    }
}

impl Sink for Trail {
    fn emit(&self, ev: &Event) -> io::Result<()> {
        self.append(ev)
            .map(drop)
            .map_err(|e| io::Error::new(e.kind(), format!("trail {}: {e}", self.path.display())))
    }

    fn name(&self) -> &str {
        "file"
    }

    fn probe(&self) -> io::Result<()> {
        Trail::probe(self)
            .map_err(|e| io::Error::new(e.kind(), format!("trail {}: {e}", self.path.display())))
    }
}

/// The head file of the trail at `path`: `<path>.head`.
pub fn head_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// The head file, for reading and overwriting in place.
fn open_head(path: &Path) -> io::Result<File> {
    private().write(true).open(path)
}

/// The trail, for reading its end and appending.
fn open_log(path: &Path) -> io::Result<File> {
    private().append(true).open(path)
}

/// Options shared by both files: created 0600, never through a link.
fn private() -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW);
    options
}

fn lock(file: File, timeout: Duration) -> io::Result<Flock<File>> {
    let deadline = Instant::now() + timeout;
    let mut file = file;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(locked),
            Err((back, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = back;
                sleep(Duration::from_millis(2));
            }
            Err((_, errno)) => {
                return Err(io::Error::new(
                    io::Error::from(errno).kind(),
                    format!("could not lock the trail's head file: {errno}"),
                ))
            }
        }
    }
}

/// What the end of the trail holds.
enum Tail {
    Empty,
    Hash(String),
    /// Not a whole record (a crash mid-write): the chain goes on from the
    /// head file, on a new line if the last one is unfinished.
    Broken {
        newline: bool,
    },
}

fn last_hash(log: &File, size: u64) -> io::Result<Tail> {
    if size == 0 {
        return Ok(Tail::Empty);
    }
    let want = (HASH_LEN + SUFFIX_TAIL.len() + 1) as u64;
    let take = want.min(size);
    let mut buf = vec![0; usize::try_from(take).unwrap_or(0)];
    log.read_exact_at(&mut buf, size - take)?;
    let text = std::str::from_utf8(&buf).unwrap_or("");
    Ok(match text.strip_suffix("\"}\n").filter(|h| is_hash(h)) {
        Some(hash) => Tail::Hash(hash.to_owned()),
        None => Tail::Broken {
            newline: buf.last() != Some(&b'\n'),
        },
    })
}

fn read_head(head: &File) -> io::Result<String> {
    let mut buf = [0; HASH_LEN];
    let n = head.read_at(&mut buf, 0)?;
    let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
    Ok(if n == HASH_LEN && is_hash(text) {
        text.to_owned()
    } else {
        GENESIS.to_owned()
    })
}

fn is_hash(text: &str) -> bool {
    text.len() == HASH_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
fn record_hash(record: &str) -> String {
    Sha256::digest(record.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where and when a record is written.
struct Meta {
    host: String,
    boot_id: &'static str,
    time: String,
    mono_us: u64,
}

impl Meta {
    fn now() -> Self {
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mono_us =
            nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
                u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000
                    + u64::try_from(t.tv_nsec() / 1000).unwrap_or(0)
            });
        Meta {
            host,
            boot_id: boot_id(),
            time: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            mono_us,
        }
    }
}

fn boot_id() -> &'static str {
    static BOOT_ID: OnceLock<String> = OnceLock::new();
    BOOT_ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().replace('-', ""))
            .unwrap_or_default()
    })
}

/// The record of `ev` without its hash: a JSON object on one line.
fn render(ev: &Event, prev: &str, meta: &Meta) -> String {
    let mut map = Map::new();
    for (name, value) in ev.fields() {
        let mut text = String::with_capacity(value.len());
        escape_value(&mut text, &value);
        match map.get_mut(name) {
            Some(Value::Array(values)) => values.push(Value::String(text)),
            Some(first) => {
                let first = first.take();
                map.insert(
                    name.to_owned(),
                    Value::Array(vec![first, Value::String(text)]),
                );
            }
            None => {
                map.insert(name.to_owned(), Value::String(text));
            }
        }
    }
    let text = |s: &str| {
        let mut out = String::with_capacity(s.len());
        escape_value(&mut out, s.as_bytes());
        Value::String(out)
    };
    map.insert("host".to_owned(), text(&meta.host));
    map.insert("boot_id".to_owned(), text(meta.boot_id));
    map.insert("time".to_owned(), text(&meta.time));
    map.insert("mono_us".to_owned(), Value::from(meta.mono_us));
    map.insert("prev".to_owned(), Value::String(prev.to_owned()));
    Value::Object(map).to_string()
}

/// One record read back: its fields and where it is.
#[derive(Debug, Clone)]
pub struct Record {
    /// The file it was read from.
    pub file: PathBuf,
    /// Its 1-based line number there.
    pub line: usize,
    /// Its JSON object (with `prev` and `hash`).
    pub fields: Map<String, Value>,
}

impl Record {
    /// The text of field `name` (the first one if repeated), as escaped
    /// in the trail.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s),
            Value::Array(values) => values.first().and_then(Value::as_str),
            _ => None,
        }
    }
}

/// Why a trail does not verify: the first record that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The file.
    pub file: PathBuf,
    /// 1-based line of the first bad record (one past the last line when
    /// records are missing at the end).
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.what)
    }
}

/// A verified stretch of trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Records checked.
    pub records: usize,
    /// `prev` of the first record: [`GENESIS`], or the last hash of the
    /// file before the first one given.
    pub starts_after: String,
    /// Hash of the last record.
    pub last_hash: String,
}

/// Error of [`verify`]: the chain is broken, or a file could not be read.
#[derive(Debug)]
pub enum VerifyError {
    /// The first broken record.
    Broken(Broken),
    /// A file could not be read.
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Broken(b) => b.fmt(f),
            VerifyError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Checks that `files` (oldest first, e.g. `audit.jsonl.2 audit.jsonl.1
/// audit.jsonl`) form one unbroken chain: every record's hash matches its
/// content, every `prev` names the record before it (across files too), no
/// line is cut, and when the last file has a head file beside it, its last
/// record is the last one written.
pub fn verify(files: &[PathBuf]) -> Result<Verified, VerifyError> {
    let mut chain = Chain::default();
    for file in files {
        for_each_line(file, |line_no, line| {
            chain
                .check(file, line_no, line)
                .map_err(VerifyError::Broken)
        })?;
    }
    if let Some(last) = files.last() {
        chain.check_head(last)?;
    }
    Ok(Verified {
        records: chain.records,
        starts_after: chain.first_prev.unwrap_or_else(|| GENESIS.to_owned()),
        last_hash: chain.last.map_or_else(|| GENESIS.to_owned(), |(_, _, h)| h),
    })
}

/// Reads the records of `files` in order, checking only that each line is
/// a whole record; `keep` says which to return.
pub fn read(
    files: &[PathBuf],
    mut keep: impl FnMut(&Record) -> bool,
) -> Result<Vec<Record>, VerifyError> {
    let mut out = Vec::new();
    for file in files {
        for_each_line(file, |line_no, line| {
            let (fields, _, _) = parse(file, line_no, line).map_err(VerifyError::Broken)?;
            let record = Record {
                file: file.clone(),
                line: line_no,
                fields,
            };
            if keep(&record) {
                out.push(record);
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn for_each_line(
    file: &Path,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), VerifyError>,
) -> Result<(), VerifyError> {
    let io_err = |e| VerifyError::Io(file.to_owned(), e);
    let mut reader = BufReader::new(File::open(file).map_err(io_err)?);
    let mut line = Vec::new();
    let mut line_no = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_err)? == 0 {
            return Ok(());
        }
        line_no += 1;
        if line.pop() != Some(b'\n') {
            return Err(VerifyError::Broken(Broken {
                file: file.to_owned(),
                line: line_no,
                what: "the record is cut short (the file was truncated)".to_owned(),
            }));
        }
        each(line_no, &line)?;
    }
}

/// Splits a record line into its fields, its `prev` and its hash, checking
/// that the hash matches the content.
fn parse(
    file: &Path,
    line_no: usize,
    line: &[u8],
) -> Result<(Map<String, Value>, String, String), Broken> {
    let broken = |what: &str| Broken {
        file: file.to_owned(),
        line: line_no,
        what: what.to_owned(),
    };
    let text = std::str::from_utf8(line).map_err(|_| broken("not a record (not UTF-8)"))?;
    let cut = text
        .len()
        .checked_sub(SUFFIX_HEAD.len() + HASH_LEN + SUFFIX_TAIL.len())
        .filter(|&at| text.is_char_boundary(at))
        .ok_or_else(|| broken("not a record (no hash)"))?;
    let (body, suffix) = text.split_at(cut);
    let hash = suffix
        .strip_prefix(SUFFIX_HEAD)
        .and_then(|s| s.strip_suffix(SUFFIX_TAIL))
        .filter(|h| is_hash(h))
        .ok_or_else(|| broken("not a record (no hash)"))?;
    let content = format!("{body}}}");
    if record_hash(&content) != hash {
        return Err(broken(
            "the record was altered: its hash does not match its content",
        ));
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) else {
        return Err(broken("not a record (not a JSON object)"));
    };
    let prev = fields
        .get("prev")
        .and_then(Value::as_str)
        .filter(|p| is_hash(p))
        .ok_or_else(|| broken("not a record (no prev)"))?
        .to_owned();
    Ok((fields, prev, hash.to_owned()))
}

/// The state of a verification in progress.
#[derive(Default)]
struct Chain {
    records: usize,
    first_prev: Option<String>,
    /// File, line and hash of the last record seen.
    last: Option<(PathBuf, usize, String)>,
}

impl Chain {
    fn check(&mut self, file: &Path, line_no: usize, line: &[u8]) -> Result<(), Broken> {
        let (_, prev, hash) = parse(file, line_no, line)?;
        match &self.last {
            None => self.first_prev = Some(prev),
            Some((last_file, last_line, last_hash)) if *last_hash != prev => {
                return Err(Broken {
                    file: file.to_owned(),
                    line: line_no,
                    what: format!(
                        "the record does not follow {}:{last_line}: records were deleted, \
                         inserted or moved before it",
                        last_file.display()
                    ),
                });
            }
            Some(_) => {}
        }
        self.records += 1;
        self.last = Some((file.to_owned(), line_no, hash));
        Ok(())
    }

    /// The head file names the last record written; a trail ending before
    /// it lost records at its end.
    fn check_head(&self, last_file: &Path) -> Result<(), VerifyError> {
        let head = head_path(last_file);
        let written = match fs::read_to_string(&head) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(VerifyError::Io(head, e)),
        };
        let (line, have) = match &self.last {
            Some((_, line, hash)) => (line + 1, hash.as_str()),
            // An empty trail right after rotation is fine: the head names
            // the last record of the previous file.
            None => return Ok(()),
        };
        if written == have {
            return Ok(());
        }
        Err(VerifyError::Broken(Broken {
            file: last_file.to_owned(),
            line,
            what: format!(
                "records are missing at the end: the last one written has hash {written} \
                 (from {})",
                head.display()
            ),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn temp_trail(tag: &str) -> (PathBuf, Trail) {
        let dir = std::env::temp_dir().join(format!("jitsudo-trail-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        (dir, Trail::new(&path))
    }

    fn event(n: usize) -> Event {
        Event::new(EventKind::ExecAccept)
            .user("alice")
            .argv([format!("cmd{n}")])
    }

    fn write(trail: &Trail, n: usize) {
        for i in 0..n {
            trail.append(&event(i)).expect("append");
        }
    }

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
