//! Appending to the trail: the head file's lock, finding where the chain
//! goes on, and writing a record whole or not at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use super::record::{is_hash, record_hash, render, seal, Meta};
use super::{head_path, GENESIS, HASH_LEN, SUFFIX_TAIL};
use crate::event::Event;
use crate::sink::Sink;

/// Longest a writer waits for the others to finish their records. Only
/// root's processes can take the lock (the head file is 0600 root), and a
/// record holds it for microseconds; but on a loaded machine a holder can
/// be preempted, and under a 200-client load 2 s was once not enough.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The first and the longest pause between two tries for the lock: short
/// at first (the lock is held for microseconds), doubling up to the
/// longest, so a waiter neither spins nor sleeps through many free spells.
const LOCK_PAUSE: (Duration, Duration) = (Duration::from_micros(50), Duration::from_millis(2));

/// How many times a writer takes the lock of a head file that was then
/// found replaced (removed, or renamed over) before it gives up.
const LOCK_ATTEMPTS: usize = 3;

/// The JSON-lines trail at a path (and its head file beside it).
///
/// The head file and the trail stay open between records, in the process
/// that opened them: each record checks, under the lock, that the paths
/// still name the files it holds (the same device and inode, found without
/// following a link) and opens them anew when they do not — logrotate moved
/// the trail away, or someone replaced a file. A process that forked from
/// the one that opened them opens its own: `flock` belongs to the open
/// file, so sharing one would let two writers hold the lock at once.
#[derive(Debug)]
pub struct Trail {
    path: PathBuf,
    head: PathBuf,
    kept: Mutex<Option<Kept>>,
}

impl Clone for Trail {
    /// The same trail; the copy opens its files itself.
    fn clone(&self) -> Self {
        Trail::new(self.path.clone())
    }
}

/// Which file a path named when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> Self {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// The files a [`Trail`] keeps open between records.
#[derive(Debug)]
struct Kept {
    /// The process that opened them.
    pid: u32,
    head: File,
    head_id: FileId,
    log: Option<(File, FileId)>,
}

/// The trail's files while a writer holds the lock.
struct Locked<'a> {
    head: &'a File,
    log: &'a File,
    /// The trail's size when the lock was taken.
    size: u64,
}

