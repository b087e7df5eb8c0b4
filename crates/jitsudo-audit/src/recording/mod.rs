//! Session recordings (`record = true`): what a command showed on its
//! terminal or wrote to its pipes (and, with `record_input`, what the
//! caller typed or piped in), or what a `-e` edit changed, with timing,
//! one file per session. The format is described in docs/audit.md: a JSON
//! header line, then one JSON array per chunk, `[SECONDS, KIND, DATA]`,
//! bytes in base64 so that any byte is kept exactly.

mod edit;
mod store;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::fcntl::Flock;
use serde_json::{json, Value};

pub use edit::FileEdit;
pub use store::{sweep, Removed, Retention};

/// Where recordings are kept unless the daemon is told otherwise.
pub const DEFAULT_SESSION_DIR: &str = "/var/log/jitsudo/sessions";

/// The recording format's version, in each header.
pub const FORMAT_VERSION: u64 = 1;

/// Length of a session id (hexadecimal digits).
const ID_LEN: usize = 16;

/// A new, random session id.
pub fn new_id() -> io::Result<String> {
    let mut bytes = [0u8; ID_LEN / 2];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `id` can name a recording (and nothing else: no path).
pub fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The file of recording `id` in `dir`.
pub fn path_of(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.jsonl"))
}

/// What one line of a recording holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// Bytes the command wrote to its terminal, or to its standard output
    /// when that is no terminal.
    Output(Vec<u8>),
    /// Bytes the command wrote to its standard error when that is no
    /// terminal (on a terminal they are part of [`Chunk::Output`]).
    Error(Vec<u8>),
    /// Bytes the caller typed, or piped to the command (`record_input`).
    Input(Vec<u8>),
    /// The terminal's new size: columns, rows.
    Resize(u16, u16),
    /// What a `-e` edit did to one file.
    Edit(Box<FileEdit>),
    /// The size cap was reached: nothing more was recorded.
    Truncated,
}

impl Chunk {
    fn kind(&self) -> &'static str {
        match self {
            Chunk::Output(_) => "o",
            Chunk::Error(_) => "e",
            Chunk::Input(_) => "i",
            Chunk::Resize(..) => "r",
            Chunk::Edit(_) => "edit",
            Chunk::Truncated => "truncated",
        }
    }

    fn data(&self) -> Value {
        match self {
            Chunk::Output(bytes) | Chunk::Error(bytes) | Chunk::Input(bytes) => {
                json!(base64_encode(bytes))
            }
            Chunk::Resize(cols, rows) => json!(format!("{cols}x{rows}")),
            Chunk::Edit(edit) => edit.to_json(),
            Chunk::Truncated => json!(""),
        }
    }

    /// How many bytes of the session the chunk carries.
    fn payload(&self) -> u64 {
        match self {
            Chunk::Output(bytes) | Chunk::Error(bytes) | Chunk::Input(bytes) => bytes.len() as u64,
            Chunk::Edit(edit) => edit.content_len(),
            Chunk::Resize(..) | Chunk::Truncated => 0,
        }
    }

    /// One line of a recording: `(seconds since the start, chunk)`.
    pub fn parse(line: &str) -> Option<(f64, Chunk)> {
        let Value::Array(items) = serde_json::from_str(line).ok()? else {
            return None;
        };
        let [at, kind, data] = &items[..] else {
            return None;
        };
        let at = at.as_f64()?;
        if kind.as_str()? == "edit" {
            return Some((at, Chunk::Edit(Box::new(FileEdit::from_json(data)?))));
        }
        let data = data.as_str()?;
        let chunk = match kind.as_str()? {
            "o" => Chunk::Output(base64_decode(data)?),
            "e" => Chunk::Error(base64_decode(data)?),
            "i" => Chunk::Input(base64_decode(data)?),
            "r" => {
                let (cols, rows) = data.split_once('x')?;
                Chunk::Resize(cols.parse().ok()?, rows.parse().ok()?)
            }
            "truncated" => Chunk::Truncated,
            _ => return None,
        };
        Some((at, chunk))
    }
}

