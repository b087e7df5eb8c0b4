//! The sudo command line: parsing `argv` into an [`Invocation`].

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Parser};
use jitsudo_proto::{PreserveEnv, ShellMode};

/// The usage synopsis, printed for `-h` and on every usage error.
pub const USAGE: &str = "\
usage: jitsudo -h | -K | -k | -V
usage: jitsudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]
usage: jitsudo -l [-ABkNnS] [-g group] [-h host] [-p prompt] [-U user] [-u user]
            [command [arg ...]]
usage: jitsudo [-ABbEHkNnPS] [-C num] [-D directory] [-g group] [-h host] [-p
            prompt] [-T timeout] [-u user] [VAR=value] [-i | -s] [command [arg
            ...]]
";

/// What `-h` prints after the synopsis.
const OPTIONS: &str = "\
Options:
  -A, --askpass                 use a helper program for password prompting
  -b, --background              run command in the background
  -B, --bell                    ring bell when prompting
  -C, --close-from=num          close all file descriptors >= num
  -D, --chdir=directory         change the working directory before running command
  -E, --preserve-env            preserve user environment when running command
      --preserve-env=list       preserve specific environment variables
  -g, --group=group             run command as the specified group name or ID
  -H, --set-home                set HOME variable to target user's home dir
  -h, --help                    display help message and exit
  -h, --host=host               accepted for this host only (as sudo without a remote plugin)
  -i, --login                   run login shell as the target user; a command may also be specified
  -K, --remove-timestamp        remove timestamp file completely
  -k, --reset-timestamp         invalidate timestamp file
  -l, --list                    list user's privileges or check a specific command; use twice for longer format
  -N, --no-update               do not update the cached credentials after authenticating
  -n, --non-interactive         non-interactive mode, no prompts are used
  -P, --preserve-groups         preserve group vector instead of setting to target's
  -p, --prompt=prompt           use the specified password prompt
  -S, --stdin                   read password from standard input
  -s, --shell                   run shell as the target user; a command may also be specified
  -T, --command-timeout=timeout terminate command after the specified time limit
  -U, --other-user=user         in list mode, display privileges for user
  -u, --user=user               run command as specified user name or ID
  -V, --version                 display version information and exit
  -v, --validate                update user's timestamp without running a command
  --                            stop processing command line arguments

Not supported (refused with the reason): -e/--edit and sudoedit, -R/--chroot,
-r/--role, -t/--type.
";

