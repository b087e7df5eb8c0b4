//! Policy errors and the translation of byte offsets into `file:line:column`.

use std::cell::OnceCell;
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

/// Bytes between two entries of [`SourceMap`]'s character-count checkpoints.
const CHECKPOINT_BYTES: usize = 256;

/// A source's name and text, used to place errors and rules.
///
/// Built once per source in linear time, it then places any byte offset in
/// logarithmic time, so placing every rule of a large policy stays linear.
/// (The character counts that columns need are made on the first column
/// asked for: a valid policy needs only lines.)
#[derive(Clone)]
pub(crate) struct SourceMap<'a> {
    name: &'a str,
    text: &'a str,
    /// Byte offset of the start of each line; the first is 0.
    line_starts: Vec<usize>,
    /// Entry `k`: how many characters start before byte `k * CHECKPOINT_BYTES`.
    checkpoints: OnceCell<Vec<usize>>,
}

impl<'a> SourceMap<'a> {
    /// Wraps a source's name and text, indexing its lines and characters.
    pub(crate) fn new(name: &'a str, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(newline, _)| newline + 1))
            .collect();
        SourceMap {
            name,
            text,
            line_starts,
            checkpoints: OnceCell::new(),
        }
    }

    /// The source's name.
    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    /// The 1-based line and column (in characters) of the byte `offset`;
    /// an offset past the end is placed just after the last character.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        // Lines starting at or before `offset`; the first always does.
        let line = self.line(offset);
        let line_start = self.line_starts[line - 1];
        let column = self.chars_before(offset) - self.chars_before(line_start) + 1;
        (line, column)
    }

    /// The 1-based line of the byte `offset` (the line of
    /// [`SourceMap::position`], without counting characters for the column).
    pub(crate) fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// How many characters start before the byte `offset` (at most the text's length).
    fn chars_before(&self, offset: usize) -> usize {
        let block = offset / CHECKPOINT_BYTES;
        let block_start = block * CHECKPOINT_BYTES;
        let checkpoints = self
            .checkpoints
            .get_or_init(|| checkpoints(self.text.as_bytes()));
        checkpoints[block] + count_char_starts(&self.text.as_bytes()[block_start..offset])
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

/// Entry `k`: how many characters start before byte `k * CHECKPOINT_BYTES`
/// of `bytes` (the last entry counts them all).
fn checkpoints(bytes: &[u8]) -> Vec<usize> {
    let mut checkpoints = Vec::with_capacity(bytes.len() / CHECKPOINT_BYTES + 2);
    let mut chars = 0;
    checkpoints.push(0);
    for block in bytes.chunks(CHECKPOINT_BYTES) {
        chars += count_char_starts(block);
        checkpoints.push(chars);
    }
    checkpoints
}

/// How many UTF-8 characters start in `bytes` (bytes that are not continuation bytes).
fn count_char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
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

    /// The plain definition of a position, to check the indexed one against.
    fn naive_position(text: &str, offset: usize) -> (usize, usize) {
        let before = text
            .char_indices()
            .take_while(|&(index, _)| index < offset)
            .map(|(_, ch)| ch);
        before.fold((1, 1), |(line, column), ch| match ch {
            '\n' => (line + 1, 1),
            _ => (line, column + 1),
        })
    }

    #[test]
    fn positions_match_the_definition_across_checkpoints() {
        let mixed: String = (0..3000)
            .map(|i| match i % 11 {
                0 => '\n',
                1 => 'é',
                2 => '€',
                3 => '😀',
                _ => 'a',
            })
            .collect();
        let one_line: String = "aé€😀".repeat(300);
        for text in [mixed.as_str(), one_line.as_str(), "", "\n", "é"] {
            let map = SourceMap::new("p.toml", text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(
                    map.position(offset),
                    naive_position(text, offset),
                    "offset {offset}"
                );
                assert_eq!(map.line(offset), naive_position(text, offset).0);
            }
        }
    }

    /// Placing every rule of a big policy used to rescan the text from the
    /// start each time: 10,000 rules took seconds. Each position must now
    /// cost next to nothing, whatever its offset.
    #[test]
    fn placing_every_line_of_a_large_source_is_fast() {
        let lines = 100_000;
        let text = "x = 1\n".repeat(lines);
        let start = std::time::Instant::now();
        let map = SourceMap::new("p.toml", &text);
        for line in 0..lines {
            assert_eq!(map.position(line * 6 + 2), (line + 1, 3));
            let elapsed = start.elapsed();
            assert!(
                elapsed < std::time::Duration::from_secs(5),
                "{line} lines placed in {elapsed:?}"
            );
        }
    }

    #[test]
    fn display_is_file_line_column_message() {
        let map = SourceMap::new("policy.toml", "x\ny = 1\n");
        let error = map.error(2..3, "bad");
        assert_eq!(error.to_string(), "policy.toml:2:1: bad");
    }
}