/// A recording being written. Past its size cap it writes one `truncated`
/// line and nothing more; a write error ends it too (the command runs on).
/// The file stays locked (`flock`) while it is written, so that the
/// retention sweep ([`sweep`]) never deletes it.
pub struct Recorder {
    file: Option<Flock<File>>,
    started: Instant,
    written: u64,
    max_bytes: u64,
}

/// A recording reached its cap (reported once, by the write that did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// The cap, in bytes of the recording's file.
    pub max_bytes: u64,
    /// The session's bytes left out by that write.
    pub dropped: u64,
}

impl Recorder {
    /// Creates the recording of session `id` in `dir` (made 0700 if
    /// missing; see [`store`] for what `dir` may be), a new 0600 file
    /// starting with `header`, which gets the format's version and the id.
    pub fn create(dir: &Path, id: &str, mut header: Value, max_bytes: u64) -> io::Result<Recorder> {
        let mut file = store::create(dir, id)?;
        if let Some(fields) = header.as_object_mut() {
            fields.insert("version".into(), json!(FORMAT_VERSION));
            fields.insert("id".into(), json!(id));
            fields.insert("max_bytes".into(), json!(max_bytes));
        }
        let mut line = header.to_string();
        line.push('\n');
        file.write_all(line.as_bytes())?;
        Ok(Recorder {
            file: Some(file),
            started: Instant::now(),
            written: line.len() as u64,
            max_bytes,
        })
    }

    /// Appends `chunk`, timed now. Past the cap, as much of it as fits is
    /// written, then the `truncated` line; that write reports the
    /// [`Truncation`].
    pub fn write(&mut self, chunk: &Chunk) -> Option<Truncation> {
        self.file.as_ref()?;
        let at = self.started.elapsed().as_secs_f64();
        let whole = line(at, chunk);
        if self.written + (whole.len() + end_len(at)) as u64 <= self.max_bytes {
            self.append(&whole);
            return None;
        }
        let part = self.part_that_fits(at, chunk);
        if let Some(part) = &part {
            self.append(&line(at, part));
        }
        self.append(&line(at, &Chunk::Truncated));
        self.file = None;
        let kept = part.as_ref().map_or(0, Chunk::payload);
        Some(Truncation {
            max_bytes: self.max_bytes,
            dropped: chunk.payload().saturating_sub(kept),
        })
    }

    /// The start of an output or input `chunk` (or an edit without its
    /// contents) that fits below the cap with the `truncated` line after it.
    fn part_that_fits(&self, at: f64, chunk: &Chunk) -> Option<Chunk> {
        if let Chunk::Edit(edit) = chunk {
            let hashes = Chunk::Edit(Box::new(edit.without_content()));
            let room = self
                .max_bytes
                .checked_sub(self.written + end_len(at) as u64)?;
            return (line(at, &hashes).len() as u64 <= room).then_some(hashes);
        }
        let overhead = line(at, &Chunk::Output(Vec::new())).len() + end_len(at);
        let room = self.max_bytes.checked_sub(self.written + overhead as u64)?;
        let fits = usize::try_from(room / 4 * 3).ok()?;
        let start = |bytes: &Vec<u8>| bytes[..fits.min(bytes.len())].to_vec();
        match chunk {
            _ if fits == 0 => None,
            Chunk::Output(bytes) => Some(Chunk::Output(start(bytes))),
            Chunk::Error(bytes) => Some(Chunk::Error(start(bytes))),
            Chunk::Input(bytes) => Some(Chunk::Input(start(bytes))),
            _ => None,
        }
    }

    fn append(&mut self, line: &str) {
        let Some(file) = &mut self.file else { return };
        match file.write_all(line.as_bytes()) {
            Ok(()) => self.written += line.len() as u64,
            Err(_) => self.file = None,
        }
    }
}

/// Room kept below the cap for the `truncated` line: its length now, and
/// digits the clock may gain before it is written.
fn end_len(at: f64) -> usize {
    line(at, &Chunk::Truncated).len() + 4
}

