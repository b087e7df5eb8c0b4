//! Command entries (`ALL`, `/path`, `/path args…`, `/path ""`, or the table
//! form) and how they match a command line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::schema::{RawCommand, RawCommandTable};

/// One entry of a rule's `commands` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandPattern {
    /// `ALL`: any command with any arguments.
    All,
    /// A specific program.
    Program(Program),
}

/// A program and the arguments it may be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The entry as written in the policy, for display.
    pub text: String,
    /// The program's path as written in the policy.
    pub path: PathBuf,
    /// The path compared with requests: `path` until
    /// [`crate::Policy::resolve_command_paths`] replaces it with its canonical form.
    pub resolved: PathBuf,
    /// The arguments allowed.
    pub args: Args,
}

/// The arguments a program entry allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// A bare path: any arguments.
    Any,
    /// Exactly these arguments, in order; empty means none at all.
    Exactly(Vec<String>),
}

impl CommandPattern {
    /// Parses either form of a `commands` entry.
    pub(crate) fn parse(raw: &RawCommand) -> Result<CommandPattern, String> {
        match raw {
            RawCommand::Line(line) => parse_line(line),
            RawCommand::Table(table) => parse_table(table),
        }
    }

    /// Whether `command` run with `args` is allowed by this entry.
    pub fn matches(&self, command: &Path, args: &[OsString]) -> bool {
        match self {
            CommandPattern::All => true,
            CommandPattern::Program(program) => {
                program.resolved == command && program.args.matches(args)
            }
        }
    }

    /// Replaces the path compared with requests by `resolve(path as written)`.
    pub(crate) fn resolve_path(&mut self, resolve: &mut impl FnMut(&Path) -> PathBuf) {
        if let CommandPattern::Program(program) = self {
            program.resolved = resolve(&program.path);
        }
    }
}

impl Args {
    /// Whether the request's arguments are allowed, compared byte for byte.
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
        }
    }
}

/// Parses the sudoers-style string form.
fn parse_line(line: &str) -> Result<CommandPattern, String> {
    let mut words = line.split_ascii_whitespace();
    let path = words.next().ok_or("empty command")?;
    let args: Vec<&str> = words.collect();
    if path == "ALL" {
        if !args.is_empty() {
            return Err("`ALL` takes no arguments".to_owned());
        }
        return Ok(CommandPattern::All);
    }
    let args = match args.as_slice() {
        [] => Args::Any,
        [only] if *only == "\"\"" => Args::Exactly(Vec::new()),
        words => Args::Exactly(unquoted_words(words)?),
    };
    program(line, path, args)
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

/// Parses the `{ path, args }` table form.
fn parse_table(table: &RawCommandTable) -> Result<CommandPattern, String> {
    let args = match &table.args {
        None => Args::Any,
        Some(args) => Args::Exactly(args.clone()),
    };
    let text = match &table.args {
        None => table.path.clone(),
        Some(args) => format!("{} {:?}", table.path, args),
    };
    program(&text, &table.path, args)
}

/// Builds a program entry after checking its path is absolute.
fn program(text: &str, path: &str, args: Args) -> Result<CommandPattern, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "command path `{path}` must be absolute (start with `/`), or `ALL`"
        ));
    }
    if path.contains('\0') {
        return Err("command path contains a NUL character".to_owned());
    }
    Ok(CommandPattern::Program(Program {
        text: text.to_owned(),
        path: PathBuf::from(path),
        resolved: PathBuf::from(path),
        args,
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
    use std::os::unix::ffi::OsStringExt;

    fn line(text: &str) -> Result<CommandPattern, String> {
        CommandPattern::parse(&RawCommand::Line(text.to_owned()))
    }

    fn table(path: &str, args: Option<&[&str]>) -> Result<CommandPattern, String> {
        let args = args.map(|a| a.iter().map(|s| s.to_string()).collect());
        let raw = RawCommandTable {
            path: path.to_owned(),
            args,
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
        assert_eq!(program.resolved, Path::new("/usr/bin/id"));
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
    fn resolution_changes_the_compared_path_only() {
        let mut pattern = line("/bin/id").unwrap();
        pattern.resolve_path(&mut |p: &Path| Path::new("/usr").join(p.strip_prefix("/").unwrap()));
        assert!(pattern.matches(Path::new("/usr/bin/id"), &[]));
        assert!(!pattern.matches(Path::new("/bin/id"), &[]));
        let CommandPattern::Program(program) = pattern else {
            panic!("expected a program")
        };
        assert_eq!(program.text, "/bin/id");
    }
}