#[derive(Parser, Debug)]
#[command(
    name = "jitsudo",
    disable_help_flag = true,
    disable_version_flag = true,
    allow_external_subcommands = false
)]
pub(crate) struct Args {
    #[arg(short = 'u', long = "user", value_parser = clap::value_parser!(OsString))]
    user: Option<OsString>,
    #[arg(short = 'g', long = "group", value_parser = clap::value_parser!(OsString))]
    group: Option<OsString>,
    #[arg(short = 'i', long = "login", action = ArgAction::SetTrue)]
    login: bool,
    #[arg(short = 's', long = "shell", action = ArgAction::SetTrue)]
    shell: bool,
    #[arg(short = 'E', action = ArgAction::SetTrue)]
    preserve_all: bool,
    #[arg(long = "preserve-env", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = clap::value_parser!(OsString))]
    preserve_env: Option<OsString>,
    #[arg(short = 'n', long = "non-interactive", action = ArgAction::SetTrue)]
    non_interactive: bool,
    #[arg(short = 'b', long = "background", action = ArgAction::SetTrue)]
    background: bool,
    #[arg(short = 'p', long = "prompt", value_parser = clap::value_parser!(OsString))]
    prompt: Option<OsString>,
    #[arg(short = 'S', long = "stdin", action = ArgAction::SetTrue)]
    stdin: bool,
    #[arg(short = 'D', long = "chdir", value_parser = clap::value_parser!(OsString))]
    chdir: Option<OsString>,
    #[arg(short = 'k', long = "reset-timestamp", action = ArgAction::SetTrue)]
    reset: bool,
    #[arg(short = 'K', long = "remove-timestamp", action = ArgAction::SetTrue)]
    remove: bool,
    #[arg(short = 'v', long = "validate", action = ArgAction::SetTrue)]
    validate: bool,
    #[arg(short = 'l', long = "list", action = ArgAction::Count)]
    list: u8,
    #[arg(short = 'U', long = "other-user", value_parser = clap::value_parser!(OsString))]
    other_user: Option<OsString>,
    /// `-h` alone is help; `-h HOST`/`--host=HOST` names a host.
    #[arg(short = 'h', num_args = 0..=1, default_missing_value = "",
          value_parser = clap::value_parser!(OsString))]
    help_or_host: Option<OsString>,
    #[arg(long = "host", value_parser = clap::value_parser!(OsString))]
    host: Option<OsString>,
    #[arg(long = "help", action = ArgAction::SetTrue)]
    help: bool,
    #[arg(short = 'A', long = "askpass", action = ArgAction::SetTrue)]
    askpass: bool,
    #[arg(short = 'B', long = "bell", action = ArgAction::SetTrue)]
    bell: bool,
    #[arg(short = 'H', long = "set-home", action = ArgAction::SetTrue)]
    set_home: bool,
    #[arg(short = 'P', long = "preserve-groups", action = ArgAction::SetTrue)]
    preserve_groups: bool,
    #[arg(short = 'N', long = "no-update", action = ArgAction::SetTrue)]
    no_update: bool,
    #[arg(short = 'T', long = "command-timeout", value_parser = clap::value_parser!(OsString))]
    command_timeout: Option<OsString>,
    #[arg(short = 'C', long = "close-from", value_parser = clap::value_parser!(OsString))]
    close_from: Option<OsString>,
    #[arg(short = 'e', long = "edit", action = ArgAction::SetTrue)]
    edit: bool,
    #[arg(short = 'R', long = "chroot", value_parser = clap::value_parser!(OsString))]
    chroot: Option<OsString>,
    #[arg(short = 'r', long = "role", value_parser = clap::value_parser!(OsString))]
    role: Option<OsString>,
    #[arg(short = 't', long = "type", value_parser = clap::value_parser!(OsString))]
    selinux_type: Option<OsString>,
    #[arg(short = 'V', long = "version", action = ArgAction::SetTrue)]
    version: bool,
    #[arg(trailing_var_arg = true, num_args = 0..,
          value_parser = clap::value_parser!(OsString))]
    command: Vec<OsString>,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// `-h`: print help and exit 0.
    Help,
    /// `-V`: print the version and exit 0.
    Version,
    /// Something for the daemon.
    Request(Box<RequestArgs>),
    /// An option jitsudo refuses, with the reason: print it and exit 1.
    Refuse(String),
}

/// What the caller wants besides running a command (one protocol verb each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the command (or a shell).
    Run,
    /// `-l [command]`.
    List,
    /// `-v`.
    Validate,
    /// `-k` without a command.
    Invalidate,
    /// `-K`.
    Remove,
    /// `-e` / `sudoedit`: edit the files named by the command words.
    Edit,
}

/// The options that travel to the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestArgs {
    /// What to do.
    pub action: Action,
    /// `-u`.
    pub user: Option<OsString>,
    /// `-g`.
    pub group: Option<OsString>,
    /// `-s` / `-i`.
    pub shell: ShellMode,
    /// `-E` / `--preserve-env`.
    pub preserve_env: PreserveEnv,
    /// `-n`.
    pub non_interactive: bool,
    /// `-b`.
    pub background: bool,
    /// `-D`.
    pub chdir: Option<OsString>,
    /// `-k` together with a command.
    pub reset_timestamp: bool,
    /// `-p`.
    pub prompt: Option<OsString>,
    /// `-S`.
    pub stdin_password: bool,
    /// `-U`: whose privileges `-l` lists.
    pub list_user: Option<OsString>,
    /// `-ll`.
    pub list_long: bool,
    /// `-A`: passwords come from the `SUDO_ASKPASS` program.
    pub askpass: bool,
    /// `-B`: ring the bell when prompting on the terminal.
    pub bell: bool,
    /// `-H`.
    pub set_home: bool,
    /// `-P`.
    pub preserve_groups: bool,
    /// `-N`.
    pub no_update: bool,
    /// `-T`, in seconds.
    pub command_timeout: Option<u64>,
    /// `-C`.
    pub close_from: Option<u32>,
    /// `VAR=value` words before the command.
    pub assignments: Vec<OsString>,
    /// The command and its arguments.
    pub command: Vec<OsString>,
}