/// One line of a recording.
fn line(at: f64, chunk: &Chunk) -> String {
    format!("[{at:.6},{},{}]\n", json!(chunk.kind()), chunk.data())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(char::from(BASE64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of standard, padded base64 `text`; `None` if it is not.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for group in text.chunks(4) {
        let pad = group.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in group[..4 - pad].iter().enumerate() {
            let value = BASE64.iter().position(|b| b == c)? as u32;
            n |= value << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        for len in 0..bytes.len() {
            let encoded = base64_encode(&bytes[..len]);
            assert_eq!(base64_decode(&encoded).as_deref(), Some(&bytes[..len]));
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm9=x"), None);
        assert_eq!(base64_decode("Z!=="), None);
    }

    #[test]
    fn chunks_round_trip() {
        for chunk in [
            Chunk::Output(b"\x1b[2J\x00\xff\"\\".to_vec()),
            Chunk::Input(b"q".to_vec()),
            Chunk::Error(b"\xfe".to_vec()),
            Chunk::Edit(Box::new(FileEdit::new(
                b"/etc/a\xff",
                Some(b"x\n"),
                Some(b"y\0"),
            ))),
            Chunk::Edit(Box::new(
                FileEdit::new(b"/etc/b", None, None).without_content(),
            )),
            Chunk::Resize(132, 43),
            Chunk::Truncated,
        ] {
            let line = format!("[1.5,{},{}]", json!(chunk.kind()), chunk.data());
            assert_eq!(Chunk::parse(&line), Some((1.5, chunk)));
        }
        assert_eq!(Chunk::parse("[1,\"z\",\"\"]"), None);
    }

    #[test]
    fn the_cap_keeps_what_fits_and_marks_the_end() {
        let dir = std::env::temp_dir().join(format!("jitsudo-rec-{}", std::process::id()));
        let id = new_id().unwrap();
        let mut recorder = Recorder::create(&dir, &id, json!({}), 1024).unwrap();
        let truncation = recorder.write(&Chunk::Output(vec![b'x'; 5000]));
        assert_eq!(recorder.write(&Chunk::Output(b"after".to_vec())), None);
        let text = std::fs::read_to_string(path_of(&dir, &id)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(text.len() <= 1024, "{}", text.len());
        assert_eq!(lines.len(), 3, "{text}");
        let Some((_, Chunk::Output(kept))) = Chunk::parse(lines[1]) else {
            panic!("{text}")
        };
        assert!(
            kept.len() > 500 && kept.iter().all(|b| *b == b'x'),
            "{}",
            kept.len()
        );
        let truncation = truncation.expect("the write past the cap reports it");
        assert_eq!(truncation.max_bytes, 1024);
        assert_eq!(truncation.dropped, 5000 - kept.len() as u64);
        assert_eq!(Chunk::parse(lines[2]).map(|c| c.1), Some(Chunk::Truncated));
    }

    #[test]
    fn an_edit_past_the_cap_keeps_its_hashes() {
        let dir = std::env::temp_dir().join(format!("jitsudo-rec-edit-{}", std::process::id()));
        let id = new_id().unwrap();
        let mut recorder = Recorder::create(&dir, &id, json!({}), 4096).unwrap();
        let edit = FileEdit::new(b"/etc/big", Some(&[b'a'; 5000]), Some(&[b'b'; 5000]));
        let truncation = recorder.write(&Chunk::Edit(Box::new(edit.clone())));
        let text = std::fs::read_to_string(path_of(&dir, &id)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(truncation.map(|t| t.dropped), Some(10_000));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            Chunk::parse(lines[1]).map(|c| c.1),
            Some(Chunk::Edit(Box::new(edit.without_content())))
        );
        assert_eq!(Chunk::parse(lines[2]).map(|c| c.1), Some(Chunk::Truncated));
    }

    #[test]
    fn ids_name_no_path() {
        let id = new_id().unwrap();
        assert!(valid_id(&id), "{id}");
        assert!(!valid_id("../../etc/passw"));
        assert!(!valid_id("0123456789abcdef0"));
    }
}
