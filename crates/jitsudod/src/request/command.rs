//! Turning what the caller typed into the command line to execute: `-s`/`-i`
//! shells and sudo's escaping of their `-c` argument. (Finding and opening
//! the program is [`crate::executable`]'s job.)

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

/// The command line after `-s`/`-i` were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// What to look up: the shell, or the first word typed.
    pub program: OsString,
    /// `argv[0]` for the exec (`-bash` for a login shell).
    pub argv0: OsString,
    /// The remaining arguments.
    pub args: Vec<OsString>,
}

/// How `-s` and `-i` find their shell.
pub struct ShellChoice<'a> {
    /// `-i`: the target's login shell.
    pub login: Option<&'a Path>,
    /// `-s`: `$SHELL` of the caller, else the caller's passwd shell.
    pub shell: Option<&'a OsStr>,
}

/// Builds the command line for a direct command or a shell.
pub fn command_line(argv: Vec<OsString>, shell: ShellChoice<'_>) -> Option<CommandLine> {
    let (program, login) = match (shell.login, shell.shell) {
        (Some(login), _) => (login.as_os_str().to_owned(), true),
        (None, Some(shell)) => (shell.to_owned(), false),
        (None, None) => {
            let mut words = argv.into_iter();
            let program = words.next()?;
            return Some(CommandLine {
                argv0: program.clone(),
                program,
                args: words.collect(),
            });
        }
    };
    let argv0 = if login {
        login_argv0(&program)
    } else {
        program.clone()
    };
    let args = if argv.is_empty() {
        Vec::new()
    } else {
        vec![OsString::from("-c"), escape_for_shell(&argv)]
    };
    Some(CommandLine {
        program,
        argv0,
        args,
    })
}

/// `-bash` for `/bin/bash`.
fn login_argv0(shell: &OsStr) -> OsString {
    let base = Path::new(shell)
        .file_name()
        .unwrap_or(shell)
        .as_bytes()
        .to_vec();
    let mut argv0 = vec![b'-'];
    argv0.extend(base);
    OsString::from_vec(argv0)
}

/// Joins arguments for `sh -c` as sudo does: every byte that is not
/// alphanumeric, `_`, `-` or `$` is escaped with a backslash.
pub fn escape_for_shell(args: &[OsString]) -> OsString {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        for &b in arg.as_bytes() {
            if !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$')) {
                out.push(b'\\');
            }
            out.push(b);
        }
    }
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<OsString> {
        w.iter().map(OsString::from).collect()
    }

    #[test]
    fn direct_command() {
        let line = command_line(
            words(&["id", "-u"]),
            ShellChoice {
                login: None,
                shell: None,
            },
        )
        .unwrap();
        assert_eq!(line.program, "id");
        assert_eq!(line.argv0, "id");
        assert_eq!(line.args, words(&["-u"]));
    }

    #[test]
    fn login_shell_escapes_like_sudo() {
        let line = command_line(
            words(&["echo", "a b", "$HOME", "x;y"]),
            ShellChoice {
                login: Some(Path::new("/bin/bash")),
                shell: None,
            },
        )
        .unwrap();
        assert_eq!(line.program, "/bin/bash");
        assert_eq!(line.argv0, "-bash");
        assert_eq!(line.args, words(&["-c", "echo a\\ b $HOME x\\;y"]));
    }

    #[test]
    fn plain_shell_without_args() {
        let line = command_line(
            vec![],
            ShellChoice {
                login: None,
                shell: Some(OsStr::new("/bin/sh")),
            },
        )
        .unwrap();
        assert_eq!(line.argv0, "/bin/sh");
        assert!(line.args.is_empty());
    }
}
