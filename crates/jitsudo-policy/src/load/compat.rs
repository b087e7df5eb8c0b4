//! `[compat] unknown_keys = "warn"`: unknown keys become warnings.
//!
//! The switch is read from the parsed TOML before the schema is applied;
//! then each unknown key the schema reports is removed and the source read
//! again, so the schema stays the one list of known keys.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// Whether the document's `[compat]` table says `unknown_keys = "warn"`.
pub(super) fn warns_on_unknown_keys(document: &DeTable<'_>) -> bool {
    document
        .get("compat")
        .and_then(|compat| compat.get_ref().as_table())
        .and_then(|compat| compat.get("unknown_keys"))
        .and_then(|value| value.get_ref().as_str())
        == Some("warn")
}

/// The span of the key an "unknown field" error names.
pub(super) fn unknown_key_span(error: &toml::de::Error) -> Option<Range<usize>> {
    if error.message().starts_with("unknown field ") {
        error.span()
    } else {
        None
    }
}

/// Removes the key written at `span` (with its value) from the document;
/// false when no key is there.
pub(super) fn remove_key(table: &mut DeTable<'_>, span: &Range<usize>) -> bool {
    let found = table
        .iter()
        .find(|(key, _)| key.span() == *span)
        .map(|(key, _)| key.get_ref().to_string());
    if let Some(name) = found {
        return table.remove(name.as_str()).is_some();
    }
    table
        .iter_mut()
        .any(|(_, value)| remove_in_value(value.get_mut(), span))
}

/// Removes the key at `span` from a table inside `value`.
fn remove_in_value(value: &mut DeValue<'_>, span: &Range<usize>) -> bool {
    match value {
        DeValue::Table(table) => remove_key(table, span),
        DeValue::Array(array) => array
            .iter_mut()
            .any(|item| remove_in_value(item.get_mut(), span)),
        _ => false,
    }
}
