//! A sudoers parser that follows sudo's own lexer (`toke.l`) closely: the
//! same word, path and argument characters, the same escapes, comments that
//! spare `#uid` and `#include`, `\` line continuations, quoted strings, and
//! command arguments in which a lone `=` or an unescaped `,` `:` `#` ends
//! the command.
//!
//! A line that does not parse becomes a [`StmtKind::Error`] and parsing goes
//! on with the next line, so one typo does not hide the rest of a file.

mod command;

use super::ast::{
    AliasDef, AliasKind, Binding, CmndSpec, Item, Member, Privilege, Runas, Setting, SettingOp,
    SpecOption, Stmt, StmtKind,
};
use crate::error::Error;

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

/// The tags a command spec may carry before its command (`NOPASSWD:`…).
const TAGS: [&str; 16] = [
    "NOPASSWD",
    "PASSWD",
    "NOEXEC",
    "EXEC",
    "INTERCEPT",
    "NOINTERCEPT",
    "SETENV",
    "NOSETENV",
    "LOG_OUTPUT",
    "NOLOG_OUTPUT",
    "LOG_INPUT",
    "NOLOG_INPUT",
    "MAIL",
    "NOMAIL",
    "FOLLOW",
    "NOFOLLOW",
];

/// The `NAME=value` options a command spec may carry before its tags.
const OPTIONS: [&str; 10] = [
    "CWD",
    "CHROOT",
    "TIMEOUT",
    "NOTBEFORE",
    "NOTAFTER",
    "ROLE",
    "TYPE",
    "APPARMOR_PROFILE",
    "PRIVS",
    "LIMITPRIVS",
];

/// The digest algorithms sudo knows.
const DIGESTS: [&str; 4] = ["sha224", "sha256", "sha384", "sha512"];

/// Which kind of list a member is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Users (`name`, `#uid`, `%group`, `+netgroup`, aliases, `ALL`).
    User,
    /// Hosts (names, addresses, `+netgroup`, aliases, `ALL`).
    Host,
    /// Run-as users or groups.
    Runas,
}

/// The parser's position in the text.
struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

/// Whether `c` may appear in a sudoers WORD (unescaped).
fn is_word_byte(c: u8) -> bool {
    !matches!(
        c,
        b'#' | b'>' | b'!' | b'=' | b':' | b',' | b'(' | b')' | b' ' | b'\t' | b'\n' | b'\\' | b'"'
    )
}

/// Whether `c` may appear in a command path (unescaped).
fn is_path_byte(c: u8) -> bool {
    !matches!(c, b',' | b':' | b'=' | b'\\' | b' ' | b'\t' | b'\n' | b'#')
}

