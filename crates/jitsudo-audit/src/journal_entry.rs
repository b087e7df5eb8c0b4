//! Journal entries read back as trail [`Record`]s, so that `jitsudoctl
//! audit --journal` filters and prints them through the trail's code: the
//! event's own fields (`MESSAGE`, `MESSAGE_ID`, ..., `JITSUDO_*`) escaped as
//! the trail escapes them, and journald's `_HOSTNAME`, `_BOOT_ID`,
//! `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP` as the trail's `host`,
//! `boot_id`, `time`, `mono_us`. Such a record has no `prev`/`hash`.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::escape::escape_value;
use crate::event::FIELD_PREFIX;
use crate::trail::Record;

/// The `file` of a record read from the journal.
pub const JOURNAL_SOURCE: &str = "journal";

/// Fields an event sets besides its `JITSUDO_*` ones.
const EVENT_FIELDS: [&str; 5] = [
    "MESSAGE",
    "MESSAGE_ID",
    "PRIORITY",
    "SYSLOG_FACILITY",
    "SYSLOG_IDENTIFIER",
];

/// The record of one entry of `journalctl -o json` (the `ordinal`-th read),
/// or `None` when the entry lacks the journal's own time stamp.
pub fn record_from_journal(entry: &Map<String, Value>, ordinal: usize) -> Option<Record> {
    let mut fields = Map::new();
    for (name, value) in entry {
        if !(name.starts_with(FIELD_PREFIX) || EVENT_FIELDS.contains(&name.as_str())) {
            continue;
        }
        let mut texts: Vec<Value> = journal_values(value).iter().map(|v| escaped(v)).collect();
        let value = match texts.len() {
            0 => continue,
            1 => texts.remove(0),
            _ => Value::Array(texts),
        };
        fields.insert(name.clone(), value);
    }
    let micros = |name: &str| entry.get(name)?.as_str()?.parse::<u64>().ok();
    let realtime =
        UNIX_EPOCH.checked_add(Duration::from_micros(micros("__REALTIME_TIMESTAMP")?))?;
    let text = |name: &str| journal_values(entry.get(name).unwrap_or(&Value::Null));
    let first = |name: &str| escaped(text(name).first().map_or(&[][..], Vec::as_slice));
    fields.insert("host".to_owned(), first("_HOSTNAME"));
    fields.insert("boot_id".to_owned(), first("_BOOT_ID"));
    fields.insert(
        "time".to_owned(),
        Value::String(humantime::format_rfc3339_micros(realtime).to_string()),
    );
    fields.insert(
        "mono_us".to_owned(),
        Value::from(micros("__MONOTONIC_TIMESTAMP").unwrap_or(0)),
    );
    Some(Record {
        file: PathBuf::from(JOURNAL_SOURCE),
        line: ordinal,
        fields,
    })
}

fn escaped(bytes: &[u8]) -> Value {
    let mut out = String::with_capacity(bytes.len());
    escape_value(&mut out, bytes);
    Value::String(out)
}

/// The values of a field in journalctl's JSON: a string, an array of bytes
/// (a value that is not text), or an array of those (a repeated field).
fn journal_values(value: &Value) -> Vec<Vec<u8>> {
    match value {
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_u64) => {
            bytes_of(items).into_iter().collect()
        }
        Value::Array(items) => items.iter().filter_map(single_value).collect(),
        other => single_value(other).into_iter().collect(),
    }
}

fn single_value(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Array(items) => bytes_of(items),
        _ => None,
    }
}

fn bytes_of(items: &[Value]) -> Option<Vec<u8>> {
    items
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_event_fields_escaped_and_journal_metadata() {
        let entry = json!({
            "MESSAGE": "alice : TTY=pts/0 ; COMMAND=/bin/true",
            "MESSAGE_ID": "6e4013ce4ebcc5d5005260d49d5a980d",
            "JITSUDO_USER": "alice",
            "JITSUDO_CWD": [47, 116, 10, 120],
            "JITSUDO_ENV_ADDED": ["A", "B"],
            "_HOSTNAME": "box",
            "_BOOT_ID": "0123",
            "_UID": "0",
            "__REALTIME_TIMESTAMP": "1764547200000001",
            "__MONOTONIC_TIMESTAMP": "42",
        });
        let Value::Object(entry) = entry else {
            unreachable!()
        };
        let record = record_from_journal(&entry, 7).expect("a record");
        assert_eq!(record.text("JITSUDO_USER"), Some("alice"));
        assert_eq!(record.text("JITSUDO_CWD"), Some("/t\\x0ax"));
        assert_eq!(record.fields["JITSUDO_ENV_ADDED"], json!(["A", "B"]));
        assert_eq!(record.text("host"), Some("box"));
        assert_eq!(record.text("time"), Some("2025-12-01T00:00:00.000001Z"));
        assert_eq!(record.fields["mono_us"], json!(42));
        assert!(!record.fields.contains_key("_UID"));
        assert_eq!(record.line, 7);
    }

    #[test]
    fn an_entry_without_a_time_is_no_record() {
        assert!(record_from_journal(&Map::new(), 1).is_none());
    }
}
