//! The record line: rendering an event as JSON, sealing it with its hash,
//! and parsing a line back.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::reader::Broken;
use super::{HASH_LEN, SUFFIX_HEAD, SUFFIX_TAIL};
use crate::escape::escape_value;
use crate::event::Event;

/// Whether `text` is a hash: 64 lowercase hex digits.
pub(super) fn is_hash(text: &str) -> bool {
    text.len() == HASH_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub(super) fn record_hash(record: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(HASH_LEN);
    for byte in Sha256::digest(record.as_bytes()) {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Where and when a record is written.
pub(super) struct Meta {
    host: String,
    boot_id: &'static str,
    time: String,
    mono_us: u64,
}

impl Meta {
    /// Here and now.
    pub(super) fn now() -> Self {
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

/// This boot's id, read once per process (or before it forked).
pub(crate) fn boot_id() -> &'static str {
    static BOOT_ID: OnceLock<String> = OnceLock::new();
    BOOT_ID.get_or_init(|| {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().replace('-', ""))
            .unwrap_or_default()
    })
}

/// The record of `ev` without its hash: a JSON object on one line.
pub(super) fn render(ev: &Event, prev: &str, meta: &Meta) -> String {
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

/// The trail line of `record` (from [`render`]) and its `hash`: the
/// record's closing `}` becomes the hash suffix, and the line ends in a
/// newline (and starts with one when `newline`, after a cut line).
pub(super) fn seal(record: &str, hash: &str, newline: bool) -> String {
    let mut line = String::with_capacity(record.len() + 80);
    if newline {
        line.push('\n');
    }
    line.push_str(&record[..record.len() - 1]);
    line.push_str(SUFFIX_HEAD);
    line.push_str(hash);
    line.push_str(SUFFIX_TAIL);
    line.push('\n');
    line
}

/// Splits a record line into its fields, its `prev` and its hash, checking
/// that the hash matches the content.
pub(super) fn parse(
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
