//! `-e`/`sudoedit`: which files the caller may edit, as whom. Each file,
//! made absolute against the caller's working directory, is asked of the
//! policy as the pseudo-command `sudoedit FILE` (an `ALL` rule allows it,
//! as in sudoers); then, after the gate, a worker opens and writes the
//! files as the target (see `worker::edit`).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use jitsudo_policy::{Auth, Decision};
use jitsudo_proto::{EditRequest, Failure, ServerMessage};
use serde_bytes::ByteBuf;

use super::command::CommandLine;
use super::context::{Context, Passed};
use super::denial::{deny, reject, Refused};
use super::gate::{self, Gate};
use super::identity::Identity;
use super::job::{EditJob, Then};
use super::question;
use super::refusal::{message, Refusal};
use super::resolve;
use super::target;
use super::verdict::{failed, work, Verdict};

/// `-e FILE…`.
pub fn edit(
    ctx: &Context<'_>,
    who: &Identity,
    edit: &EditRequest,
    passed: &Passed,
) -> Result<Verdict, Vec<ServerMessage>> {
    let request = &edit.request;
    let target = target::resolve_target(who, request).map_err(failed)?;
    let cwd = resolve::cwd_path(passed);
    let files = edit
        .files
        .iter()
        .map(|word| absolute(word, cwd.as_os_str().as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
    let line = CommandLine {
        program: OsString::from(jitsudo_policy::SUDOEDIT),
        argv0: OsString::from(jitsudo_policy::SUDOEDIT),
        args: files.clone(),
    };
    let mut record = resolve::record(who, &target, &cwd, &line, None);
    record.policy_hash = Some(ctx.policy_hash.to_owned());
    if !who.in_daemon_mount_namespace() {
        let text = Refusal::ForeignNamespace.text();
        return Err(reject(ctx, &record, text));
    }
    let mut wants_password = false;
    for file in &files {
        match question::ask_edit(ctx, who, &target, file) {
            Decision::Allow(allowed) => {
                record.rule = Some(allowed.rule_id.clone());
                record.guard = ctx.policy.audit_guard(&allowed.rule_id);
                wants_password |= allowed.auth == Auth::Password;
            }
            Decision::Deny(refusal) => {
                record.rule = refusal.rule_id.clone();
                let refused = Refused {
                    reason: &refusal.reason,
                    args: std::slice::from_ref(file),
                    target: &target,
                };
                return deny(ctx, who, request, record, &refused);
            }
        }
    }
    let wants_password = wants_password && !target.is_caller(who);
    let target_name = target.account.name.as_bytes().to_vec();
    let ask = match gate::gate(ctx, who, request, &target_name, wants_password) {
        Gate::Pass => None,
        Gate::Ask(spec) => Some(spec),
        Gate::Refuse(failure) => {
            ctx.audit.emit(&record.rejected("a password is required"));
            return Err(failed(failure));
        }
    };
    let gid = target.group.as_ref().map_or(target.account.gid, |g| g.gid);
    let mut caller_groups = who.peer.groups.clone();
    caller_groups.push(who.peer.gid);
    let job = EditJob {
        files: files
            .into_iter()
            .map(|f| ByteBuf::from(f.into_vec()))
            .collect(),
        uid: target.account.uid,
        gid,
        groups: target.account.groups(gid),
        umask: who.peer.umask | ctx.policy.defaults.umask,
        caller_uid: who.peer.uid,
        caller_groups,
    };
    let then = Then::Edit(Box::new(job));
    Ok(work(who, request, &target_name, ask, then, record))
}

/// `word` made absolute against `cwd`; a path with `.`, `..` or empty
/// components is refused (the policy and the walk see one spelling only).
fn absolute(word: &ByteBuf, cwd: &[u8]) -> Result<OsString, Failure> {
    let mut path = if word.starts_with(b"/") {
        Vec::new()
    } else {
        cwd.to_vec()
    };
    if !word.starts_with(b"/") && !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(word);
    let normal = path.len() > 1
        && !path[1..]
            .split(|b| *b == b'/')
            .any(|part| part.is_empty() || part == b"." || part == b"..");
    if !normal {
        return Err(Failure::new(message(
            word,
            b": name the file by a plain path, without `.`, `..` or a trailing `/`",
        )));
    }
    Ok(OsString::from_vec(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_absolute_and_plain() {
        let abs =
            |w: &str, cwd: &str| absolute(&ByteBuf::from(w.as_bytes().to_vec()), cwd.as_bytes());
        assert_eq!(abs("motd", "/etc").unwrap(), "/etc/motd");
        assert_eq!(abs("x", "/").unwrap(), "/x");
        assert_eq!(abs("/etc/motd", "/tmp").unwrap(), "/etc/motd");
        for bad in ["../etc/shadow", "/etc/./motd", "/etc//motd", "/etc/", "/"] {
            assert!(abs(bad, "/tmp").is_err(), "{bad:?} accepted");
        }
    }
}
