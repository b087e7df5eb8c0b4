#![forbid(unsafe_code)]
#![warn(missing_docs)]

//! Converts sudoers files into a jitsudo policy (`jitsudoctl policy
//! import-sudoers`).
//!
//! # Use
//!
//! [`import`] takes the main file as a [`Source`] and a `read` function for
//! the files it includes, and returns a [`Conversion`]: the policy as TOML
//! text (always valid for [`jitsudo_policy::parse`]) and every construct that was
//! not converted faithfully, as [`Unconverted`] entries.
//!
//! Like the policy crate, the converter does no I/O: for each
//! `@include`/`#include` and `@includedir`/`#includedir` it calls `read`
//! with an [`Include`] (the path made absolute against the including file's
//! directory, as sudo does), and `read` returns the files to convert in its
//! place:
//!
//! * for a file, the one [`Source`];
//! * for a directory, the regular files whose names [`includedir_reads`]
//!   accepts, sorted by name (sudo's order); an empty list for a missing
//!   directory (sudo ignores it);
//! * `Err(message)` when they cannot be read: the directive is then
//!   reported as not converted, with that message.
//!
//! Paths may contain `%h`, which sudo replaces with the short host name;
//! `read` should do the same. Included files are converted at the place of
//! the directive, into the same policy; a file that includes itself (or an
//! include nesting deeper than sudo's 128 levels) is reported, not followed.
//!
//! ```
//! use jitsudo_sudoers::{import, Include};
//! use jitsudo_policy::Source;
//!
//! let main = Source {
//!     name: "/etc/sudoers".into(),
//!     text: "%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n".into(),
//! };
//! let mut read = |include: &Include| -> Result<Vec<Source>, String> {
//!     assert!(include.dir);
//!     Ok(vec![Source {
//!         name: format!("{}/ci", include.path),
//!         text: "ci ALL=(ALL) NOPASSWD: /usr/bin/apt-get update\n".into(),
//!     }])
//! };
//! let conversion = import(&main, &mut read);
//! assert!(conversion.unconverted.is_empty());
//! let policy = jitsudo_policy::parse(&[Source {
//!     name: "policy.toml".into(),
//!     text: conversion.toml,
//! }])
//! .unwrap();
//! assert_eq!(policy.rules[0].id, "sudoers-L1");
//! assert_eq!(policy.rules[1].id, "ci-L1");
//! ```
//!
//! # What converts
//!
//! * `User_Alias`, `Runas_Alias` and `Host_Alias` are expanded where they
//!   are used, negations carried through. A `Cmnd_Alias` (or `Cmd_Alias`)
//!   whose commands all convert becomes a command set under
//!   `[command_sets]`, used as `"@NAME"`; any other is expanded in place.
//! * User specifications `who hosts = (runas:groups) OPTIONS TAGS: cmnd, …`,
//!   with several `:`-separated host parts, and the run-as list, tags and
//!   options inherited along the command list as sudo does. Each run of
//!   commands that share run-as list, tags and options becomes one
//!   `[[rule]]` (an `ALL` entry gets its own, as sudo implies `SETENV` for
//!   it alone), with the id `<file name>-L<line>` (then `-2`, `-3`… for
//!   further rules of the line) and a comment quoting the source lines.
//! * Users `name`, `#uid`, `%group`, `%#gid`, `ALL`; run-as users `name`,
//!   `#uid`, `ALL`, and `()`/`(:group)` (oneself: `SELF`); run-as groups
//!   `name`, `#gid`, `ALL`; hosts other than `ALL` (names and wildcards) as
//!   `when.hosts`.
//! * Commands `ALL`, `/path`, `/path args` (escapes `\,` `\:` `\=` `\\`
//!   removed), `/path ""` (no arguments), wildcards in the path and the
//!   arguments (jitsudo globs, with the same escapes), `/dir/` (as
//!   `/dir/*`), `sha256:` digests in hex or base64 (as hex; several digests
//!   give one entry each). `!command` becomes a rule with
//!   `effect = "deny"` for the same users, run-as list and hosts, unless a
//!   later entry of the same line allows it again (sudo's last match wins
//!   there, so the negation has no effect and is reported as ignored).
//! * Tags `NOPASSWD`/`PASSWD` (`auth`), `SETENV`/`NOSETENV` (`setenv`);
//!   options `CWD=*` and `CWD=/dir` (`cwd`), `TIMEOUT=` (`timeout`),
//!   `NOTBEFORE=`/`NOTAFTER=` (`when.dates`, rounded inwards to whole days).
//! * Global `Defaults` (wherever they are, the last one winning, as in
//!   sudo): `secure_path`, `env_keep` (`=`, `+=`, `-=`, `!`; `+=` starts
//!   from jitsudo's default list), `umask` (`0777` and `!umask`: the
//!   caller's, `"0000"`), `passwd_tries`, `timestamp_timeout`, and into
//!   every rule: `!authenticate` (`auth = "none"` unless `PASSWD`),
//!   `setenv`, `requiretty` (`when.tty` on allow rules), `command_timeout`,
//!   `runas_default`. Settings without effect on who may run what (mail,
//!   lecture, insults, prompts, logging, `env_reset`, `use_pty`, `!fqdn`…)
//!   are reported as ignored.
//! * `@include`, `#include`, `@includedir`, `#includedir` (see above).
//!
//! # What is reported
//!
//! Everything else is listed in [`Conversion::unconverted`] and as a comment
//! next to where it was, with one of three [`Kind`]s: `Dropped` (not in the
//! policy), `Approximated` (in the policy, but it behaves differently; the
//! reason says how) and `Ignored` (no effect on who may run what). The
//! conversion errs on granting less: a rule that cannot be expressed
//! without granting more is left out. Among the reported constructs:
//! negated users, hosts or run-as users (the line or host part is left
//! out); netgroups, non-Unix groups, IP addresses and networks (left out of
//! their list); a `%group` as run-as user; `sudoedit`; regular
//! expressions; digests other than sha256; `NOEXEC`, `INTERCEPT`,
//! `CHROOT=`, SELinux, AppArmor and Solaris options (the commands are left
//! out); `LOG_INPUT`/`LOG_OUTPUT`; `CWD=` with a directory or `~`;
//! `Defaults:user`, `Defaults@host`, `Defaults>runas` and `Defaults!cmnd`;
//! `targetpw`, `log_output` and other unsupported `Defaults`; undefined,
//! duplicate or self-referencing aliases; syntax errors.
//!
//! Three differences of meaning are worth knowing:
//!
//! * In sudo a later line can allow again what an earlier `!command`
//!   denied, while a jitsudo deny rule beats every allow rule: the
//!   converted policy may refuse more.
//! * Sudo matches argument wildcards against all the arguments joined by
//!   spaces (`/bin/cat /var/log/*` also allows `cat /var/log/x /etc/shadow`),
//!   jitsudo matches each argument on its own: an allowed command with `*`
//!   in its arguments allows less (approximated), and a denied one is
//!   widened to the program with any arguments (approximated), since a
//!   narrower denial would let more through.
//! * `when.hosts` is compared with the name the machine reports, where sudo
//!   may compare a fully qualified name (approximated for names with dots).

