//! The cursor over a sudoers file and sudo's tokens: blanks and line
//! continuations, comments, words, paths, `#id`s, quoted strings, and the
//! text helpers that quote a construct as written.

use super::{fail, Parsed, Parser};

/// Whether `c` may appear in a sudoers WORD (unescaped).
pub(super) fn is_word_byte(c: u8) -> bool {
    !matches!(
        c,
        b'#' | b'>' | b'!' | b'=' | b':' | b',' | b'(' | b')' | b' ' | b'\t' | b'\n' | b'\\' | b'"'
    )
}

/// Whether `c` may appear in a command path (unescaped).
pub(super) fn is_path_byte(c: u8) -> bool {
    !matches!(c, b',' | b':' | b'=' | b'\\' | b' ' | b'\t' | b'\n' | b'#')
}

/// Whether `word` has the shape of an alias name.
pub(super) fn is_alias_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Joins continuation lines and trims a fragment of source for display.
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(index) = rest.find('\\') {
        let after = &rest[index + 1..];
        let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
        if after[blanks..].starts_with('\n') {
            out.push_str(rest[..index].trim_end_matches([' ', '\t']));
            out.push(' ');
            rest = after[blanks + 1..].trim_start_matches([' ', '\t']);
        } else {
            out.push_str(&rest[..=index]);
            rest = &rest[index + 1..];
            // Keep the escaped character as is (it may be a backslash).
            if let Some(c) = rest.chars().next() {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out.trim().to_owned()
}

/// Where a trailing comment starts in a normalized statement, if any: a
/// `#` that is not escaped, not in quotes, and does not start a `#uid`.
pub(super) fn comment_start(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut in_quotes = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'#' if !in_quotes && i > 0 => {
                let next = bytes.get(i + 1).copied();
                let is_id = next.is_some_and(|c| c.is_ascii_digit())
                    || (next == Some(b'-') && bytes.get(i + 2).is_some_and(|c| c.is_ascii_digit()));
                let after_percent = bytes[i - 1] == b'%' || bytes[i - 1] == b':';
                if !is_id && !after_percent {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

impl Parser<'_> {
    /// The byte at the cursor.
    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The byte `n` places after the cursor.
    pub(super) fn peek_at(&self, n: usize) -> Option<u8> {
        self.bytes.get(self.pos + n).copied()
    }

    /// The text from the cursor on.
    pub(super) fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    /// Whether a `\` at `at` starts a line continuation; returns the
    /// position after its newline.
    pub(super) fn continuation_at(&self, at: usize) -> Option<usize> {
        if self.bytes.get(at) != Some(&b'\\') {
            return None;
        }
        let mut i = at + 1;
        while matches!(self.bytes.get(i), Some(b' ' | b'\t' | b'\r')) {
            i += 1;
        }
        match self.bytes.get(i) {
            Some(b'\n') => Some(i + 1),
            None => Some(i),
            _ => None,
        }
    }

    /// Skips blanks and line continuations; true if any were skipped.
    pub(super) fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'\\') => match self.continuation_at(self.pos) {
                    Some(next) => {
                        self.pos = next;
                        self.line += 1;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        self.pos != start
    }

    /// Whether the cursor is on a comment (`#` not starting a `#uid`).
    pub(super) fn at_comment(&self) -> bool {
        if self.peek() != Some(b'#') {
            return false;
        }
        match self.peek_at(1) {
            Some(c) if c.is_ascii_digit() => false,
            Some(b'-') => !self.peek_at(2).is_some_and(|c| c.is_ascii_digit()),
            _ => true,
        }
    }

    /// Skips blanks and a trailing comment; true at the end of the line.
    pub(super) fn at_statement_end(&mut self) -> bool {
        self.skip_blanks();
        if self.at_comment() {
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.pos += 1;
            }
        }
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Moves to the end of the logical line (after continuations).
    pub(super) fn skip_to_line_end(&mut self) {
        loop {
            match self.peek() {
                None | Some(b'\n') => return,
                Some(b'\\') => match self.continuation_at(self.pos) {
                    Some(next) => {
                        self.pos = next;
                        self.line += 1;
                    }
                    None => self.pos += 2.min(self.bytes.len() - self.pos),
                },
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A description of what is at the cursor, for messages.
    pub(super) fn found(&self) -> String {
        match self.rest().chars().next() {
            None | Some('\n') => "the end of the line".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Skips blanks and consumes `c` if it comes next; whether it did.
    pub(super) fn eat(&mut self, c: u8) -> bool {
        self.skip_blanks();
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Consumes `c` (after blanks) or fails with `what`.
    pub(super) fn expect(&mut self, c: u8, what: &str) -> Parsed<()> {
        if self.eat(c) {
            Ok(())
        } else {
            fail(format!("expected {what}, found {}", self.found()))
        }
    }

    /// Leading `!`s: true for an odd number.
    pub(super) fn negation(&mut self) -> bool {
        let mut negated = false;
        while self.peek() == Some(b'!') {
            negated = !negated;
            self.pos += 1;
            self.skip_blanks();
        }
        negated
    }

    /// `#` and a number (possibly negative, as sudo's lexer allows).
    pub(super) fn id(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.src[start..self.pos].to_owned()
    }

    /// A WORD: its text (escapes removed) and whether it had escapes.
    pub(super) fn word(&mut self) -> (String, bool) {
        let mut word = Vec::new();
        let mut escaped = false;
        loop {
            match self.peek() {
                Some(b'\\') if !matches!(self.peek_at(1), None | Some(b'\n' | b'\t')) => {
                    word.push(self.bytes[self.pos + 1]);
                    self.pos += 2;
                    escaped = true;
                }
                Some(c) if is_word_byte(c) => {
                    word.push(c);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (String::from_utf8_lossy(&word).into_owned(), escaped)
    }

    /// A path (sudo's PATH): escapes of `,:= \t#` removed.
    pub(super) fn path(&mut self) -> String {
        let mut path = Vec::new();
        loop {
            match self.peek() {
                Some(b'\\')
                    if matches!(
                        self.peek_at(1),
                        Some(b',' | b':' | b'=' | b' ' | b'\t' | b'#')
                    ) =>
                {
                    path.push(self.bytes[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) if is_path_byte(c) => {
                    path.push(c);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        String::from_utf8_lossy(&path).into_owned()
    }

    /// A `"…"` string: `\"` is a quote, `\`-newline continues the line.
    pub(super) fn quoted(&mut self) -> Parsed<String> {
        self.pos += 1;
        let mut text = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                None | Some(b'\n') => return fail("unterminated quoted string".to_owned()),
                Some(b'\\') => {
                    if let Some(next) = self.continuation_at(self.pos) {
                        self.pos = next;
                        self.line += 1;
                        while matches!(self.peek(), Some(b' ' | b'\t')) {
                            self.pos += 1;
                        }
                    } else if self.peek_at(1) == Some(b'"') {
                        text.push(b'"');
                        self.pos += 2;
                    } else {
                        text.push(b'\\');
                        self.pos += 1;
                    }
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        if text.is_empty() {
            return fail("empty quoted string".to_owned());
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// `keyword` followed by blanks and `:` at the cursor (one of
    /// `keywords`), and the length to skip.
    pub(super) fn keyword_colon_ahead(
        &self,
        keywords: &[&'static str],
    ) -> Option<(&'static str, usize)> {
        let rest = self.rest();
        keywords.iter().find_map(|&keyword| {
            let after = rest.strip_prefix(keyword)?;
            let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
            after[blanks..]
                .starts_with(':')
                .then_some((keyword, keyword.len() + blanks + 1))
        })
    }

    /// Reads a `,`-separated list of `item`s (blanks allowed around the
    /// commas); the cursor stays after the last item.
    pub(super) fn comma_list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Parsed<T>,
    ) -> Parsed<Vec<T>> {
        let mut items = vec![item(self)?];
        loop {
            let save = (self.pos, self.line);
            self.skip_blanks();
            if self.peek() != Some(b',') {
                (self.pos, self.line) = save;
                return Ok(items);
            }
            self.pos += 1;
            items.push(item(self)?);
        }
    }
}