impl Trail {
    /// The trail at `path`; its head file is `<path>.head`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let head = head_path(&path);
        Trail {
            path,
            head,
            kept: Mutex::new(None),
        }
    }

    /// Path of the trail.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `ev` as one record and returns its hash. Fails (leaving the
    /// trail as it was) when the head file cannot be locked within ten
    /// seconds or the record cannot be written whole, e.g. on a full disk.
    pub fn append(&self, ev: &Event) -> io::Result<String> {
        self.locked(|files| {
            let (prev, newline) = match last_hash(files.log, files.size)? {
                Tail::Hash(hash) => (hash, false),
                Tail::Empty => (read_head(files.head)?, false),
                Tail::Broken { newline } => (read_head(files.head)?, newline),
            };
            let record = render(ev, &prev, &Meta::now());
            let hash = record_hash(&record);
            let line = seal(&record, &hash, newline);
            let mut log = files.log;
            if let Err(e) = log.write_all(line.as_bytes()) {
                // Leave no partial line behind (a full disk).
                let _ = files.log.set_len(files.size);
                return Err(e);
            }
            files.head.write_all_at(format!("{hash}\n").as_bytes(), 0)?;
            Ok(hash)
        })
    }

    /// The trail as it stands, read under the writers' lock: the file
    /// (opened), its size and the hash of its last record (the head
    /// file's when it holds none).
    pub(super) fn head(&self) -> io::Result<TrailHead> {
        self.locked(|files| {
            let hash = match last_hash(files.log, files.size)? {
                Tail::Hash(hash) => hash,
                Tail::Empty | Tail::Broken { .. } => read_head(files.head)?,
            };
            Ok(TrailHead {
                log: files.log.try_clone()?,
                size: files.size,
                hash,
            })
        })
    }

    /// Runs `work` on the trail's files under the writers' lock, opening
    /// them when this process holds none or the paths name other files now.
    fn locked<T>(&self, work: impl FnOnce(Locked<'_>) -> io::Result<T>) -> io::Result<T> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        let mut held = kept.take().filter(|k| k.pid == pid);
        for _ in 0..LOCK_ATTEMPTS {
            let Kept {
                head, head_id, log, ..
            } = match held.take() {
                Some(k) => k,
                None => self.open_head(pid)?,
            };
            let head = lock(head, LOCK_TIMEOUT)?;
            // Another writer may have replaced the head file since it was
            // opened: its lock would not keep that one out.
            if identity(&self.head)?.map(|(id, _)| id) != Some(head_id) {
                continue;
            }
            let (log, log_id, size) = match self.still_the_trail(log)? {
                Some(held) => held,
                None => {
                    let log = open_log(&self.path, Missing::Make)?;
                    let meta = log.metadata()?;
                    (log, FileId::of(&meta), meta.len())
                }
            };
            let done = work(Locked {
                head: &head,
                log: &log,
                size,
            });
            if let Ok(head) = head.unlock() {
                *kept = Some(Kept {
                    pid,
                    head,
                    head_id,
                    log: Some((log, log_id)),
                });
            }
            return done;
        }
        Err(io::Error::other(
            "the trail's head file was replaced while waiting for its lock, again and again",
        ))
    }

    /// The trail `held` open, with its size, if the path still names it.
    fn still_the_trail(
        &self,
        held: Option<(File, FileId)>,
    ) -> io::Result<Option<(File, FileId, u64)>> {
        let Some((log, id)) = held else {
            return Ok(None);
        };
        Ok(match identity(&self.path)? {
            Some((now, size)) if now == id => Some((log, id, size)),
            _ => None,
        })
    }

    /// The head file, opened (and the directory made if it is missing).
    fn open_head(&self, pid: u32) -> io::Result<Kept> {
        self.make_dir()?;
        let head = open_head(&self.head, Missing::Make)?;
        let head_id = FileId::of(&head.metadata()?);
        Ok(Kept {
            pid,
            head,
            head_id,
            log: None,
        })
    }

    /// Opens the head file and the trail ahead of the first record, if
    /// both exist (nothing is made: a trail left out of `audit_log` stays
    /// unmade). The first record checks under the lock, as every record
    /// does, that the paths still name them.
    pub fn prepare(&self) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if kept.as_ref().is_some_and(|k| k.pid == pid) {
            return;
        }
        let opened = |path: &Path, open: fn(&Path, Missing) -> io::Result<File>| {
            let file = open(path, Missing::Fail).ok()?;
            let id = FileId::of(&file.metadata().ok()?);
            Some((file, id))
        };
        let Some((head, head_id)) = opened(&self.head, open_head) else {
            return;
        };
        *kept = Some(Kept {
            pid,
            head,
            head_id,
            log: opened(&self.path, open_log),
        });
    }

    /// Whether a record could be written now: the directory exists or can
    /// be made, the head file and the trail open for writing, and their
    /// file system has room left.
    pub fn probe(&self) -> io::Result<()> {
        self.make_dir()?;
        open_head(&self.head, Missing::Make)?;
        let log = open_log(&self.path, Missing::Make)?;
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

/// Which file `path` names now (the link itself if it is one) and its
/// size; `None` when it names nothing.
fn identity(path: &Path) -> io::Result<Option<(FileId, u64)>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some((FileId::of(&meta), meta.len()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
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

    fn prepare(&self) {
        Trail::prepare(self);
    }
}

/// The trail as [`Trail::head`] found it.
pub(super) struct TrailHead {
    /// The file, open.
    pub log: File,
    /// Its size then.
    pub size: u64,
    /// The hash of the last record in its first `size` bytes.
    pub hash: String,
}

/// Whether opening a file of the trail makes it when it is missing.
#[derive(Clone, Copy)]
enum Missing {
    Make,
    Fail,
}

/// The head file, for reading and overwriting in place.
fn open_head(path: &Path, missing: Missing) -> io::Result<File> {
    private(missing).write(true).open(path)
}

/// The trail, for reading its end and appending.
fn open_log(path: &Path, missing: Missing) -> io::Result<File> {
    private(missing).append(true).open(path)
}

/// Options shared by both files: made 0600 (if `missing` says so), never
/// through a link.
fn private(missing: Missing) -> OpenOptions {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .create(matches!(missing, Missing::Make))
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW);
    options
}

/// `file`, locked exclusively; waits at most `timeout` for another writer.
fn lock(file: File, timeout: Duration) -> io::Result<Flock<File>> {
    let deadline = Instant::now() + timeout;
    let (mut pause, longest) = LOCK_PAUSE;
    let mut file = file;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(locked),
            Err((back, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = back;
                sleep(pause);
                pause = (pause * 2).min(longest);
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

/// The hash of the trail's last record, read from its end (`size` bytes).
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

/// The hash the head file names, or [`GENESIS`] when it names none.
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