/// Why the command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    /// A line to print before the usage synopsis, if any.
    pub message: Option<String>,
    /// Whether the line is prefixed with `argv[0]` as invoked (getopt's
    /// convention for option errors) rather than with `jitsudo`.
    pub from_getopt: bool,
    /// Whether the usage synopsis follows the line.
    pub with_usage: bool,
}

impl UsageError {
    fn bare() -> Self {
        UsageError {
            message: None,
            from_getopt: false,
            with_usage: true,
        }
    }

    fn with(message: impl Into<String>) -> Self {
        UsageError {
            message: Some(message.into()),
            from_getopt: false,
            with_usage: true,
        }
    }

    /// An error told without the usage synopsis.
    fn plain(message: String) -> Self {
        UsageError {
            message: Some(message),
            from_getopt: false,
            with_usage: false,
        }
    }

    fn getopt(message: impl Into<String>) -> Self {
        UsageError {
            message: Some(message.into()),
            from_getopt: true,
            with_usage: true,
        }
    }
}

/// Full `-h` text.
pub fn help_text() -> String {
    format!(
        "jitsudo - execute a command as another user, decided by jitsudod\n\n{USAGE}\n{OPTIONS}"
    )
}

/// Why `-R` is refused.
const NO_CHROOT: &str = "the -R option is not supported: jitsudo does not change the root \
     directory (chroot)";

/// Why `-r` and `-t` are refused.
const NO_SELINUX: &str = "the -r and -t options are not supported: jitsudo does not set \
     SELinux roles or types";

/// Parses `argv` (including `argv[0]`) on this host (`host`, for `-h`).
pub fn parse(argv: Vec<OsString>, host: &str) -> Result<Invocation, UsageError> {
    let edit_name = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|name| name == "sudoedit");
    let last = argv.last().map(|a| a.to_string_lossy().into_owned());
    let mut args = Args::try_parse_from(argv).map_err(|e| clap_error(e, last.as_deref()))?;
    args.edit |= edit_name;
    let host_given = args
        .host
        .as_ref()
        .or(args.help_or_host.as_ref().filter(|h| !h.is_empty()));
    if args.help || args.help_or_host.as_ref().is_some_and(|h| h.is_empty()) {
        return Ok(Invocation::Help);
    }
    if args.version {
        return Ok(Invocation::Version);
    }
    if let Some(refusal) = refusal(&args, host_given, host) {
        return Ok(Invocation::Refuse(refusal));
    }
    into_request(args).map(|r| Invocation::Request(Box::new(r)))
}

/// The reason to refuse an option jitsudo does not support, if any.
fn refusal(args: &Args, host_given: Option<&OsString>, host: &str) -> Option<String> {
    if args.chroot.is_some() {
        return Some(NO_CHROOT.into());
    }
    if args.role.is_some() || args.selinux_type.is_some() {
        return Some(NO_SELINUX.into());
    }
    let short = host.split('.').next().unwrap_or(host);
    match host_given {
        Some(h) if h == host || h == short => None,
        Some(_) if args.list > 0 => Some(
            "listing privileges for another host is not supported: each host's jitsudod \
             answers for that host only"
                .into(),
        ),
        Some(_) => Some("a remote host may only be specified when listing privileges.".into()),
        None => None,
    }
}

