//! Command entries (`ALL`, `/path`, `/path args…`, `/path ""`, the table
//! form, wildcards in the path and the arguments, `sha256` pinning) and how
//! they match a command line.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::glob::{has_wildcards, Glob};
use crate::model::Effect;
use crate::request::Executable;
use crate::schema::{RawCommand, RawCommandTable};

/// One entry of a rule's `commands` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPattern {
    /// `ALL`: any command with any arguments.
    All,
    /// A specific program, or the programs a path pattern names.
    Program(Program),
}

/// A program and the arguments it may be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The entry as written in the policy, for display.
    pub text: String,
    /// The program's path as written in the policy (possibly a pattern).
    pub path: PathBuf,
    /// The arguments allowed.
    pub args: Args,
    /// When `path` has wildcards (`*`, `?`, `[...]`): the pattern the request's
    /// path must match; wildcards never match `/`. (Boxed, as `sha256`: few
    /// entries have one, and every entry of a large policy would carry its room.)
    pub path_glob: Option<Box<Glob>>,
    /// The SHA-256 digest the executable must have (`sha256:<hex>`); a
    /// request whose digest differs or is missing does not match.
    pub sha256: Option<Box<[u8; 32]>>,
}

/// The arguments a program entry allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// A bare path: any arguments.
    Any,
    /// Exactly these arguments, in order; empty means none at all.
    Exactly(Vec<String>),
    /// As many arguments as patterns, each matching its pattern
    /// (`fnmatch(3)`, so `*` matches any word, even one starting with `-`).
    Patterns(Vec<Glob>),
    /// `sudoedit FILE`: one argument, the file to edit, matching this
    /// absolute path or pattern (wildcards never match `/`).
    File(Glob),
}

/// The pseudo-command of file editing (`-e`, `sudoedit`), as in sudoers:
/// the entry `sudoedit /etc/motd` allows editing that file; a request to
/// edit is asked as this command with the file as its only argument.
pub const SUDOEDIT: &str = "sudoedit";

/// How a command entry compares with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandMatch {
    /// Path, arguments and digest (if pinned) all match.
    Match,
    /// The path or the arguments differ.
    Mismatch,
    /// Path and arguments match but the entry pins a digest the executable
    /// does not have (or that was not computed).
    DigestMismatch,
}

impl CommandPattern {
    /// Parses either form of a `commands` entry (not a `@set` reference).
    pub(crate) fn parse(raw: &RawCommand) -> Result<CommandPattern, String> {
        match raw {
            RawCommand::Line(line) => parse_line(line),
            RawCommand::Table(table) => parse_table(table),
        }
    }

    /// Whether `command` run with `args` is allowed by this entry, with no
    /// executable opened and no digest known (an entry that pins a digest
    /// never matches).
    pub fn matches(&self, command: &Path, args: &[OsString]) -> bool {
        let subject = Subject {
            path: command,
            executable: None,
        };
        self.check(&subject, args, None, Effect::Allow) == CommandMatch::Match
    }

    /// How this entry of a rule with `effect` compares with `command` run
    /// with `args`, whose executable has the SHA-256 `digest` when the
    /// daemon computed it.
    pub fn check(
        &self,
        command: &Subject<'_>,
        args: &[OsString],
        digest: Option<&[u8; 32]>,
        effect: Effect,
    ) -> CommandMatch {
        match self {
            CommandPattern::All => CommandMatch::Match,
            CommandPattern::Program(program) => {
                if !program.names(command, effect) || !program.args.matches(args) {
                    CommandMatch::Mismatch
                } else if program.sha256.is_some() && program.sha256.as_deref() != digest {
                    CommandMatch::DigestMismatch
                } else {
                    CommandMatch::Match
                }
            }
        }
    }

    /// Whether this entry pins a digest and may name `command` (in a rule of
    /// either effect).
    pub fn needs_digest(&self, command: &Subject<'_>) -> bool {
        match self {
            CommandPattern::All => false,
            CommandPattern::Program(program) => {
                program.sha256.is_some() && program.names(command, Effect::Deny)
            }
        }
    }
}