mod ast;
mod convert;
mod digest;
mod emit;
mod error;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use jitsudo_policy::Source;

/// An include directive `read` is asked to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The path, absolute when the including file's name is (relative
    /// paths are taken from the including file's directory, as sudo does).
    pub path: String,
    /// True for `@includedir`/`#includedir`: `read` returns the directory's
    /// files (see [`includedir_reads`]), sorted by name.
    pub dir: bool,
    /// The including file.
    pub file: String,
    /// The directive's line in it.
    pub line: usize,
}

/// A construct that was not converted faithfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    /// The sudoers file.
    pub file: String,
    /// The 1-based line where the statement holding the construct starts.
    pub line: usize,
    /// The construct as written (continuation lines joined).
    pub construct: String,
    /// Why, and what the policy does instead.
    pub reason: String,
    /// Whether it was left out, approximated or safely ignored.
    pub kind: Kind,
}

/// What happened to an [`Unconverted`] construct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Not in the policy (which then grants less than sudoers did, or lacks
    /// a restriction sudoers had when the reason says so): review it.
    Dropped,
    /// In the policy, with a different meaning the reason describes.
    Approximated,
    /// Without effect on who may run what (mail, lecture, logging…).
    Ignored,
}

impl Kind {
    /// The label used in the policy's comments and in listings.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Dropped => "NOT CONVERTED",
            Kind::Approximated => "APPROXIMATED",
            Kind::Ignored => "IGNORED",
        }
    }
}