/// sudo's timeout syntax: seconds, or numbers each followed by `d`, `h`,
/// `m` or `s` (`1h30m`); at most a year.
fn parse_timeout(text: &OsString) -> Result<u64, String> {
    let invalid = || format!("{}: invalid timeout value", text.to_string_lossy());
    let s = text.to_str().ok_or_else(invalid)?;
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_TIMEOUT)
            .ok_or_else(invalid);
    }
    let (mut total, mut number) = (0u64, None::<u64>);
    for b in s.bytes() {
        let unit = match b {
            b'0'..=b'9' => {
                let digit = u64::from(b - b'0');
                number = Some(
                    number
                        .unwrap_or(0)
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(digit))
                        .ok_or_else(invalid)?,
                );
                continue;
            }
            b'd' | b'D' => 86_400,
            b'h' | b'H' => 3_600,
            b'm' | b'M' => 60,
            b's' | b'S' => 1,
            _ => return Err(invalid()),
        };
        let n = number.take().ok_or_else(invalid)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(invalid)?;
    }
    if number.is_some() || s.is_empty() || total > MAX_TIMEOUT {
        return Err(invalid());
    }
    Ok(total)
}

/// The longest `-T` accepted: a year.
const MAX_TIMEOUT: u64 = 366 * 86_400;

/// `-C num`: a descriptor number of at least 3.
fn parse_close_from(text: &OsString) -> Result<u32, UsageError> {
    text.to_str()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|n| *n >= 3)
        .ok_or_else(|| {
            UsageError::with("the argument to -C must be a number greater than or equal to 3")
        })
}

fn into_request(args: Args) -> Result<RequestArgs, UsageError> {
    if args.login && args.shell {
        return Err(UsageError::with(
            "you may not specify both the -i and -s options",
        ));
    }
    if args.login && (args.preserve_all || args.preserve_env.is_some()) {
        return Err(UsageError::with(
            "you may not specify both the -i and -E options",
        ));
    }
    if args.other_user.is_some() && args.list == 0 {
        return Err(UsageError::with(
            "the -U option may only be used with the -l option",
        ));
    }
    if args.askpass && args.stdin {
        return Err(UsageError::with(
            "the -A and -S options may not be used together",
        ));
    }
    let empty = |v: &Option<OsString>| v.as_ref().is_some_and(|v| v.is_empty());
    if empty(&args.user) || empty(&args.group) {
        return Err(UsageError::bare());
    }
    let action = action_of(&args)?;
    let command_timeout = match &args.command_timeout {
        Some(text) => Some(parse_timeout(text).map_err(UsageError::plain)?),
        None => None,
    };
    let close_from = args.close_from.as_ref().map(parse_close_from).transpose()?;
    let flags = args_flags(&args);
    // Files to edit are all words: `VAR=value` is a file name there.
    let (assignments, command) = if action == Action::Edit {
        (Vec::new(), args.command)
    } else {
        split_assignments(args.command)
    };
    check_needs_command(&flags, action, &assignments, &command)?;
    Ok(RequestArgs {
        shell: shell_mode(args.login, args.shell),
        preserve_env: preserve_env(args.preserve_all, args.preserve_env),
        // `-k` with a command or files: ignore cached credentials for them.
        reset_timestamp: args.reset && matches!(action, Action::Run | Action::Edit),
        action,
        user: args.user,
        group: args.group,
        non_interactive: args.non_interactive,
        background: args.background,
        chdir: args.chdir,
        prompt: args.prompt,
        stdin_password: args.stdin,
        list_user: args.other_user,
        list_long: args.list > 1,
        askpass: args.askpass,
        bell: args.bell,
        set_home: args.set_home,
        preserve_groups: args.preserve_groups,
        no_update: args.no_update,
        command_timeout,
        close_from,
        assignments,
        command,
    })
}

/// The flags that decide whether a command is required.
struct Flags {
    shell: bool,
    runs_something: bool,
}