/// The command of a request, as command entries compare with it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The absolute path it was found at ([`crate::Request::command`]).
    pub path: &'a Path,
    /// The opened file ([`crate::Request::executable`]).
    pub executable: Option<Executable<'a>>,
}

impl Program {
    /// Whether this entry names the request's command.
    ///
    /// In an allow rule, as in sudo, the base names must agree (a rule for
    /// `/usr/bin/rbash` never allows `bash`, nor a link to it named
    /// otherwise), and the entry must name the very file the daemon opened:
    /// the file its path (or, for a pattern, the matching path) leads to now
    /// has the opened file's device and inode. A deny rule names a file
    /// under any name: its path (or pattern) matches the path found or the
    /// opened file's real path, or its path leads to the opened file.
    ///
    /// Without an opened file only the path found is compared, as text.
    fn names(&self, command: &Subject<'_>, effect: Effect) -> bool {
        let Some(executable) = &command.executable else {
            return self.path_matches(command.path);
        };
        let is_opened = |path: &Path| (executable.identify)(path) == Some(executable.id);
        let candidates = [command.path, executable.real_path];
        match effect {
            Effect::Allow => match &self.path_glob {
                None => same_base_name(&self.path, command.path) && is_opened(&self.path),
                Some(_) => candidates.into_iter().any(|candidate| {
                    same_base_name(candidate, command.path)
                        && self.path_matches(candidate)
                        && is_opened(candidate)
                }),
            },
            Effect::Deny => {
                candidates
                    .into_iter()
                    .any(|candidate| self.path_matches(candidate))
                    || (self.path_glob.is_none() && is_opened(&self.path))
            }
        }
    }

    /// Whether `path`, as text, is this entry's path or matches its pattern.
    fn path_matches(&self, path: &Path) -> bool {
        match &self.path_glob {
            Some(glob) => glob.matches(path.as_os_str().as_bytes(), true),
            None => self.path == path,
        }
    }

    /// The base name an allow rule's request must have, for an exact path.
    pub(crate) fn exact_base_name(&self) -> Option<&OsStr> {
        match self.path_glob {
            None => self.path.file_name(),
            Some(_) => None,
        }
    }
}

/// Whether two paths end in the same name.
fn same_base_name(a: &Path, b: &Path) -> bool {
    a.file_name().is_some() && a.file_name() == b.file_name()
}

impl Args {
    /// Whether the request's arguments are allowed, compared byte for byte
    /// (or matched per argument for patterns).
    pub fn matches(&self, args: &[OsString]) -> bool {
        match self {
            Args::Any => true,
            Args::Exactly(wanted) => {
                wanted.len() == args.len()
                    && wanted
                        .iter()
                        .zip(args)
                        .all(|(w, a)| w.as_bytes() == a.as_bytes())
            }
            Args::Patterns(patterns) => {
                patterns.len() == args.len()
                    && patterns
                        .iter()
                        .zip(args)
                        .all(|(p, a)| p.matches(a.as_bytes(), false))
            }
            Args::File(pattern) => match args {
                [file] => pattern.matches(file.as_bytes(), true),
                _ => false,
            },
        }
    }

    /// The argument list for these words: literal when none has a
    /// wildcard or escape, patterns otherwise.
    fn from_words(words: Vec<String>) -> Result<Args, String> {
        if !words.iter().any(|word| has_wildcards(word)) {
            return Ok(Args::Exactly(words));
        }
        words
            .iter()
            .map(|word| Glob::new(word))
            .collect::<Result<_, _>>()
            .map(Args::Patterns)
    }
}

