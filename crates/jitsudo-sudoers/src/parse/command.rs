//! Commands: digests, negation, `ALL`, aliases, paths, directories,
//! `sudoedit`, regular expressions, and the argument string sudo's lexer
//! builds after a path.

use super::super::ast::{Command, CommandKind, Digest, Item, Member};
use super::lexer::{is_alias_name, normalize};
use super::{fail, Parsed, Parser};

/// The digest algorithms sudo knows.
const DIGESTS: [&str; 4] = ["sha224", "sha256", "sha384", "sha512"];

impl Parser<'_> {
    /// A comma-separated list of commands (an alias body or a `Defaults!`
    /// binding, `bare`: without arguments).
    pub(super) fn command_list(&mut self, bare: bool) -> Parsed<Vec<Member>> {
        self.comma_list(|parser| parser.command_member(bare))
    }

    /// A command entry: digests, negation, then the command.
    pub(super) fn command_member(&mut self, bare: bool) -> Parsed<Member> {
        self.skip_blanks();
        let start = self.pos;
        let digests = self.digests()?;
        let negated = self.negation();
        let kind = self.command(bare)?;
        if !digests.is_empty() && !matches!(kind, CommandKind::Path { .. } | CommandKind::All) {
            return fail("a digest requires a path name".to_owned());
        }
        Ok(Member {
            negated,
            item: Item::Command(Command { digests, kind }),
            text: normalize(&self.src[start..self.pos]),
        })
    }

    /// `shaNNN:value[, shaNNN:value…]` before a command.
    fn digests(&mut self) -> Parsed<Vec<Digest>> {
        let mut digests = Vec::new();
        loop {
            let Some((algorithm, len)) = self.keyword_colon_ahead(&DIGESTS) else {
                return Ok(digests);
            };
            self.pos += len;
            self.skip_blanks();
            let value_len = self
                .rest()
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                .count();
            if value_len == 0 {
                return fail(format!("expected a digest after `{algorithm}:`"));
            }
            let value = self.rest()[..value_len].to_owned();
            self.pos += value_len;
            digests.push(Digest {
                algorithm: algorithm.to_owned(),
                value,
            });
            let save = (self.pos, self.line);
            self.skip_blanks();
            if self.peek() == Some(b',') {
                self.pos += 1;
                self.skip_blanks();
                if self.keyword_colon_ahead(&DIGESTS).is_some() {
                    continue;
                }
            }
            (self.pos, self.line) = save;
            self.skip_blanks();
            return Ok(digests);
        }
    }

    /// What a command entry runs (`bare`: no arguments are read).
    fn command(&mut self, bare: bool) -> Parsed<CommandKind> {
        self.skip_blanks();
        match self.peek() {
            Some(b'/') => {
                let path = self.path();
                if path.ends_with('/') {
                    return Ok(CommandKind::Directory(path));
                }
                let args = if bare { None } else { self.args()? };
                Ok(match args {
                    Some(args) if args.starts_with('^') => {
                        CommandKind::Regex(format!("{path} {args}"))
                    }
                    args => CommandKind::Path { path, args },
                })
            }
            Some(b'^') => {
                let regex = self.regex()?;
                let args = if bare { None } else { self.args()? };
                Ok(CommandKind::Regex(match args {
                    Some(args) => format!("{regex} {args}"),
                    None => regex,
                }))
            }
            _ => {
                let (word, escaped) = self.word();
                match word.as_str() {
                    "" => fail(format!("expected a command, found {}", self.found())),
                    "ALL" if !escaped => Ok(CommandKind::All),
                    "sudoedit" if !escaped => {
                        let args = if bare { None } else { self.args()? };
                        Ok(CommandKind::Sudoedit(args))
                    }
                    _ if !escaped && is_alias_name(&word) => Ok(CommandKind::Alias(word)),
                    _ => fail(format!(
                        "expected a fully qualified command path, `ALL` or a Cmnd_Alias, found `{word}`"
                    )),
                }
            }
        }
    }

    /// `^…$` (backslash escapes kept as written).
    fn regex(&mut self) -> Parsed<String> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                Some(b'$') => {
                    self.pos += 1;
                    return Ok(self.src[start..self.pos].to_owned());
                }
                Some(b'\\') if !matches!(self.peek_at(1), None | Some(b'\n')) => self.pos += 2,
                None | Some(b'\n' | b'#') => {
                    return fail("unterminated regular expression".to_owned());
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// A `\` escape in the arguments, the cursor on it: escaped wildcards
    /// stay escaped (jitsudo's globs read them), other escapes are removed.
    fn escaped_arg(&mut self, args: &mut Vec<u8>) -> Parsed<()> {
        match self.peek_at(1) {
            Some(c @ (b'*' | b'?' | b'[' | b']' | b'!' | b'^')) => {
                args.extend_from_slice(&[b'\\', c]);
            }
            Some(c @ (b':' | b'\\' | b',' | b'=' | b' ' | b'\t' | b'#')) => args.push(c),
            _ => {
                return fail(format!(
                    "unexpected `\\` in the arguments, found {}",
                    self.found()
                ))
            }
        }
        self.pos += 2;
        Ok(())
    }

    /// The argument string after a command path, as sudo's `fill_args`
    /// builds it; `None` when there are no arguments.
    fn args(&mut self) -> Parsed<Option<String>> {
        let mut args = Vec::new();
        loop {
            let save = (self.pos, self.line);
            let saw_space = self.skip_blanks();
            let separate = |args: &mut Vec<u8>| {
                if saw_space && !args.is_empty() {
                    args.push(b' ');
                }
            };
            match self.peek() {
                None | Some(b'\n' | b'#' | b':' | b',') => {
                    (self.pos, self.line) = save;
                    break;
                }
                Some(b'\\') => {
                    separate(&mut args);
                    self.escaped_arg(&mut args)?;
                }
                Some(_) => {
                    let len = self
                        .rest()
                        .bytes()
                        .take_while(|b| {
                            !matches!(b, b'#' | b'\\' | b':' | b',' | b' ' | b'\t' | b'\n')
                        })
                        .count();
                    if &self.rest()[..len] == "=" {
                        (self.pos, self.line) = save;
                        break;
                    }
                    if args.is_empty() && self.peek() == Some(b'^') {
                        let regex = self.regex()?;
                        args.extend_from_slice(regex.as_bytes());
                        continue;
                    }
                    separate(&mut args);
                    args.extend_from_slice(&self.rest().as_bytes()[..len]);
                    self.pos += len;
                }
            }
        }
        if args.is_empty() {
            Ok(None)
        } else {
            Ok(Some(String::from_utf8_lossy(&args).into_owned()))
        }
    }
}