fn args_flags(args: &Args) -> Flags {
    Flags {
        shell: args.login || args.shell,
        runs_something: args.user.is_some()
            || args.group.is_some()
            || args.preserve_all
            || args.preserve_env.is_some()
            || args.background
            || args.chdir.is_some()
            || args.non_interactive,
    }
}

fn action_of(args: &Args) -> Result<Action, UsageError> {
    let edit_with_shell = args.edit && (args.login || args.shell);
    let modes = [args.remove, args.validate, args.list > 0, args.edit]
        .iter()
        .filter(|m| **m)
        .count();
    if modes > 1 || edit_with_shell {
        return Err(UsageError::with(
            "Only one of the -e, -h, -i, -K, -l, -s, -v or -V options may be specified",
        ));
    }
    Ok(if args.edit {
        Action::Edit
    } else if args.remove {
        Action::Remove
    } else if args.validate {
        Action::Validate
    } else if args.list > 0 {
        Action::List
    } else if args.reset && args.command.is_empty() && !args.login && !args.shell {
        Action::Invalidate
    } else {
        Action::Run
    })
}

fn check_needs_command(
    flags: &Flags,
    action: Action,
    assignments: &[OsString],
    command: &[OsString],
) -> Result<(), UsageError> {
    match action {
        Action::Run if command.is_empty() && !flags.shell => Err(UsageError::bare()),
        Action::Edit if command.is_empty() => Err(UsageError::bare()),
        Action::Remove | Action::Validate if !command.is_empty() || !assignments.is_empty() => {
            Err(UsageError::bare())
        }
        Action::Invalidate if flags.runs_something || !assignments.is_empty() => {
            Err(UsageError::bare())
        }
        _ => Ok(()),
    }
}

fn shell_mode(login: bool, shell: bool) -> ShellMode {
    match (login, shell) {
        (true, _) => ShellMode::Login,
        (_, true) => ShellMode::Shell,
        _ => ShellMode::Direct,
    }
}

fn preserve_env(all: bool, list: Option<OsString>) -> PreserveEnv {
    match list {
        Some(list) if !list.is_empty() => PreserveEnv::List(
            list.as_bytes()
                .split(|b| *b == b',')
                .filter(|name| !name.is_empty())
                .map(|name| serde_bytes::ByteBuf::from(name.to_vec()))
                .collect(),
        ),
        Some(_) => PreserveEnv::All,
        None if all => PreserveEnv::All,
        None => PreserveEnv::None,
    }
}

/// Splits leading `VAR=value` words off the command, as sudo does.
fn split_assignments(words: Vec<OsString>) -> (Vec<OsString>, Vec<OsString>) {
    let split = words
        .iter()
        .position(|w| !is_assignment(w.as_bytes()))
        .unwrap_or(words.len());
    let mut assignments = words;
    let command = assignments.split_off(split);
    (assignments, command)
}

fn is_assignment(word: &[u8]) -> bool {
    matches!(word.iter().position(|b| *b == b'='), Some(i) if i > 0)
}