impl std::fmt::Display for Unconverted {
    /// `file:line: LABEL: construct: reason`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}: {}",
            self.file,
            self.line,
            self.kind.label(),
            self.construct,
            self.reason
        )
    }
}

/// The result of [`import`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The policy, as TOML text that [`jitsudo_policy::parse`] accepts.
    pub toml: String,
    /// Every construct not converted faithfully, in file order.
    pub unconverted: Vec<Unconverted>,
    /// The names of the sudoers files converted, in the order read.
    pub files: Vec<String>,
}

/// Whether sudo reads a file of this name from an `@includedir` directory:
/// not ending in `~` and without a `.` (so no editor backups, no
/// `.dpkg-dist` leftovers and no dotfiles).
pub fn includedir_reads(file_name: &str) -> bool {
    !file_name.is_empty() && !file_name.ends_with('~') && !file_name.contains('.')
}

/// How deep includes may nest (sudo's limit).
const MAX_DEPTH: usize = 128;

/// Converts `main` and the files it includes (obtained from `read`) into a
/// jitsudo policy; see the [module documentation](self).
pub fn import(
    main: &Source,
    read: &mut dyn FnMut(&Include) -> Result<Vec<Source>, String>,
) -> Conversion {
    let mut loader = Loader {
        read,
        statements: Vec::new(),
        files: Vec::new(),
    };
    loader.load(main, &mut Vec::new());
    let Loader {
        statements, files, ..
    } = loader;
    let (toml, unconverted) = convert::convert(&statements, &files);
    Conversion {
        toml,
        unconverted,
        files,
    }
}

/// A statement with the file it comes from.
#[derive(Debug)]
pub(crate) struct Located {
    /// The sudoers file's name.
    pub file: String,
    /// The statement.
    pub stmt: ast::Stmt,
    /// For include directives: what reading them gave.
    pub included: Option<Included>,
}

/// The outcome of an include directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Included {
    /// The files `read` returned, by name (possibly none), and those of
    /// them not followed (an include loop, or nesting too deep) with why.
    Read {
        /// Every file returned, in order.
        files: Vec<String>,
        /// (file, reason) for each file not followed.
        skipped: Vec<(String, String)>,
    },
    /// Why nothing was read (`read`'s message).
    Failed(String),
}

/// Reads the main file and, depth first, everything it includes.
struct Loader<'r> {
    read: &'r mut dyn FnMut(&Include) -> Result<Vec<Source>, String>,
    statements: Vec<Located>,
    files: Vec<String>,
}

impl Loader<'_> {
    /// Parses `source` and follows its includes; `stack` holds the files
    /// being read, outermost first.
    fn load(&mut self, source: &Source, stack: &mut Vec<String>) {
        self.files.push(source.name.clone());
        stack.push(source.name.clone());
        for stmt in parse::parse(&source.text) {
            let ast::StmtKind::Include { path, dir } = &stmt.kind else {
                self.statements.push(Located {
                    file: source.name.clone(),
                    stmt,
                    included: None,
                });
                continue;
            };
            let include = Include {
                path: resolve_include(&source.name, path),
                dir: *dir,
                file: source.name.clone(),
                line: stmt.line,
            };
            let index = self.statements.len();
            self.statements.push(Located {
                file: source.name.clone(),
                stmt,
                included: None,
            });
            let outcome = match (self.read)(&include) {
                Err(message) => Included::Failed(message),
                Ok(sources) => {
                    let files = sources.iter().map(|s| s.name.clone()).collect();
                    let mut skipped = Vec::new();
                    for included in &sources {
                        let open: HashSet<&String> = stack.iter().collect();
                        if open.contains(&included.name) {
                            skipped.push((
                                included.name.clone(),
                                "the file is already being read (an include loop)".to_owned(),
                            ));
                        } else if stack.len() >= MAX_DEPTH {
                            skipped.push((
                                included.name.clone(),
                                format!("includes nest deeper than {MAX_DEPTH} levels"),
                            ));
                        } else {
                            self.load(included, stack);
                        }
                    }
                    Included::Read { files, skipped }
                }
            };
            self.statements[index].included = Some(outcome);
        }
        stack.pop();
    }
}

/// The path of an include: `path` as is when absolute, else relative to
/// the directory of `including`.
fn resolve_include(including: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_owned();
    }
    match including.rfind('/') {
        Some(slash) => format!("{}/{path}", &including[..slash]),
        None => path.to_owned(),
    }
}
