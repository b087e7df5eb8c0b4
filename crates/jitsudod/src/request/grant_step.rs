//! The grant step of a run: the caller's usable grants go to the policy
//! with the question; a command allowed through one runs in its cgroup and
//! counts as a use of it once the caller authenticated and its audit
//! record was logged; a refusal that a lately ended grant explains says
//! when it ended.

use jitsudo_proto::{Failure, RunRequest, ServerMessage};

use crate::audit::AuditRecord;
use crate::grants::record::Record;
use crate::grants::using::{self, Held};
use std::path::PathBuf;

use crate::grants::{now, show_time, teardown, Grants};

use super::context::Context;
use super::identity::Identity;
use super::question;
use super::resolve::Resolved;

/// Below this many seconds left, `jitsudo` says how long the grant lasts.
const SAY_TIME_LEFT: i64 = 5 * 60;

/// The caller's usable grants.
pub fn usable(ctx: &Context<'_>, who: &Identity) -> Result<Held, Failure> {
    Held::usable(ctx.grants, who.peer.uid)
}

/// A command allowed through a grant, before its use is counted: the use
/// counts only once the caller authenticated and the command's `exec.accept`
/// was logged ([`count_use`], when the worker reports it), so a wrong
/// password, ^C at the prompt or an audit sink that refuses costs none.
pub struct PendingUse {
    /// The grant.
    pub id: String,
    /// The command, for the grant's list of uses.
    pub command: String,
}

/// Prepares a use of grant `id` for the command of `record`: marks the
/// record with the grant and makes the grant's cgroup (where the command
/// will run).
pub fn prepare_use(
    id: &str,
    record: &mut AuditRecord,
) -> Result<(PendingUse, Option<PathBuf>), Failure> {
    let cgroup = teardown::ensure_group(id)
        .map_err(|e| Failure::new(format!("unable to create the grant's cgroup: {e}")))?;
    record.grant = Some(id.to_owned());
    let pending = PendingUse {
        id: id.to_owned(),
        command: String::from_utf8_lossy(&record.command).into_owned(),
    };
    Ok((pending, cgroup))
}

/// Counts the use of an authenticated caller: what the worker tells the
/// client before it starts the command (nothing, or how long the grant
/// has left), or the refusal if the grant ended or was used up meanwhile.
pub fn count_use(grants: &Grants, pending: &PendingUse) -> Vec<ServerMessage> {
    let grant = match using::use_grant(grants, &pending.id, &pending.command) {
        Ok(grant) => grant,
        Err(failure) => return vec![ServerMessage::Error(failure)],
    };
    let left = grant.expires_at.map_or(i64::MAX, |end| end - now());
    if left > SAY_TIME_LEFT {
        return Vec::new();
    }
    let text = format!(
        "grant {} ends in {left} s (at {}); what runs under it is stopped then",
        pending.id,
        show_time(grant.expires_at.unwrap_or(0))
    );
    vec![ServerMessage::Warning(text.into_bytes().into())]
}

/// The caller's grants in force, for `jitsudo -l`: what each allows and
/// how long it lasts (empty when there are none).
pub fn listed(ctx: &Context<'_>, who: &Identity) -> String {
    let Ok(held) = using::in_force(ctx.grants, who.peer.uid) else {
        return String::new();
    };
    if held.is_empty() {
        return String::new();
    }
    let at = now();
    let mut out = format!(
        "\nGrants of {} in force:\n",
        who.account.name.to_string_lossy()
    );
    for grant in held {
        let when = match grant.expires_at {
            Some(end) => format!("until {} ({} s left)", show_time(end), (end - at).max(0)),
            None => format!("not started ({})", grant.start),
        };
        let uses = grant
            .max_uses
            .map(|max| format!(", {} of {max} uses left", max.saturating_sub(grant.uses)))
            .unwrap_or_default();
        out.push_str(&format!(
            "    grant {} (rule {}): {}, {when}{uses}\n",
            grant.id,
            grant.rule_id,
            allows(&grant)
        ));
    }
    out
}

/// What a grant allows, and how it is used.
fn allows(grant: &Record) -> String {
    let words = grant.command.as_deref().unwrap_or_default();
    let run_as = grant.run_as.as_deref().unwrap_or("root");
    let given = match grant.kind.as_str() {
        "command" => return format!("the command `{}` as {run_as}", words.join(" ")),
        "rule" => return format!("the commands of rule {}", grant.rule_id),
        "shell" => format!("a shell as {run_as}"),
        kind => format!("{kind} {}", words.join(",")),
    };
    format!(
        "{given}, with jitsudoctl shell {id} or jitsudoctl run {id} -- COMMAND",
        id = grant.id
    )
}

/// Why a refused command is refused, if a grant that ended (or was used
/// up) lately would have allowed it.
pub fn ended(
    ctx: &Context<'_>,
    who: &Identity,
    request: &RunRequest,
    resolved: &Resolved,
) -> Option<Failure> {
    let ended = Held::ended(ctx.grants, who.peer.uid).ok()?;
    let decision = question::ask(ctx, who, request, resolved, &ended.active());
    match decision {
        jitsudo_policy::Decision::Allow(allowed) => {
            let id = allowed.grant_id?;
            ended.why_ended(&id).map(Failure::new)
        }
        jitsudo_policy::Decision::Deny(_) => None,
    }
}
