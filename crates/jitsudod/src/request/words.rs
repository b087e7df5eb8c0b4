//! The request's words as the operating system's strings.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use serde_bytes::ByteBuf;

/// One request word as an OS string.
pub fn os(bytes: &ByteBuf) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// `NAME=value` entries split at the first `=`; malformed ones dropped.
pub fn split_env(entries: &[ByteBuf]) -> Vec<(OsString, OsString)> {
    entries
        .iter()
        .filter_map(|entry| {
            let eq = entry.iter().position(|b| *b == b'=')?;
            Some((
                OsString::from_vec(entry[..eq].to_vec()),
                OsString::from_vec(entry[eq + 1..].to_vec()),
            ))
        })
        .collect()
}
