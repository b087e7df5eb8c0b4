//! The command's environment, built the way sudo's `env_reset` does.
//!
//! The caller's environment is dropped except for `TERM` and the variables
//! `env_keep`, `-E` or `--preserve-env=LIST` ask for (never the dangerous ones,
//! see [`is_dangerous`]); then the target's identity, `PATH` and the `SUDO_*`
//! variables are set; then the authorised `VAR=value` assignments apply.

mod danger;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

pub use danger::is_dangerous;

/// Which caller variables beyond `env_keep` the caller asked to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preserve<'a> {
    /// Only `env_keep` (no `-E`).
    None,
    /// `-E`/`--preserve-env`: every variable that is not dangerous.
    All,
    /// `--preserve-env=A,B`: `env_keep` plus these exact names.
    List(&'a [String]),
}

/// The user the command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetIdentity<'a> {
    /// User name (`USER`, `LOGNAME`, and `MAIL=/var/mail/<name>`).
    pub name: &'a OsStr,
    /// Home directory (`HOME`).
    pub home: &'a OsStr,
    /// Login shell (`SHELL`).
    pub shell: &'a OsStr,
}

/// The user who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerIdentity<'a> {
    /// User name (`SUDO_USER`).
    pub name: &'a OsStr,
    /// Real uid (`SUDO_UID`).
    pub uid: u32,
    /// Real gid (`SUDO_GID`).
    pub gid: u32,
}

/// Everything the command's environment is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvRequest<'a> {
    /// The client's environment, as bytes, in order.
    pub caller_env: &'a [(OsString, OsString)],
    /// What the caller asked to preserve.
    pub preserve: Preserve<'a>,
    /// `VAR=value` arguments, already authorised by the policy (`setenv`).
    pub assignments: &'a [(OsString, OsString)],
    /// The policy's `env_keep` list (names, or prefixes ending in `*`).
    pub env_keep: &'a [String],
    /// The policy's `secure_path`, used as `PATH`.
    pub secure_path: &'a str,
    /// The target user.
    pub target: TargetIdentity<'a>,
    /// The calling user.
    pub caller: CallerIdentity<'a>,
    /// `SUDO_COMMAND`: the resolved path and the arguments joined by spaces.
    pub command_line: &'a OsStr,
}

/// Builds the command's environment, sorted by name, each name once.
///
/// Always set: `HOME`, `SHELL`, `USER`, `LOGNAME`, `MAIL` (the target's),
/// `PATH` (`secure_path`), `SUDO_USER`, `SUDO_UID`, `SUDO_GID`,
/// `SUDO_COMMAND`, and `TERM` (the caller's if safe, else `unknown`, as sudo).
/// Assignments come last and win; they may set any name, but an assignment
/// whose value starts with `()` is dropped, as is any variable whose name is
/// empty or holds `=` or NUL, or whose value holds NUL.
pub fn build_env(request: &EnvRequest<'_>) -> Vec<(OsString, OsString)> {
    let mut env = BTreeMap::new();
    for (name, value) in request.caller_env {
        if is_well_formed(name, value) && keeps(request, name) && !is_dangerous(name, value) {
            env.insert(name.clone(), value.clone());
        }
    }
    set_identity(request, &mut env);
    for (name, value) in request.assignments {
        if is_well_formed(name, value) && !value.as_bytes().starts_with(b"()") {
            env.insert(name.clone(), value.clone());
        }
    }
    env.into_iter().collect()
}

/// Whether the caller's variable `name` is asked for.
fn keeps(request: &EnvRequest<'_>, name: &OsStr) -> bool {
    let kept = name == "TERM" || matches_any(request.env_keep, name);
    match request.preserve {
        Preserve::None => kept,
        Preserve::All => true,
        Preserve::List(names) => kept || names.iter().any(|n| n.as_bytes() == name.as_bytes()),
    }
}

/// Whether `name` equals an entry of `patterns` or starts with an entry's
/// stem when the entry ends in `*`.
fn matches_any(patterns: &[String], name: &OsStr) -> bool {
    let name = name.as_bytes();
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix.as_bytes()),
            None => name == pattern.as_bytes(),
        })
}

/// Sets the variables that always describe the target and the caller.
fn set_identity(request: &EnvRequest<'_>, env: &mut BTreeMap<OsString, OsString>) {
    let target = &request.target;
    let caller = &request.caller;
    let mut mail = OsString::from("/var/mail/");
    mail.push(target.name);
    let fixed: [(&str, OsString); 10] = [
        ("HOME", target.home.into()),
        ("SHELL", target.shell.into()),
        ("USER", target.name.into()),
        ("LOGNAME", target.name.into()),
        ("MAIL", mail),
        ("PATH", request.secure_path.into()),
        ("SUDO_USER", caller.name.into()),
        ("SUDO_UID", caller.uid.to_string().into()),
        ("SUDO_GID", caller.gid.to_string().into()),
        ("SUDO_COMMAND", request.command_line.into()),
    ];
    for (name, value) in fixed {
        env.insert(name.into(), value);
    }
    env.entry("TERM".into()).or_insert_with(|| "unknown".into());
}

/// Whether a variable can be passed to `execve` unambiguously.
fn is_well_formed(name: &OsStr, value: &OsStr) -> bool {
    let name = name.as_bytes();
    !name.is_empty()
        && !name.contains(&b'=')
        && !name.contains(&0)
        && !value.as_bytes().contains(&0)
}

#[cfg(test)]
mod tests;