/// Words getopt's messages the way sudo's getopt_long does. `last` is the
/// final word of the command line: the option whose value is missing.
fn clap_error(err: clap::Error, last: Option<&str>) -> UsageError {
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let option = arg.split(' ').next().unwrap_or(&arg);
    let message = match err.kind() {
        ErrorKind::UnknownArgument if arg.starts_with("--") => {
            format!("unrecognized option '{arg}'")
        }
        ErrorKind::UnknownArgument => {
            format!("invalid option -- '{}'", arg.trim_start_matches('-'))
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals if !option.is_empty() => match last {
            Some(word) if word.starts_with("--") => {
                format!("option '{option}' requires an argument")
            }
            Some(word) if word.starts_with('-') => format!(
                "option requires an argument -- '{}'",
                word.chars().last().unwrap_or('?')
            ),
            _ => return UsageError::bare(),
        },
        _ => return UsageError::bare(),
    };
    UsageError::getopt(message)
}

/// Converts a word to the byte buffer sent on the wire.
pub fn wire(word: OsString) -> serde_bytes::ByteBuf {
    serde_bytes::ByteBuf::from(word.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Invocation, UsageError> {
        let mut argv = vec![OsString::from("jitsudo")];
        argv.extend(words.iter().map(OsString::from));
        parse(argv, "vm.example")
    }

    fn request(words: &[&str]) -> RequestArgs {
        match parse_words(words) {
            Ok(Invocation::Request(r)) => *r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn options_end_at_the_command() {
        let r = request(&["-u", "bob", "ls", "-l", "-u", "x"]);
        assert_eq!(r.user, Some("bob".into()));
        assert_eq!(r.command, vec!["ls", "-l", "-u", "x"]);
    }

    #[test]
    fn long_forms_with_equals_and_space() {
        assert_eq!(request(&["--user=bob", "id"]).user, Some("bob".into()));
        assert_eq!(request(&["--user", "bob", "id"]).user, Some("bob".into()));
        assert_eq!(request(&["--group=adm", "id"]).group, Some("adm".into()));
        assert_eq!(request(&["--chdir=/tmp", "pwd"]).chdir, Some("/tmp".into()));
    }

    #[test]
    fn combined_short_flags() {
        let r = request(&["-nbu", "#0", "true"]);
        assert!(r.non_interactive && r.background);
        assert_eq!(r.user, Some("#0".into()));
    }

    #[test]
    fn assignments_precede_the_command() {
        let r = request(&["FOO=bar", "A=", "env", "X=y"]);
        assert_eq!(r.assignments, vec!["FOO=bar", "A="]);
        assert_eq!(r.command, vec!["env", "X=y"]);
    }

    #[test]
    fn preserve_env_forms() {
        assert_eq!(request(&["-E", "id"]).preserve_env, PreserveEnv::All);
        assert_eq!(
            request(&["--preserve-env", "id"]).preserve_env,
            PreserveEnv::All
        );
        assert_eq!(
            request(&["--preserve-env=A,B", "id"]).preserve_env,
            PreserveEnv::List(vec![
                serde_bytes::ByteBuf::from(b"A".to_vec()),
                serde_bytes::ByteBuf::from(b"B".to_vec())
            ])
        );
    }

    #[test]
    fn usage_errors() {
        assert_eq!(parse_words(&[]), Err(UsageError::bare()));
        assert_eq!(parse_words(&["-u", "root"]), Err(UsageError::bare()));
        assert_eq!(parse_words(&["-n"]), Err(UsageError::bare()));
        assert_eq!(parse_words(&["-K", "id"]), Err(UsageError::bare()));
        assert_eq!(
            parse_words(&["-z", "id"]),
            Err(UsageError::getopt("invalid option -- 'z'"))
        );
        assert_eq!(
            parse_words(&["--bogus", "id"]),
            Err(UsageError::getopt("unrecognized option '--bogus'"))
        );
        assert_eq!(
            parse_words(&["-u"]),
            Err(UsageError::getopt("option requires an argument -- 'u'"))
        );
        assert_eq!(parse_words(&["-u", "", "id"]), Err(UsageError::bare()));
        assert!(parse_words(&["-i", "-s"]).is_err());
        assert!(parse_words(&["-i", "-E"]).is_err());
        assert!(parse_words(&["-U", "bob", "id"]).is_err());
        assert_eq!(request(&["-l", "-U", "bob"]).list_user, Some("bob".into()));
    }

    #[test]
    fn actions() {
        assert_eq!(request(&["-k"]).action, Action::Invalidate);
        assert_eq!(request(&["-K"]).action, Action::Remove);
        assert_eq!(request(&["-v"]).action, Action::Validate);
        assert_eq!(request(&["-l"]).action, Action::List);
        let r = request(&["-k", "id"]);
        assert_eq!(r.action, Action::Run);
        assert!(r.reset_timestamp);
        assert_eq!(request(&["-s"]).shell, ShellMode::Shell);
        assert_eq!(request(&["-i", "echo", "x"]).shell, ShellMode::Login);
        assert_eq!(parse_words(&["-h"]), Ok(Invocation::Help));
        assert_eq!(parse_words(&["-V"]), Ok(Invocation::Version));
    }

    #[test]
    fn sudo_options_are_parsed() {
        let r = request(&["-ABHNP", "-T", "1h30m", "-C", "5", "id"]);
        assert!(r.askpass && r.bell && r.set_home && r.no_update && r.preserve_groups);
        assert_eq!(r.command_timeout, Some(5400));
        assert_eq!(r.close_from, Some(5));
        assert_eq!(
            request(&["--command-timeout=90", "id"]).command_timeout,
            Some(90)
        );
        assert!(request(&["-ll"]).list_long);
        assert!(!request(&["-l"]).list_long);
        assert_eq!(
            parse_words(&["-C", "2", "id"]),
            Err(UsageError::with(
                "the argument to -C must be a number greater than or equal to 3"
            ))
        );
        for bad in ["abc", "5x", "m", "1h5", ""] {
            assert!(parse_words(&["-T", bad, "id"]).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn host_option_and_help() {
        assert_eq!(parse_words(&["-h"]), Ok(Invocation::Help));
        assert_eq!(parse_words(&["--help"]), Ok(Invocation::Help));
        assert!(matches!(
            parse_words(&["-h", "vm", "id"]),
            Ok(Invocation::Request(_))
        ));
        assert!(matches!(
            parse_words(&["--host=vm.example", "id"]),
            Ok(Invocation::Request(_))
        ));
        assert_eq!(
            parse_words(&["-h", "other", "id"]),
            Ok(Invocation::Refuse(
                "a remote host may only be specified when listing privileges.".into()
            ))
        );
        assert!(matches!(
            parse_words(&["-l", "-h", "other"]),
            Ok(Invocation::Refuse(_))
        ));
    }

    #[test]
    fn unsupported_options_are_refused_with_a_reason() {
        assert_eq!(
            parse_words(&["-R", "/", "id"]),
            Ok(Invocation::Refuse(NO_CHROOT.into()))
        );
        assert_eq!(
            parse_words(&["-r", "x", "id"]),
            Ok(Invocation::Refuse(NO_SELINUX.into()))
        );
        assert_eq!(
            parse_words(&["-t", "x", "id"]),
            Ok(Invocation::Refuse(NO_SELINUX.into()))
        );
    }

    #[test]
    fn edit_mode_from_the_option_or_the_name() {
        let r = request(&["-e", "-u", "bob", "A=b", "/etc/motd"]);
        assert_eq!(r.action, Action::Edit);
        assert!(!r.reset_timestamp);
        assert!(request(&["-k", "-e", "/etc/motd"]).reset_timestamp);
        assert_eq!(r.command, vec!["A=b", "/etc/motd"]);
        let argv = vec![
            OsString::from("/usr/local/bin/sudoedit"),
            OsString::from("/etc/shadow"),
        ];
        let Ok(Invocation::Request(r)) = parse(argv, "vm") else {
            panic!("sudoedit not parsed")
        };
        assert_eq!(r.action, Action::Edit);
        assert_eq!(parse_words(&["-e"]), Err(UsageError::bare()));
        assert!(parse_words(&["-e", "-l", "x"]).is_err());
        assert!(parse_words(&["-e", "-s", "x"]).is_err());
    }

    #[test]
    fn non_utf8_words_survive() {
        use std::os::unix::ffi::OsStringExt;
        let argv = vec![
            OsString::from("jitsudo"),
            OsString::from_vec(b"V=\xff".to_vec()),
            OsString::from("printf"),
            OsString::from_vec(b"\xfe\x00x".to_vec()),
        ];
        let Ok(Invocation::Request(r)) = parse(argv, "vm") else {
            panic!("parse failed")
        };
        assert_eq!(r.assignments[0].as_bytes(), b"V=\xff");
        assert_eq!(r.command[1].as_bytes(), b"\xfe\x00x");
    }
}