/// Parses the sudoers-style string form: `[sha256:<hex>] path [args…]`.
fn parse_line(line: &str) -> Result<CommandPattern, String> {
    let mut words = line.split_ascii_whitespace().peekable();
    let digest = match words.peek().and_then(|w| w.strip_prefix("sha256:")) {
        Some(hex) => {
            let digest = parse_sha256(hex)?;
            words.next();
            Some(digest)
        }
        None => None,
    };
    let path = words.next().ok_or("empty command")?;
    let args: Vec<&str> = words.collect();
    if path == SUDOEDIT {
        return sudoedit(line, &args, digest);
    }
    if path == "ALL" {
        if !args.is_empty() {
            return Err("`ALL` takes no arguments".to_owned());
        }
        if digest.is_some() {
            return Err("`ALL` cannot be pinned to a digest".to_owned());
        }
        return Ok(CommandPattern::All);
    }
    let args = match args.as_slice() {
        [] => Args::Any,
        [only] if *only == "\"\"" => Args::Exactly(Vec::new()),
        words => Args::from_words(unquoted_words(words)?)?,
    };
    program(line, path, args, digest)
}

/// `sudoedit FILE`: exactly one absolute file (or pattern), no digest.
fn sudoedit(line: &str, args: &[&str], digest: Option<[u8; 32]>) -> Result<CommandPattern, String> {
    let [file] = args else {
        return Err("`sudoedit` takes exactly one absolute file (or pattern); list each file in an entry of its own".to_owned());
    };
    if digest.is_some() {
        return Err("`sudoedit` cannot be pinned to a digest".to_owned());
    }
    let normal = file.starts_with('/')
        && !file[1..]
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if !normal {
        return Err(format!(
            "`sudoedit` file `{file}` must be an absolute path without `.`, `..` or `//`"
        ));
    }
    Ok(CommandPattern::Program(Program {
        text: line.to_owned(),
        path: PathBuf::from(SUDOEDIT),
        args: Args::File(Glob::new(file)?),
        path_glob: None,
        sha256: None,
    }))
}

/// The words of an argument list, which may not contain quotes.
fn unquoted_words(words: &[&str]) -> Result<Vec<String>, String> {
    match words.iter().find(|word| word.contains('"')) {
        Some(word) => Err(format!(
            "quotes are not supported in `{word}`: use `\"\"` alone for \"no arguments\", or the table form {{ path = \"…\", args = [\"a b\"] }}"
        )),
        None => Ok(words.iter().map(|&word| word.to_owned()).collect()),
    }
}

/// Parses the `{ path, args, sha256 }` table form.
fn parse_table(table: &RawCommandTable) -> Result<CommandPattern, String> {
    let args = match &table.args {
        None => Args::Any,
        Some(args) => Args::from_words(args.clone())?,
    };
    let digest = table.sha256.as_deref().map(parse_sha256).transpose()?;
    let mut text = match &table.args {
        None => table.path.clone(),
        Some(args) => format!("{} {:?}", table.path, args),
    };
    if let Some(hex) = &table.sha256 {
        text = format!("sha256:{} {text}", hex.to_ascii_lowercase());
    }
    program(&text, &table.path, args, digest)
}

/// A SHA-256 digest written as 64 hexadecimal digits.
fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let invalid = || format!("sha256 digest `{hex}` must be 64 hexadecimal digits");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(digest)
}

/// Builds a program entry after checking its path is absolute.
fn program(
    text: &str,
    path: &str,
    args: Args,
    sha256: Option<[u8; 32]>,
) -> Result<CommandPattern, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "command path `{path}` must be absolute (start with `/`), or `ALL`"
        ));
    }
    if path.contains('\0') {
        return Err("command path contains a NUL character".to_owned());
    }
    let path_glob = if has_wildcards(path) {
        Some(Box::new(Glob::new(path)?))
    } else {
        None
    };
    Ok(CommandPattern::Program(Program {
        text: text.to_owned(),
        path: PathBuf::from(path),
        args,
        path_glob,
        sha256: sha256.map(Box::new),
    }))
}

