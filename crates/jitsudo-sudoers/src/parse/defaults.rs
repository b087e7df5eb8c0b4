//! `Defaults` lines: the optional binding (`:users`, `@hosts`, `>runas`,
//! `!commands`) and the settings.

use super::super::ast::{Binding, Setting, SettingOp, StmtKind};
use super::lexer::normalize;
use super::members::Ctx;
use super::{fail, Parsed, Parser};

impl Parser<'_> {
    /// A `Defaults` line, the cursor after the keyword.
    pub(super) fn defaults(&mut self) -> Parsed<StmtKind> {
        let binding = match self.peek() {
            Some(kind @ (b':' | b'@' | b'>' | b'!')) => {
                self.pos += 1;
                self.skip_blanks();
                let members = match kind {
                    b':' => self.list(Ctx::User)?,
                    b'@' => self.list(Ctx::Host)?,
                    b'>' => self.list(Ctx::Runas)?,
                    _ => self.command_list(true)?,
                };
                Some(Binding {
                    kind: kind as char,
                    members,
                })
            }
            _ => None,
        };
        if !self.skip_blanks() {
            return fail(format!(
                "expected a blank after `Defaults`, found {}",
                self.found()
            ));
        }
        let mut settings = vec![self.setting()?];
        loop {
            if !self.eat(b',') {
                break;
            }
            settings.push(self.setting()?);
        }
        Ok(StmtKind::Defaults { binding, settings })
    }

    /// One `Defaults` setting: `name`, `!name`, `name = v`, `+=`, `-=`.
    fn setting(&mut self) -> Parsed<Setting> {
        self.skip_blanks();
        let start = self.pos;
        let negated = self.negation();
        let len = self
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        if len == 0 {
            return fail(format!(
                "expected a Defaults setting name, found {}",
                self.found()
            ));
        }
        let name = self.rest()[..len].to_owned();
        self.pos += len;
        let save = (self.pos, self.line);
        self.skip_blanks();
        let op = match self.assignment() {
            Some(_) if negated => {
                return fail(format!("`!{name}` cannot be given a value"));
            }
            Some(make) => make(self.setting_value(&name)?),
            None => {
                (self.pos, self.line) = save;
                SettingOp::Flag(!negated)
            }
        };
        Ok(Setting {
            name,
            op,
            text: normalize(&self.src[start..self.pos]),
        })
    }

    /// `=`, `+=` or `-=` at the cursor, consumed: how it makes the
    /// setting from its value.
    fn assignment(&mut self) -> Option<fn(String) -> SettingOp> {
        let (op, len): (fn(String) -> SettingOp, usize) = match (self.peek(), self.peek_at(1)) {
            (Some(b'='), _) => (SettingOp::Assign, 1),
            (Some(b'+'), Some(b'=')) => (SettingOp::Add, 2),
            (Some(b'-'), Some(b'=')) => (SettingOp::Remove, 2),
            _ => return None,
        };
        self.pos += len;
        Some(op)
    }

    /// The value of setting `name`, quoted or not; never empty.
    fn setting_value(&mut self, name: &str) -> Parsed<String> {
        self.skip_blanks();
        let value = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.defaults_value()
        };
        if value.is_empty() {
            return fail(format!(
                "expected a value for `{name}`, found {}",
                self.found()
            ));
        }
        Ok(value)
    }

    /// An unquoted `Defaults` value (sudo's ENVAR): escapes removed.
    fn defaults_value(&mut self) -> String {
        let mut value = Vec::new();
        loop {
            match self.peek() {
                Some(b'\\') if !matches!(self.peek_at(1), None | Some(b'\n')) => {
                    value.push(self.bytes[self.pos + 1]);
                    self.pos += 2;
                }
                Some(b'!') if value.is_empty() => break,
                Some(b'#' | b'=' | b',' | b' ' | b'\t' | b'\n' | b'\\' | b'"') | None => break,
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}