/// Whether `word` has the shape of an alias name.
fn is_alias_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `word` is an IPv4 address, optionally with a `/mask` or `/bits`.
fn is_ipv4_network(word: &str) -> bool {
    let is_addr = |text: &str| {
        let parts: Vec<&str> = text.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    match word.split_once('/') {
        Some((addr, mask)) => {
            is_addr(addr)
                && (is_addr(mask)
                    || (!mask.is_empty()
                        && mask.len() <= 2
                        && mask.bytes().all(|b| b.is_ascii_digit())))
        }
        None => is_addr(word),
    }
}

/// Joins continuation lines and trims a fragment of source for display.
fn normalize(text: &str) -> String {
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

/// The result of parsing a construct: the value or why not.
type Parsed<T> = Result<T, Error>;

impl Parser<'_> {
    /// The byte at the cursor.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// The byte `n` places after the cursor.
    fn peek_at(&self, n: usize) -> Option<u8> {
        self.bytes.get(self.pos + n).copied()
    }

    /// The text from the cursor on.
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    /// Whether a `\` at `at` starts a line continuation; returns the
    /// position after its newline.
    fn continuation_at(&self, at: usize) -> Option<usize> {
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
    fn skip_blanks(&mut self) -> bool {
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
    fn at_comment(&self) -> bool {
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
    fn at_statement_end(&mut self) -> bool {
        self.skip_blanks();
        if self.at_comment() {
            while !matches!(self.peek(), None | Some(b'\n')) {
                self.pos += 1;
            }
        }
        matches!(self.peek(), None | Some(b'\n'))
    }

    /// Moves to the end of the logical line (after continuations).
    fn skip_to_line_end(&mut self) {
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
    fn found(&self) -> String {
        match self.rest().chars().next() {
            None | Some('\n') => "the end of the line".to_owned(),
            Some(c) => format!("`{c}`"),
        }
    }

    /// That `what` was expected at the cursor.
    fn expected(&self, what: impl Into<String>) -> Error {
        Error::Expected {
            what: what.into(),
            found: self.found(),
        }
    }

    /// `found()` stands at the cursor, where it may not.
    fn unexpected(&self, place: &str) -> Error {
        Error::Unexpected {
            found: self.found(),
            place: place.to_owned(),
        }
    }

    /// Skips blanks and consumes `c` if it comes next; whether it did.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_blanks();
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, c: u8, what: &str) -> Parsed<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Reads every statement of the file.
    fn statements(&mut self) -> Vec<Stmt> {
        let mut stmts = Vec::new();
        while self.pos < self.bytes.len() {
            let start = self.pos;
            let line = self.line;
            let kind = if let Some(dir) = self.hash_include_ahead() {
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
                    Ok(_) => StmtKind::Error(self.unexpected("")),
                    Err(message) => StmtKind::Error(message),
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

    /// `#include` or `#includedir` at the very start of a line (sudo's
    /// `^#include[[:blank:]]+`): whether it is a directory.
    fn hash_include_ahead(&mut self) -> Option<bool> {
        let rest = self.rest();
        for (keyword, dir) in [("#includedir", true), ("#include", false)] {
            if let Some(after) = rest.strip_prefix(keyword) {
                if after.starts_with([' ', '\t']) {
                    self.pos += keyword.len();
                    return Some(dir);
                }
            }
        }
        None
    }

    /// One statement, the cursor on its first non-blank character.
    fn statement(&mut self) -> Parsed<StmtKind> {
        for (keyword, dir) in [("@includedir", true), ("@include", false)] {
            if let Some(after) = self.rest().strip_prefix(keyword) {
                if after.starts_with([' ', '\t']) {
                    self.pos += keyword.len();
                    return self.include(dir);
                }
            }
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

    /// The path after an include keyword.
    fn include(&mut self, dir: bool) -> Parsed<StmtKind> {
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
            return Err(Error::Malformed(
                "expected a path after the include directive",
            ));
        }
        // Whatever follows the path (even `#`) is an error for sudo.
        self.skip_blanks();
        if !matches!(self.peek(), None | Some(b'\n')) {
            return Err(self.unexpected(" after the include path"));
        }
        Ok(StmtKind::Include { path, dir })
    }

    /// A `Defaults` line, the cursor after the keyword.
    fn defaults(&mut self) -> Parsed<StmtKind> {
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
            return Err(self.expected("a blank after `Defaults`"));
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
        let mut negated = false;
        while self.peek() == Some(b'!') {
            negated = !negated;
            self.pos += 1;
            self.skip_blanks();
        }
        let len = self
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        if len == 0 {
            return Err(self.expected("a Defaults setting name"));
        }
        let name = self.rest()[..len].to_owned();
        self.pos += len;
        let save = (self.pos, self.line);
        self.skip_blanks();
        let assign: Option<fn(String) -> SettingOp> = match (self.peek(), self.peek_at(1)) {
            (Some(b'='), _) => {
                self.pos += 1;
                Some(SettingOp::Assign)
            }
            (Some(b'+'), Some(b'=')) => {
                self.pos += 2;
                Some(SettingOp::Add)
            }
            (Some(b'-'), Some(b'=')) => {
                self.pos += 2;
                Some(SettingOp::Remove)
            }
            _ => None,
        };
        let op = match assign {
            Some(_) if negated => {
                return Err(Error::NegatedWithValue(name));
            }
            Some(make) => {
                self.skip_blanks();
                let value = if self.peek() == Some(b'"') {
                    self.quoted()?
                } else {
                    self.defaults_value()
                };
                if value.is_empty() {
                    return Err(self.expected(format!("a value for `{name}`")));
                }
                make(value)
            }
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

    /// An alias statement, the cursor after the keyword.
    fn alias(&mut self, kind: AliasKind) -> Parsed<StmtKind> {
        let mut defs = Vec::new();
        loop {
            self.skip_blanks();
            let (name, escaped) = self.word();
            if escaped || !is_alias_name(&name) || name == "ALL" {
                return Err(Error::Expected {
                    what: format!(
                        "an alias name (upper case letters, digits and `_`) after `{}`",
                        kind.keyword()
                    ),
                    found: if name.is_empty() {
                        self.found()
                    } else {
                        format!("`{name}`")
                    },
                });
            }
            self.expect(b'=', "`=` after the alias name")?;
            let members = match kind {
                AliasKind::User => self.list(Ctx::User)?,
                AliasKind::Runas => self.list(Ctx::Runas)?,
                AliasKind::Host => self.list(Ctx::Host)?,
                AliasKind::Cmnd => self.command_list(false)?,
            };
            defs.push(AliasDef { name, members });
            if !self.eat(b':') {
                break;
            }
        }
        Ok(StmtKind::Alias { kind, defs })
    }

    /// `users hosts = specs [: hosts = specs]…`.
    fn user_spec(&mut self) -> Parsed<StmtKind> {
        let users = self.list(Ctx::User)?;
        let mut privileges = Vec::new();
        loop {
            if !self.skip_blanks() && privileges.is_empty() {
                return Err(self.expected("a blank and a host list after the user list"));
            }
            let hosts = self.list(Ctx::Host)?;
            self.expect(b'=', "`=` after the host list")?;
            let mut specs = vec![self.cmnd_spec()?];
            loop {
                if !self.eat(b',') {
                    break;
                }
                specs.push(self.cmnd_spec()?);
            }
            privileges.push(Privilege { hosts, specs });
            if !self.eat(b':') {
                break;
            }
        }
        Ok(StmtKind::UserSpec { users, privileges })
    }

    /// `[(runas)] [OPTION=value…] [TAG:…] command`.
    fn cmnd_spec(&mut self) -> Parsed<CmndSpec> {
        self.skip_blanks();
        let runas = if self.peek() == Some(b'(') {
            Some(self.runas()?)
        } else {
            None
        };
        let mut options = Vec::new();
        loop {
            self.skip_blanks();
            let Some(name) = self.option_ahead() else {
                break;
            };
            self.pos += name.len();
            self.expect(b'=', "`=` after the option name")?;
            self.skip_blanks();
            let value = if self.peek() == Some(b'"') {
                self.quoted()?
            } else if self.peek() == Some(b'/') {
                self.path()
            } else {
                self.word().0
            };
            if value.is_empty() {
                return Err(self.expected(format!("a value for `{name}`")));
            }
            options.push(SpecOption {
                name: name.to_owned(),
                value,
            });
        }
        let mut tags = Vec::new();
        loop {
            self.skip_blanks();
            let Some((tag, len)) = self.tag_ahead() else {
                break;
            };
            self.pos += len;
            tags.push(tag.to_owned());
        }
        let command = self.command_member(false)?;
        Ok(CmndSpec {
            runas,
            options,
            tags,
            command,
        })
    }

    /// An option name followed by `=` at the cursor.
    fn option_ahead(&self) -> Option<&'static str> {
        let rest = self.rest();
        OPTIONS.into_iter().find(|name| {
            rest.strip_prefix(name).is_some_and(|after| {
                !after
                    .starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && after.trim_start_matches([' ', '\t']).starts_with('=')
            })
        })
    }

    /// A tag followed by `:` at the cursor, and the length to skip.
    fn tag_ahead(&self) -> Option<(&'static str, usize)> {
        let rest = self.rest();
        TAGS.into_iter().find_map(|tag| {
            let after = rest.strip_prefix(tag)?;
            let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
            after[blanks..]
                .starts_with(':')
                .then_some((tag, tag.len() + blanks + 1))
        })
    }

    /// `(users[:groups])`.
    fn runas(&mut self) -> Parsed<Runas> {
        let start = self.pos;
        self.pos += 1;
        self.skip_blanks();
        let users = if matches!(self.peek(), Some(b':' | b')')) {
            None
        } else {
            Some(self.list(Ctx::Runas)?)
        };
        self.skip_blanks();
        let mut groups = None;
        if self.peek() == Some(b':') {
            self.pos += 1;
            self.skip_blanks();
            if self.peek() != Some(b')') {
                groups = Some(self.list(Ctx::Runas)?);
            }
        }
        self.expect(b')', "`)` to close the run-as list")?;
        Ok(Runas {
            users,
            groups,
            text: normalize(&self.src[start..self.pos]),
        })
    }

    /// A comma-separated list of user, host or run-as entries.
    fn list(&mut self, ctx: Ctx) -> Parsed<Vec<Member>> {
        let mut members = vec![self.member(ctx)?];
        loop {
            let save = (self.pos, self.line);
            self.skip_blanks();
            if self.peek() != Some(b',') {
                (self.pos, self.line) = save;
                return Ok(members);
            }
            self.pos += 1;
            members.push(self.member(ctx)?);
        }
    }

    /// A comma-separated list of commands (an alias body or a `Defaults!`
    /// binding, `bare`: without arguments).
    fn command_list(&mut self, bare: bool) -> Parsed<Vec<Member>> {
        let mut members = vec![self.command_member(bare)?];
        loop {
            let save = (self.pos, self.line);
            self.skip_blanks();
            if self.peek() != Some(b',') {
                (self.pos, self.line) = save;
                return Ok(members);
            }
            self.pos += 1;
            members.push(self.command_member(bare)?);
        }
    }

    /// Leading `!`s: true for an odd number.
    fn negation(&mut self) -> bool {
        let mut negated = false;
        while self.peek() == Some(b'!') {
            negated = !negated;
            self.pos += 1;
            self.skip_blanks();
        }
        negated
    }

    /// One user, host or run-as entry.
    fn member(&mut self, ctx: Ctx) -> Parsed<Member> {
        self.skip_blanks();
        let start = self.pos;
        let negated = self.negation();
        let item = self.name_item(ctx)?;
        Ok(Member {
            negated,
            item,
            text: normalize(&self.src[start..self.pos]),
        })
    }

    /// The item of a user, host or run-as entry.
    fn name_item(&mut self, ctx: Ctx) -> Parsed<Item> {
        match self.peek() {
            Some(b'"') => {
                let text = self.quoted()?;
                Ok(if let Some(group) = text.strip_prefix('%') {
                    Item::Group(group.to_owned())
                } else if let Some(netgroup) = text.strip_prefix('+') {
                    Item::Netgroup(netgroup.to_owned())
                } else {
                    Item::Word(text)
                })
            }
            Some(b'%') => {
                self.pos += 1;
                let mut group = String::new();
                if self.peek() == Some(b':') {
                    self.pos += 1;
                    group.push(':');
                }
                let name = if self.peek() == Some(b'#') {
                    self.id()
                } else {
                    self.word().0
                };
                if name.is_empty() {
                    return Err(Error::Malformed("empty group name after `%`"));
                }
                group.push_str(&name);
                Ok(Item::Group(group))
            }
            Some(b'+') => {
                self.pos += 1;
                let (name, _) = self.word();
                if name.is_empty() {
                    return Err(Error::Malformed("empty netgroup name after `+`"));
                }
                Ok(Item::Netgroup(name))
            }
            Some(b'#') => {
                let id = self.id();
                if id.len() < 2 {
                    return Err(self.expected("a number after `#`"));
                }
                Ok(Item::Word(id))
            }
            _ => {
                if ctx == Ctx::Host {
                    if let Some(address) = self.ipv6_ahead() {
                        return Ok(Item::Address(address));
                    }
                }
                let (word, escaped) = self.word();
                if word.is_empty() {
                    return Err(self.expected("a name"));
                }
                Ok(if escaped {
                    Item::Word(word)
                } else if word == "ALL" {
                    Item::All
                } else if is_alias_name(&word) {
                    Item::Alias(word)
                } else if ctx == Ctx::Host && is_ipv4_network(&word) {
                    Item::Address(word)
                } else {
                    Item::Word(word)
                })
            }
        }
    }

    /// An IPv6 address (with an optional `/prefix`) at the cursor.
    fn ipv6_ahead(&mut self) -> Option<String> {
        let rest = self.rest();
        let is_ipv6_byte = |b: u8| b.is_ascii_hexdigit() || b == b':' || b == b'.';
        let len = rest.bytes().take_while(|&b| is_ipv6_byte(b)).count();
        let address = &rest[..len];
        if address.matches(':').count() < 2 {
            return None;
        }
        let mut end = len;
        if rest[end..].starts_with('/') {
            end += 1 + rest[end + 1..]
                .bytes()
                .take_while(|&b| is_ipv6_byte(b))
                .count();
        }
        if rest[end..].starts_with(|c: char| is_word_byte(c as u8) && c.is_ascii()) {
            return None;
        }
        let text = rest[..end].to_owned();
        self.pos += end;
        Some(text)
    }

    /// `#` and a number (possibly negative, as sudo's lexer allows).
    fn id(&mut self) -> String {
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
    fn word(&mut self) -> (String, bool) {
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
    fn path(&mut self) -> String {
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
    fn quoted(&mut self) -> Parsed<String> {
        self.pos += 1;
        let mut text = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                None | Some(b'\n') => return Err(Error::Malformed("unterminated quoted string")),
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
            return Err(Error::Malformed("empty quoted string"));
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

/// Where a trailing comment starts in a normalized statement, if any: a
/// `#` that is not escaped, not in quotes, and does not start a `#uid`.
fn comment_start(text: &str) -> Option<usize> {
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
