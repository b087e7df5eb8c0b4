//! Policy errors and the translation of byte offsets into `file:line:column`.

use std::fmt;
use std::ops::Range;

use crate::suggest;

/// One problem found while parsing or validating a policy source.
///
/// Its `Display` form is `file:line:column: message`, the shape editors and
/// compilers use, so the position can be clicked on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// Name of the source the problem is in (as given in [`crate::Source::name`]).
    pub file: String,
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub column: usize,
    /// What is wrong, and when possible how to fix it.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for PolicyError {}

/// A source's name and text, used to place errors and rules.
#[derive(Clone, Copy)]
pub(crate) struct SourceMap<'a> {
    name: &'a str,
    text: &'a str,
}

impl<'a> SourceMap<'a> {
    /// Wraps a source's name and text.
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        SourceMap { name, text }
    }

    /// The source's name.
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// The 1-based line and column of the byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut line = 1;
        let mut column = 1;
        for (index, ch) in self.text.char_indices() {
            if index >= offset {
                break;
            }
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (line, column)
    }

    /// An error located at the start of `span`.
    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> PolicyError {
        let (line, column) = self.position(span.start);
        PolicyError {
            file: self.name.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    /// Converts a TOML syntax or schema error, adding a "did you mean" hint
    /// when the error names an unknown key or value close to a known one.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> PolicyError {
        let span = error.span().unwrap_or(0..0);
        let message = error.message();
        match suggest::hint_for(message) {
            Some(known) => self.error(span, format!("{message}; did you mean `{known}`?")),
            None => self.error(span, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let map = SourceMap::new("p.toml", "ab\ncdé\nfg");
        assert_eq!(map.position(0), (1, 1));
        assert_eq!(map.position(1), (1, 2));
        assert_eq!(map.position(3), (2, 1));
        // 'é' is two bytes (5 and 6): the newline after it, byte 7, is column 4.
        assert_eq!(map.position(7), (2, 4));
        assert_eq!(map.position(8), (3, 1));
        assert_eq!(map.position(9), (3, 2));
        assert_eq!(map.position(1000), (3, 3));
    }

    #[test]
    fn display_is_file_line_column_message() {
        let map = SourceMap::new("policy.toml", "x\ny = 1\n");
        let error = map.error(2..3, "bad");
        assert_eq!(error.to_string(), "policy.toml:2:1: bad");
    }
}
