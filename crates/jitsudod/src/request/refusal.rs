//! Refusals in sudo's words: one type for every way a request is refused,
//! and how each is told to the caller.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use jitsudo_proto::{Exit, Failure, PreserveEnv, RunRequest, ServerMessage};

use super::words::{os, split_env};

/// A refused request.
pub enum Refusal<'a> {
    /// No rule names the caller (`run`).
    NotInPolicy {
        /// The caller's name.
        user: &'a [u8],
    },
    /// The caller has no rule at all (`-l`, `-v`).
    MayNotRun {
        /// The caller's name.
        user: &'a [u8],
        /// This host.
        host: &'a str,
    },
    /// No rule allows this command line as this target.
    NotAllowed {
        /// The caller's name.
        user: &'a [u8],
        /// The command as logged.
        command: &'a [u8],
        /// Its arguments.
        args: &'a [OsString],
        /// The target user and group.
        target: (&'a [u8], Option<&'a [u8]>),
        /// This host.
        host: &'a str,
    },
    /// `-D` is not allowed with this command.
    Chdir {
        /// The command as logged.
        command: &'a [u8],
    },
    /// `-E`, `--preserve-env` or `VAR=value` without `setenv`.
    Setenv(&'a RunRequest),
    /// The caller is in another mount namespace than the daemon.
    ForeignNamespace,
}

/// Why a caller in another mount namespace is refused: the daemon would
/// find and run commands in its own file system, not the one the caller
/// sees.
const FOREIGN_NAMESPACE: &str = "commands from another mount namespace are not supported; \
     run jitsudo from the host's namespace";

impl Refusal<'_> {
    /// What the caller is told: a policy refusal as sudo prints it (the
    /// sentence alone, then exit status 1), or an error about an option or
    /// the caller's situation (prefixed with the program's name by the
    /// client).
    pub fn reply(&self) -> Vec<ServerMessage> {
        let text = self.text();
        match self {
            Refusal::NotInPolicy { .. }
            | Refusal::MayNotRun { .. }
            | Refusal::NotAllowed { .. } => {
                vec![
                    ServerMessage::Notice {
                        text: text.into(),
                        prefer_tty: false,
                    },
                    ServerMessage::Exited(Exit::Code(1)),
                ]
            }
            Refusal::Chdir { .. } | Refusal::Setenv(_) | Refusal::ForeignNamespace => {
                vec![ServerMessage::Error(Failure::new(text))]
            }
        }
    }

    /// The sentence, as told and logged.
    pub fn text(&self) -> Vec<u8> {
        match self {
            Refusal::NotInPolicy { user } => message(user, b" is not in the jitsudo policy."),
            Refusal::MayNotRun { user, host } => {
                let mut text = message(b"Sorry, user ", user);
                text.extend_from_slice(format!(" may not run jitsudo on {host}.").as_bytes());
                text
            }
            Refusal::NotAllowed {
                user,
                command,
                args,
                target,
                host,
            } => not_allowed(user, command, args, *target, host),
            Refusal::Chdir { command } => {
                message(b"you are not permitted to use the -D option with ", command)
            }
            Refusal::Setenv(request) => setenv_text(request),
            Refusal::ForeignNamespace => FOREIGN_NAMESPACE.as_bytes().to_vec(),
        }
    }
}

/// "Sorry, user U is not allowed to execute 'CMD ARGS' as T:G on H."
fn not_allowed(
    user: &[u8],
    command: &[u8],
    args: &[OsString],
    (target, group): (&[u8], Option<&[u8]>),
    host: &str,
) -> Vec<u8> {
    let mut text = message(b"Sorry, user ", user);
    text.extend_from_slice(b" is not allowed to execute '");
    text.extend_from_slice(command);
    for arg in args {
        text.push(b' ');
        text.extend_from_slice(arg.as_bytes());
    }
    text.extend_from_slice(b"' as ");
    text.extend_from_slice(target);
    if let Some(group) = group {
        text.push(b':');
        text.extend_from_slice(group);
    }
    text.extend_from_slice(format!(" on {host}.").as_bytes());
    text
}

/// sudo's words for a caller without `setenv`: `-E` may not preserve the
/// environment; `VAR=value` and `--preserve-env=LIST` name the variables
/// (dangerous ones, which would be dropped anyway, are not named).
fn setenv_text(request: &RunRequest) -> Vec<u8> {
    let listed: Vec<OsString> = match &request.preserve_env {
        PreserveEnv::All => {
            return b"sorry, you are not allowed to preserve the environment".to_vec();
        }
        PreserveEnv::List(names) => names.iter().map(os).collect(),
        PreserveEnv::None => Vec::new(),
    };
    let mut names: Vec<OsString> = split_env(&request.assignments)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    names.extend(jitsudo_policy::env::setenv_refusal_names(
        listed.iter().map(OsString::as_os_str),
    ));
    let mut text =
        b"sorry, you are not allowed to set the following environment variables: ".to_vec();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            text.extend_from_slice(b", ");
        }
        text.extend_from_slice(name.as_bytes());
    }
    text
}

/// `prefix` followed by `tail`.
pub fn message(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut text = prefix.to_vec();
    text.extend_from_slice(tail);
    text
}
