//! A sudoers parser that follows sudo's own lexer (`toke.l`) closely: the
//! same word, path and argument characters, the same escapes, comments that
//! spare `#uid` and `#include`, `\` line continuations, quoted strings, and
//! command arguments in which a lone `=` or an unescaped `,` `:` `#` ends
//! the command.
//!
//! A line that does not parse becomes a [`StmtKind::Error`] and parsing goes
//! on with the next line, so one typo does not hide the rest of a file.
//!
//! [`lexer`] holds the cursor and sudo's tokens (words, paths, quoted
//! strings); each other module reads one kind of construct: [`include`]
//! directives, [`defaults`] lines, [`alias`] definitions, [`user_spec`]
//! lines, their [`members`] (users, hosts, run-as entries) and their
//! [`command`]s.

mod alias;
mod command;
mod defaults;
mod include;
mod lexer;
mod members;
mod user_spec;

use super::ast::{AliasKind, Stmt, StmtKind};
use super::error::Error;
use lexer::{comment_start, normalize};

/// Parses a whole sudoers file into its statements.
pub(crate) fn parse(text: &str) -> Vec<Stmt> {
    let text = text.replace("\r\n", "\n");
    let mut parser = Parser {
        src: &text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    parser.statements()
}

/// The parser's position in the text.
struct Parser<'a> {
    /// The file's text (`\r\n` turned into `\n`).
    src: &'a str,
    /// The same text as bytes.
    bytes: &'a [u8],
    /// The cursor: a byte offset into `src`.
    pos: usize,
    /// The 1-based line of the cursor.
    line: usize,
}

/// The result of parsing a construct: the value or a syntax error.
type Parsed<T> = Result<T, Error>;

/// A syntax error with `message`.
fn fail<T>(message: impl Into<String>) -> Parsed<T> {
    Err(Error::Syntax(message.into()))
}

impl Parser<'_> {
    /// Reads every statement of the file.
    fn statements(&mut self) -> Vec<Stmt> {
        let mut stmts = Vec::new();
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let line = self.line;
            let kind = if let Some(dir) = self.include_ahead("#") {
                Some(self.include(dir))
            } else {
                self.skip_blanks();
                if self.at_statement_end() {
                    None
                } else {
                    Some(self.statement())
                }
            };
            if let Some(kind) = kind {
                let kind = match kind {
                    Ok(kind) if self.at_statement_end() => kind,
                    Ok(_) => StmtKind::Error(format!("unexpected {}", self.found())),
                    Err(error) => StmtKind::Error(error.to_string()),
                };
                if matches!(kind, StmtKind::Error(_)) {
                    self.skip_to_line_end();
                }
                stmts.push(self.stmt(start, line, kind));
            }
            if self.peek() == Some(b'\n') {
                self.pos += 1;
                self.line += 1;
            }
        }
        stmts
    }

    /// Builds a statement spanning `start` to the cursor.
    fn stmt(&self, start: usize, line: usize, kind: StmtKind) -> Stmt {
        let raw = &self.src[start..self.pos];
        let raw_lines = raw.split('\n').map(str::to_owned).collect();
        let mut text = normalize(raw);
        if let Some(cut) = comment_start(&text) {
            text.truncate(cut);
            text = text.trim_end().to_owned();
        }
        Stmt {
            line,
            raw_lines,
            text,
            kind,
        }
    }

    /// One statement, the cursor on its first non-blank character.
    fn statement(&mut self) -> Parsed<StmtKind> {
        if let Some(dir) = self.include_ahead("@") {
            return self.include(dir);
        }
        let ident_len = self
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic() || *b == b'_')
            .count();
        let ident = &self.rest()[..ident_len];
        let alias = match ident {
            "Defaults" => {
                self.pos += ident_len;
                return self.defaults();
            }
            "User_Alias" => Some(AliasKind::User),
            "Runas_Alias" => Some(AliasKind::Runas),
            "Host_Alias" => Some(AliasKind::Host),
            "Cmnd_Alias" | "Cmd_Alias" => Some(AliasKind::Cmnd),
            _ => None,
        };
        match alias {
            Some(kind) => {
                self.pos += ident_len;
                self.alias(kind)
            }
            None => self.user_spec(),
        }
    }
}
