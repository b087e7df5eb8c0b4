//! Include directives: `@include`, `@includedir` and sudo's older
//! `#include`, `#includedir`.

use super::super::ast::StmtKind;
use super::{fail, Parsed, Parser};

impl Parser<'_> {
    /// `{prefix}include` or `{prefix}includedir` and a blank at the cursor
    /// (`#` only at the very start of a line, as sudo's
    /// `^#include[[:blank:]]+`): consumed, and whether it is a directory.
    pub(super) fn include_ahead(&mut self, prefix: &str) -> Option<bool> {
        for (keyword, dir) in [("includedir", true), ("include", false)] {
            let after = self
                .rest()
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(keyword));
            if after.is_some_and(|after| after.starts_with([' ', '\t'])) {
                self.pos += prefix.len() + keyword.len();
                return Some(dir);
            }
        }
        None
    }

    /// The path after an include keyword.
    pub(super) fn include(&mut self, dir: bool) -> Parsed<StmtKind> {
        self.skip_blanks();
        let path = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            let mut path = Vec::new();
            loop {
                match self.peek() {
                    None | Some(b' ' | b'\t' | b'\n' | b'\r') => break,
                    Some(b'\\') if matches!(self.peek_at(1), Some(b' ' | b'\t')) => {
                        path.push(self.bytes[self.pos + 1]);
                        self.pos += 2;
                    }
                    Some(c) => {
                        path.push(c);
                        self.pos += 1;
                    }
                }
            }
            String::from_utf8_lossy(&path).into_owned()
        };
        if path.is_empty() {
            return fail("expected a path after the include directive".to_owned());
        }
        // Whatever follows the path (even `#`) is an error for sudo.
        self.skip_blanks();
        if !matches!(self.peek(), None | Some(b'\n')) {
            return fail(format!(
                "unexpected {} after the include path",
                self.found()
            ));
        }
        Ok(StmtKind::Include { path, dir })
    }
}
