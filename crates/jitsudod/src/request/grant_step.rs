//! The grant step of a run: the caller's usable grants go to the policy
//! with the question; a command allowed through one counts as a use of it
//! (and runs in its cgroup); a refusal that a lately ended grant explains
//! says when it ended.

use jitsudo_proto::{Failure, RunRequest, ServerMessage};

use crate::audit::AuditRecord;
use crate::grants::using::{self, Held};
use std::path::PathBuf;

use crate::grants::{now, show_time, teardown};

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

/// A use of a grant: where the command runs, what `jitsudo` says first.
pub struct Used {
    /// The grant's cgroup.
    pub cgroup: Option<PathBuf>,
    /// Warnings for the client.
    pub notices: Vec<ServerMessage>,
}

/// Counts a use of grant `id` for the command of `record` (marking the
/// record with the grant).
pub fn use_grant(ctx: &Context<'_>, id: &str, record: &mut AuditRecord) -> Result<Used, Failure> {
    let command = String::from_utf8_lossy(&record.command).into_owned();
    let grant = using::use_grant(ctx.grants, id, &command)?;
    record.grant = Some(grant.id.clone());
    let cgroup = teardown::ensure_group(id)
        .map_err(|e| Failure::new(format!("unable to create the grant's cgroup: {e}")))?;
    let left = grant.expires_at.map_or(i64::MAX, |end| end - now());
    let mut used = Used {
        cgroup,
        notices: Vec::new(),
    };
    if left > SAY_TIME_LEFT {
        return Ok(used);
    }
    let text = format!(
        "grant {id} ends in {left} s (at {}); what runs under it is stopped then",
        show_time(grant.expires_at.unwrap_or(0))
    );
    used.notices
        .push(ServerMessage::Warning(text.into_bytes().into()));
    Ok(used)
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