impl std::fmt::Display for CommandPattern {
    /// As written in the policy: `ALL` or the entry's text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandPattern::All => f.write_str("ALL"),
            CommandPattern::Program(program) => f.write_str(&program.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::FileId;
    use std::os::unix::ffi::OsStringExt;

    fn line(text: &str) -> Result<CommandPattern, String> {
        CommandPattern::parse(&RawCommand::Line(text.to_owned()))
    }

    #[test]
    fn sudoedit_entries_name_one_file() {
        let edit = Path::new(SUDOEDIT);
        let motd = line("sudoedit /etc/motd").unwrap();
        assert!(motd.matches(edit, &[OsString::from("/etc/motd")]));
        assert!(!motd.matches(edit, &[OsString::from("/etc/shadow")]));
        assert!(!motd.matches(edit, &[]));
        assert!(!motd.matches(Path::new("/etc/motd"), &[]));
        let sites = line("sudoedit /etc/nginx/sites/*").unwrap();
        assert!(sites.matches(edit, &[OsString::from("/etc/nginx/sites/a")]));
        assert!(!sites.matches(edit, &[OsString::from("/etc/nginx/sites/a/b")]));
        for bad in [
            "sudoedit",
            "sudoedit motd",
            "sudoedit /etc/../etc/shadow",
            "sudoedit /etc//motd",
            "sudoedit /a /b",
        ] {
            assert!(line(bad).is_err(), "{bad:?} accepted");
        }
        assert!(!line("/usr/bin/vi")
            .unwrap()
            .matches(edit, &[OsString::from("/etc/motd")]));
    }

    fn table(path: &str, args: Option<&[&str]>) -> Result<CommandPattern, String> {
        let args = args.map(|a| a.iter().map(|s| s.to_string()).collect());
        let raw = RawCommandTable {
            path: path.to_owned(),
            args,
            sha256: None,
        };
        CommandPattern::parse(&RawCommand::Table(raw))
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn args_of(pattern: &CommandPattern) -> &Args {
        match pattern {
            CommandPattern::Program(program) => &program.args,
            CommandPattern::All => panic!("expected a program"),
        }
    }

    #[test]
    fn parses_all_and_rejects_arguments_to_it() {
        assert_eq!(line("ALL"), Ok(CommandPattern::All));
        assert_eq!(line("  ALL "), Ok(CommandPattern::All));
        assert!(line("ALL x").is_err());
    }

    #[test]
    fn parses_argument_forms() {
        assert_eq!(args_of(&line("/usr/bin/id").unwrap()), &Args::Any);
        assert_eq!(
            args_of(&line("/usr/bin/whoami \"\"").unwrap()),
            &Args::Exactly(vec![])
        );
        assert_eq!(
            args_of(&line("/usr/bin/systemctl  restart\tnginx").unwrap()),
            &Args::Exactly(vec!["restart".into(), "nginx".into()])
        );
    }

    #[test]
    fn keeps_the_written_text_and_path() {
        let CommandPattern::Program(program) = line("/usr/bin/id -u").unwrap() else {
            panic!("expected a program");
        };
        assert_eq!(program.text, "/usr/bin/id -u");
        assert_eq!(program.path, Path::new("/usr/bin/id"));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "",
            "   ",
            "usr/bin/id",
            "./id",
            "id -u",
            "/bin/echo \"a b\"",
            "/bin/x a \"\"",
        ] {
            assert!(line(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parses_the_table_form() {
        let pattern = table("/usr/bin/x", Some(&["a b", "c"])).unwrap();
        assert_eq!(
            args_of(&pattern),
            &Args::Exactly(vec!["a b".into(), "c".into()])
        );
        assert_eq!(args_of(&table("/usr/bin/x", None).unwrap()), &Args::Any);
        assert_eq!(
            args_of(&table("/usr/bin/x", Some(&[])).unwrap()),
            &Args::Exactly(vec![])
        );
        assert!(table("x", None).is_err());
        assert!(table("ALL", None).is_err());
        assert!(table("/bin/a\0b", None).is_err());
    }

    #[test]
    fn matches_path_and_arguments_exactly() {
        let any = line("/usr/bin/id").unwrap();
        let exact = line("/usr/bin/systemctl restart nginx").unwrap();
        let none = line("/usr/bin/whoami \"\"").unwrap();
        assert!(any.matches(Path::new("/usr/bin/id"), &os(&["-u", "x"])));
        assert!(!any.matches(Path::new("/usr/bin/idx"), &[]));
        assert!(exact.matches(Path::new("/usr/bin/systemctl"), &os(&["restart", "nginx"])));
        assert!(!exact.matches(Path::new("/usr/bin/systemctl"), &os(&["restart"])));
        assert!(!exact.matches(
            Path::new("/usr/bin/systemctl"),
            &os(&["restart", "nginx", "x"])
        ));
        assert!(!exact.matches(Path::new("/usr/bin/systemctl"), &os(&["stop", "nginx"])));
        assert!(none.matches(Path::new("/usr/bin/whoami"), &[]));
        assert!(!none.matches(Path::new("/usr/bin/whoami"), &os(&[""])));
        assert!(CommandPattern::All.matches(Path::new("/anything"), &os(&["x"])));
    }

    #[test]
    fn non_utf8_arguments_compare_as_bytes() {
        let exact = line("/usr/bin/printf abc").unwrap();
        let bad = vec![OsString::from_vec(vec![0xff, 0xfe])];
        assert!(!exact.matches(Path::new("/usr/bin/printf"), &bad));
        assert!(line("/usr/bin/printf")
            .unwrap()
            .matches(Path::new("/usr/bin/printf"), &bad));
    }

    #[test]
    fn argument_globs_match_per_argument() {
        let pattern = line("/usr/bin/systemctl restart *.service").unwrap();
        let systemctl = Path::new("/usr/bin/systemctl");
        assert!(pattern.matches(systemctl, &os(&["restart", "nginx.service"])));
        assert!(!pattern.matches(systemctl, &os(&["restart", "nginx.socket"])));
        assert!(
            !pattern.matches(systemctl, &os(&["restart", "a.service", "b.service"])),
            "one pattern, one argument"
        );
        assert!(!pattern.matches(systemctl, &os(&["restart"])));
        assert!(
            pattern.matches(systemctl, &os(&["restart", "x y.service"])),
            "a `*` matches spaces inside an argument"
        );
        let star = line("/usr/bin/cat /var/log/*").unwrap();
        assert!(star.matches(Path::new("/usr/bin/cat"), &os(&["/var/log/syslog"])));
        assert!(
            star.matches(
                Path::new("/usr/bin/cat"),
                &os(&["/var/log/../../etc/shadow"])
            ),
            "the documented danger: `*` matches `..`"
        );
        assert!(!star.matches(
            Path::new("/usr/bin/cat"),
            &os(&["/var/log/x", "/etc/shadow"])
        ));
        let escaped = line("/bin/echo \\*").unwrap();
        assert!(escaped.matches(Path::new("/bin/echo"), &os(&["*"])));
        assert!(!escaped.matches(Path::new("/bin/echo"), &os(&["x"])));
        let table = table("/bin/x", Some(&["a *"])).unwrap();
        assert!(table.matches(Path::new("/bin/x"), &os(&["a b"])));
    }

    #[test]
    fn path_globs_stay_in_one_directory() {
        let pattern = line("/usr/bin/*").unwrap();
        assert!(pattern.matches(Path::new("/usr/bin/id"), &os(&["-u"])));
        assert!(!pattern.matches(Path::new("/usr/bin/x/id"), &[]));
        assert!(!pattern.matches(Path::new("/usr/sbin/id"), &[]));
        let root = line("/*").unwrap();
        assert!(root.matches(Path::new("/x"), &[]));
        assert!(!root.matches(Path::new("/x/y"), &[]));
    }

    const BASH: FileId = FileId { dev: 1, ino: 1 };
    const ID: FileId = FileId { dev: 1, ino: 2 };
    const OWN: FileId = FileId { dev: 2, ino: 7 };

    /// A file system where rbash is a link to bash and /bin is /usr/bin.
    fn identify(path: &Path) -> Option<FileId> {
        match path.to_str()? {
            "/usr/bin/bash" | "/usr/bin/rbash" | "/bin/bash" | "/bin/rbash" => Some(BASH),
            "/usr/bin/id" | "/bin/id" => Some(ID),
            _ => None,
        }
    }

    fn allows(entry: &str, path: &str, real: &str, id: FileId, effect: Effect) -> bool {
        let subject = Subject {
            path: Path::new(path),
            executable: Some(Executable {
                id,
                real_path: Path::new(real),
                identify,
            }),
        };
        line(entry).unwrap().check(&subject, &[], None, effect) == CommandMatch::Match
    }

    #[test]
    fn allow_entries_need_the_name_and_the_file() {
        use Effect::Allow;
        let bash = "/usr/bin/bash";
        assert!(allows(
            "/usr/bin/rbash",
            "/usr/bin/rbash",
            bash,
            BASH,
            Allow
        ));
        assert!(allows("/usr/bin/rbash", "/bin/rbash", bash, BASH, Allow));
        assert!(
            !allows("/usr/bin/rbash", bash, bash, BASH, Allow),
            "another name of the same file"
        );
        assert!(
            !allows("/usr/bin/id", "/home/u/id", bash, BASH, Allow),
            "a link named like the rule to another file"
        );
        assert!(
            !allows("/usr/bin/id", "/usr/bin/id", "/home/u/id", OWN, Allow),
            "the rule's path leads to another file than the one opened"
        );
        assert!(allows("/usr/bin/*", "/bin/id", "/usr/bin/id", ID, Allow));
        assert!(
            !allows("/usr/bin/*", "/home/u/id", "/usr/bin/bash", BASH, Allow),
            "a pattern match under another name"
        );
        assert!(
            !allows("/usr/bin/*", "/usr/bin/id", "/home/u/id", OWN, Allow),
            "a pattern match that is not the opened file"
        );
    }

    #[test]
    fn deny_entries_name_the_file_under_any_name() {
        use Effect::Deny;
        assert!(allows(
            "/usr/bin/rbash",
            "/usr/bin/bash",
            "/usr/bin/bash",
            BASH,
            Deny
        ));
        assert!(allows(
            "/usr/bin/bash",
            "/home/u/sh",
            "/usr/bin/bash",
            BASH,
            Deny
        ));
        assert!(allows(
            "/usr/bin/id",
            "/usr/bin/id",
            "/home/u/id",
            OWN,
            Deny
        ));
        assert!(allows(
            "/usr/bin/b*",
            "/home/u/sh",
            "/usr/bin/bash",
            BASH,
            Deny
        ));
        assert!(!allows(
            "/usr/bin/id",
            "/home/u/sh",
            "/usr/bin/bash",
            BASH,
            Deny
        ));
    }

    #[test]
    fn digests_must_be_given_and_equal() {
        let hex = "0f".repeat(32);
        let pinned = line(&format!("sha256:{hex} /usr/bin/x")).unwrap();
        let subject = |path| Subject {
            path: Path::new(path),
            executable: None,
        };
        let x = &subject("/usr/bin/x");
        let check = |command, digest| pinned.check(command, &[], digest, Effect::Allow);
        assert_eq!(check(x, Some(&[0x0f; 32])), CommandMatch::Match);
        assert_eq!(check(x, Some(&[0; 32])), CommandMatch::DigestMismatch);
        assert_eq!(check(x, None), CommandMatch::DigestMismatch);
        assert!(!pinned.matches(x.path, &[]));
        assert_eq!(
            check(&subject("/usr/bin/y"), Some(&[0x0f; 32])),
            CommandMatch::Mismatch
        );
        assert!(pinned.needs_digest(x));
        assert!(!pinned.needs_digest(&subject("/usr/bin/y")));
        assert!(!line("/usr/bin/x").unwrap().needs_digest(x));
        assert!(!CommandPattern::All.needs_digest(x));
    }
}
