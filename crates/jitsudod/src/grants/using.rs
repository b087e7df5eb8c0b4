//! Using a grant from `jitsudo`: the caller's usable grants go to the
//! policy ([`jitsudo_policy::Policy::decide_with_grants`]); a command
//! allowed through one is counted as a use (starting a first-use grant's
//! clock). A refusal that an ended grant explains says so.

use std::ffi::OsString;
use std::path::PathBuf;

use jitsudo_policy::{ActiveGrant, GrantKind};
use jitsudo_proto::Failure;

use super::events::{self, Transition};
use super::record::{Record, State};
use super::store::Holding;
use super::workflow::activate;
use super::{now, show_time, Grants};

/// How long after its end a grant still explains a refusal.
const ENDED_MEMORY: i64 = 24 * 3600;

/// How many of the newest grants that ended lately (or were used up) are
/// read to explain a refusal. The bound cannot change a decision: the
/// explanation is sought only for a command already refused, and only
/// adds its reason. Nor does it change the explanation in any but an
/// extreme case: the policy takes the first grant of the list that allows
/// the command, and the list is newest first, so a grant the bound leaves
/// out is one older than this many others that ended within a day; a
/// refusal only such a grant explains is told as a plain refusal. The
/// bound is twice the grants a user may hold at once.
const ENDED_READ: u32 = 2 * super::MAX_LIVE_PER_USER;

/// Grants of one caller, owned, to lend to the policy.
pub struct Held {
    records: Vec<Record>,
    commands: Vec<Option<(PathBuf, Vec<OsString>)>>,
}

impl Held {
    /// The caller's grants that allow something now: active ones within
    /// their time and uses, approved first-use ones within their deadline,
    /// approved ones whose start time has come. Where several would allow
    /// a command, the policy takes the first: the active grant that ends
    /// last (so that a grant ending never ends a command another grant
    /// still allows), then those not started yet.
    pub fn usable(grants: &Grants, uid: u32) -> Result<Held, Failure> {
        if !grants.store.may_hold(uid, Holding::Live) {
            return Ok(Held::new(Vec::new()));
        }
        let at = now();
        let live = grants
            .store
            .transact(|tx| tx.in_states(&[State::Active, State::Approved], Some(uid)))?;
        let mut usable: Vec<Record> = live
            .into_iter()
            .filter(|r| usable_at(r, at) && !is_privilege(r))
            .collect();
        usable.sort_by_key(|r| std::cmp::Reverse(r.expires_at.unwrap_or(i64::MIN)));
        Ok(Held::new(usable))
    }

    /// The caller's grants that ended (or were used up) lately, newest
    /// first: to explain a refusal.
    pub fn ended(grants: &Grants, uid: u32) -> Result<Held, Failure> {
        if !grants.store.may_hold(uid, Holding::LiveOrEnded) {
            return Ok(Held::new(Vec::new()));
        }
        let kinds: Vec<GrantKind> = GrantKind::ALL
            .into_iter()
            .filter(|kind| !kind.is_privilege())
            .collect();
        let since = now() - ENDED_MEMORY;
        let records = grants
            .store
            .transact(|tx| tx.lately_ended(uid, &kinds, since, ENDED_READ))?;
        Ok(Held::new(records))
    }

    fn new(records: Vec<Record>) -> Held {
        let commands = records
            .iter()
            .map(|r| {
                r.command.as_ref().and_then(|c| {
                    let (path, args) = c.split_first()?;
                    Some((
                        PathBuf::from(path),
                        args.iter().map(OsString::from).collect(),
                    ))
                })
            })
            .collect();
        Held { records, commands }
    }

