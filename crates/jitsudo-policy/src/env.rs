//! The command's environment, built the way sudo's `env_reset` does.
//!
//! The caller's environment is dropped except for `TERM` and the variables
//! `env_keep`, `-E` or `--preserve-env=LIST` ask for (never the loader's
//! unsecure ones, see [`is_loader_unsecure`], and, except for names listed
//! in `--preserve-env=LIST`, never the dangerous ones, see [`is_dangerous`]);
//! then the target's identity, `PATH` and the `SUDO_*` variables are set;
//! then the `--preserve-env=LIST` variables and the authorised `VAR=value`
//! assignments apply.
//!
//! [`setenv_refusal_names`] gives the names to print when a caller without
//! `setenv` asks to set or preserve variables.

mod danger;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

pub use danger::{is_dangerous, is_loader_unsecure, ALSO_UNSECURE_NAMES, LOADER_UNSECURE_NAMES};

/// Which caller variables beyond `env_keep` the caller asked to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preserve<'a> {
    /// Only `env_keep` (no `-E`).
    None,
    /// `-E`/`--preserve-env`: every variable that is neither dangerous nor
    /// loader-unsecure; `HOME` and `SHELL` stay the caller's and `MAIL` is
    /// not set (as sudo does without `env_reset`).
    All,
    /// `--preserve-env=A,B`: `env_keep` plus these exact names. A listed
    /// variable the caller has passes as if given as `VAR=value` (as sudo
    /// turns the list into assignments): even if dangerous, overriding the
    /// fixed variables, but never when loader-unsecure or when its value
    /// starts with `()`.
    List(&'a [String]),
}

/// The user the command runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetIdentity<'a> {
    /// User name (`USER`, `LOGNAME`, and `MAIL=/var/mail/<name>` except
    /// with [`Preserve::All`]).
    pub name: &'a OsStr,
    /// Home directory (`HOME`, except with [`Preserve::All`]).
    pub home: &'a OsStr,
    /// Login shell (`SHELL`, except with [`Preserve::All`] when the caller
    /// passes his own).
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
    /// `-H`: `HOME` is the target's even when `-E` or `env_keep` would keep
    /// the caller's.
    pub set_home: bool,
}

/// Builds the command's environment, sorted by name, each name once.
///
/// Always set: `USER`, `LOGNAME` (the target's), `PATH` (`secure_path`),
/// `SUDO_USER`, `SUDO_UID`, `SUDO_GID`, `SUDO_COMMAND`, and `TERM` (the
/// caller's if safe, else `unknown`, as sudo). `HOME`, `SHELL` and
/// `MAIL=/var/mail/<target>` are the target's, except with [`Preserve::All`]
/// (sudo 1.9's `-E`): `HOME` and `SHELL` are then the caller's (`HOME` is
/// unset if he has none, `SHELL` the target's) and `MAIL` is not set, so
/// the caller's passes. A caller's `HOME` kept by `-E` or by an `env_keep`
/// entry gives way to the target's with `-H` ([`EnvRequest::set_home`]).
/// The caller's `SUDO_PS1`, if any, becomes `PS1`.
///
/// Variables named in [`Preserve::List`] come next and win (see there),
/// then the assignments, which win over everything; they may set any name,
/// loader-unsecure ones included, but an assignment whose value starts with
/// `()` is dropped, as is any variable whose name is empty or holds `=` or
/// NUL, or whose value holds NUL.
pub fn build_env(request: &EnvRequest<'_>) -> Vec<(OsString, OsString)> {
    let mut env = BTreeMap::new();
    for (name, value) in request.caller_env {
        if is_well_formed(name, value)
            && !is_loader_unsecure(name)
            && keeps(request, name)
            && !is_dangerous(name, value)
        {
            env.insert(name.clone(), value.clone());
        }
    }
    set_identity(request, &mut env);
    if let Some((_, ps1)) = request
        .caller_env
        .iter()
        .rev()
        .find(|(n, _)| n == "SUDO_PS1")
    {
        insert_assignment(&mut env, OsStr::new("PS1"), ps1);
    }
    if let Preserve::List(names) = request.preserve {
        for (name, value) in request.caller_env {
            if is_listed(names, name) && !is_loader_unsecure(name) {
                insert_assignment(&mut env, name, value);
            }
        }
    }
    for (name, value) in request.assignments {
        insert_assignment(&mut env, name, value);
    }
    env.into_iter().collect()
}

/// The names to print in sudo's "sorry, you are not allowed to set the
/// following environment variables: A, B" refusal for the names a caller
/// without `setenv` listed in `--preserve-env=A,B`: in the order given,
/// without the loader-unsecure ones (a setuid sudo never sees those: the
/// loader strips them first). `VAR=value` names are all printed.
pub fn setenv_refusal_names<'a>(names: impl Iterator<Item = &'a OsStr>) -> Vec<OsString> {
    names
        .filter(|name| !is_loader_unsecure(name))
        .map(OsStr::to_os_string)
        .collect()
}

/// Whether the caller's variable `name` is kept by the filtered pass:
/// `TERM`, `env_keep`, or everything with `-E`. (Names listed in
/// `--preserve-env=LIST` get their own, unfiltered pass.)
fn keeps(request: &EnvRequest<'_>, name: &OsStr) -> bool {
    match request.preserve {
        Preserve::All => true,
        Preserve::None | Preserve::List(_) => name == "TERM" || matches_any(request.env_keep, name),
    }
}

/// Whether `name` is one of the names listed in `--preserve-env=LIST`.
fn is_listed(names: &[String], name: &OsStr) -> bool {
    names.iter().any(|n| n.as_bytes() == name.as_bytes())
}

/// Sets `name` as an explicit assignment does: over any earlier value, unless
/// the variable is malformed or its value is a shell function (`()…`).
fn insert_assignment(env: &mut BTreeMap<OsString, OsString>, name: &OsStr, value: &OsStr) {
    if is_well_formed(name, value) && !value.as_bytes().starts_with(b"()") {
        env.insert(name.to_os_string(), value.to_os_string());
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

/// Sets the variables that describe the target and the caller.
fn set_identity(request: &EnvRequest<'_>, env: &mut BTreeMap<OsString, OsString>) {
    let target = &request.target;
    let caller = &request.caller;
    let fixed: [(&str, OsString); 7] = [
        ("USER", target.name.into()),
        ("LOGNAME", target.name.into()),
        ("PATH", request.secure_path.into()),
        ("SUDO_USER", caller.name.into()),
        ("SUDO_UID", caller.uid.to_string().into()),
        ("SUDO_GID", caller.gid.to_string().into()),
        ("SUDO_COMMAND", request.command_line.into()),
    ];
    for (name, value) in fixed {
        env.insert(name.into(), value);
    }
    let keeps_home = env.contains_key(OsStr::new("HOME")) && !request.set_home;
    if request.preserve == Preserve::All {
        // The caller's HOME, SHELL and MAIL, if kept, stay.
        env.entry("SHELL".into())
            .or_insert_with(|| target.shell.into());
    } else {
        let mut mail = OsString::from("/var/mail/");
        mail.push(target.name);
        env.insert("SHELL".into(), target.shell.into());
        env.insert("MAIL".into(), mail);
    }
    if !keeps_home && (request.preserve != Preserve::All || request.set_home) {
        env.insert("HOME".into(), target.home.into());
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
