//! Reading the trail back: checking that its records form one unbroken
//! chain, and reading records out of it.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::record::parse;
use super::{head_path, GENESIS};

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

/// Calls `each` with every whole line of `file` and its 1-based number;
/// a last line without its newline is a broken record.
pub(super) fn for_each_line(
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

/// The state of a verification in progress.
#[derive(Default)]
struct Chain {
    records: usize,
    first_prev: Option<String>,
    /// File, line and hash of the last record seen.
    last: Option<(PathBuf, usize, String)>,
}

impl Chain {
    /// Adds the record at `line` to the chain, which it must continue.
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