    /// As the policy takes them.
    pub fn active(&self) -> Vec<ActiveGrant<'_>> {
        self.records
            .iter()
            .zip(&self.commands)
            .map(|(record, command)| ActiveGrant {
                id: &record.id,
                rule_id: &record.rule_id,
                command: command.as_ref().map(|(p, a)| (p.as_path(), a.as_slice())),
            })
            .collect()
    }

    /// Why grant `id` no longer allows anything, for the refusal.
    pub fn why_ended(&self, id: &str) -> Option<String> {
        let record = self.records.iter().find(|r| r.id == id)?;
        Some(match (record.state, record.ended_at) {
            (State::Active, _) => format!(
                "your grant {id} (rule {}) has no uses left ({} of {} used); \
                 request a new one with jitsudoctl request",
                record.rule_id,
                record.uses,
                record.max_uses.unwrap_or(0)
            ),
            (state, ended) => format!(
                "your grant {id} (rule {}) ended at {} ({}); request a new one with \
                 jitsudoctl request",
                record.rule_id,
                show_time(ended.unwrap_or(0)),
                state.name()
            ),
        })
    }
}

/// Every grant of the caller's that allows something now, of any kind,
/// oldest first (for `jitsudo -l`).
pub fn in_force(grants: &Grants, uid: u32) -> Result<Vec<Record>, Failure> {
    if !grants.store.may_hold(uid, Holding::Live) {
        return Ok(Vec::new());
    }
    let at = now();
    let live = grants
        .store
        .transact(|tx| tx.in_states(&[State::Active, State::Approved], Some(uid)))?;
    Ok(live.into_iter().filter(|r| usable_at(r, at)).collect())
}

/// A group, caps or shell grant: used through `jitsudoctl shell`/`run`,
/// never by making its rule apply to `jitsudo`.
fn is_privilege(record: &Record) -> bool {
    GrantKind::parse(&record.kind).map_or(true, GrantKind::is_privilege)
}

/// The caller's group, caps or shell grant `id`, usable now; else why not
/// (another user's grant is "not found", as one that does not exist).
pub fn privilege_grant(grants: &Grants, uid: u32, id: &str) -> Result<Record, Failure> {
    let not_yours = || Failure::new(format!("you hold no grant {}", id.escape_default()));
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_yours());
    }
    let record = grants
        .store
        .transact(|tx| tx.get(id))?
        .filter(|r| r.requester_uid == uid)
        .ok_or_else(not_yours)?;
    if !is_privilege(&record) {
        return Err(Failure::new(format!(
            "grant {id} is a {} grant: use it with jitsudo COMMAND",
            record.kind
        )));
    }
    let at = now();
    if usable_at(&record, at) {
        return Ok(record);
    }
    let mut record = record;
    if record.state == State::Active && record.expires_at.is_some_and(|e| e <= at) {
        // Past its end, its teardown not recorded yet.
        record.state = State::Expired;
        record.ended_at = record.expires_at;
    }
    let ended = record.ended_at.is_some() || used_up(&record);
    let why = Held::new(vec![record]).why_ended(id).filter(|_| ended);
    Err(Failure::new(why.unwrap_or_else(|| {
        format!("grant {id} is not active (jitsudoctl grants shows its state)")
    })))
}

fn used_up(record: &Record) -> bool {
    record.state == State::Active && record.max_uses.is_some_and(|max| record.uses >= max)
}

fn usable_at(record: &Record, at: i64) -> bool {
    match record.state {
        State::Active => record.expires_at.is_some_and(|e| e > at) && !used_up(record),
        State::Approved => match record.start.as_str() {
            "first-use" => record.deadline_at > at,
            _ => record.start_at.is_some_and(|s| s <= at),
        },
        _ => false,
    }
}

/// Counts one use of grant `id` for `command` (and starts a first-use
/// grant's clock); refuses if the grant ended or was used up meanwhile.
/// Returns the grant as it is now.
pub fn use_grant(grants: &Grants, id: &str, command: &str) -> Result<Record, Failure> {
    let at = now();
    let (record, activated) = grants.store.transact(|tx| {
        let mut record = tx
            .get(id)?
            .filter(|r| usable_at(r, at))
            .ok_or_else(|| Failure::new(format!("grant {id} ended meanwhile")))?;
        let activated = record.state == State::Approved;
        if activated {
            activate(&mut record, at);
        }
        record.uses += 1;
        tx.update(&record)?;
        tx.add_use(id, at, command)?;
        Ok::<_, Failure>((record, activated))
    })?;
    if activated {
        events::emit(grants, &record, Transition::Activate, None);
        grants.wake.notify_one();
    }
    events::emit(grants, &record, Transition::Use, None);
    Ok(record)
}
