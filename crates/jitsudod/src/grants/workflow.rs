//! The `jitsudoctl` verbs: who may do what to which request or grant, and
//! the state change each makes (one store transaction per verb).

use std::path::{Path, PathBuf};
use std::time::Duration;

use jitsudo_policy::{
    ActiveGrant, Approval, Asked, Decision, GrantKind, Grantable, Policy, Rule, Start, TargetUser,
};
use jitsudo_proto::{ExtendAsk, Failure, GrantAsk, GrantQuery, GrantWhat, Listing, StartAsk};

use super::events::{self, Transition};
use super::record::{Record, Review, State};
use super::store::{StoreError, Tx};
use super::{
    now, show_time, Grants, MAX_COMMAND_BYTES, MAX_COMMAND_WORDS, MAX_LIVE_PER_USER,
    MAX_PENDING_PER_USER, MAX_REASON, MAX_TICKET,
};
use crate::accounts;
use crate::request::Identity;

/// A verb's outcome: the records concerned, or why it was refused.
pub type Outcome = Result<Vec<Record>, Failure>;

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        eprintln!("jitsudod: {e}");
        Failure::new("the grant store failed; see jitsudod's log")
    }
}

/// `jitsudoctl request`.
pub fn request(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    ask: &GrantAsk,
    context: jitsudo_policy::Context<'_>,
) -> Outcome {
    bounded(ask)?;
    let (rule, grant, command, run_as) = match &ask.what {
        GrantWhat::Rule(id) => {
            let found = who.with_caller(|caller| {
                policy
                    .grantable(id, &caller)
                    .map(|(rule, grant)| (rule.id.clone(), rule.when.clone(), grant.clone()))
            });
            let (rule_id, when, grant) = found.ok_or_else(|| {
                Failure::new(jitsudo_policy::RequestRefusal::NoSuchRule(id.clone()).to_string())
            })?;
            if let Some(when) = when {
                when.check(&context)
                    .map_err(|c| Failure::new(format!("the rule does not allow it now: {c}")))?;
            }
            (rule_id, grant, None, None)
        }
        GrantWhat::Command { user, argv } => {
            let (rule, command, run_as) =
                command_rule(policy, who, user.as_deref(), argv, context)?;
            let grant = rule
                .grant
                .clone()
                .ok_or_else(|| Failure::new("not grantable"))?;
            (rule.id.clone(), grant, Some(command), Some(run_as))
        }
    };
    let kind = match &ask.what {
        GrantWhat::Rule(_) => GrantKind::Rule,
        GrantWhat::Command { .. } => GrantKind::Command,
    };
    let asked = Asked {
        kind,
        duration: ask.duration.map(Duration::from_secs),
        uses: ask.uses,
        reason: ask.reason.as_deref(),
        ticket: ask.ticket.as_deref(),
        start: ask.start.map(|s| match s {
            StartAsk::OnApproval => Start::OnApproval,
            StartAsk::FirstUse => Start::FirstUse,
            StartAsk::At(_) => Start::At,
        }),
    };
    let terms = grant
        .check(&asked)
        .map_err(|r| Failure::new(r.to_string()))?;
    let at = now();
    let start_at = match ask.start {
        Some(StartAsk::At(t)) => Some(t.max(at)),
        _ if terms.start == Start::At => {
            return Err(Failure::new(
                "the rule's grants start at a set time: use --start at:TIME",
            ))
        }
        _ => None,
    };
    let mut record = Record {
        id: String::new(),
        state: State::Pending,
        requester_uid: who.peer.uid,
        requester: who.account.name.to_string_lossy().into_owned(),
        rule_id: rule,
        kind: match kind {
            GrantKind::Rule => "rule",
            GrantKind::Command => "command",
        }
        .to_owned(),
        command,
        run_as,
        duration: secs(terms.duration),
        reason: ask.reason.clone(),
        ticket: ask.ticket.clone(),
        start: terms.start.name().to_owned(),
        start_at,
        max_uses: terms.uses,
        uses: 0,
        quorum: grant.approval.quorum(),
        created_at: at,
        deadline_at: at + secs(grant.approval.deadline()),
        starts_at: None,
        expires_at: None,
        warned: false,
        ended_at: None,
        end_reason: None,
        killed: None,
        reviews: Vec::new(),
    };
    let created = grants.store.transact(|tx| {
        let (pending, live) = tx.counts_of(who.peer.uid)?;
        let auto = grant.approval == Approval::Auto;
        if !auto && pending >= MAX_PENDING_PER_USER {
            return Err(Failure::new(format!(
                "you have {MAX_PENDING_PER_USER} requests pending already; cancel one \
                 (jitsudoctl cancel ID) or wait for a decision"
            )));
        }
        if live >= MAX_LIVE_PER_USER {
            return Err(Failure::new(format!(
                "you hold {MAX_LIVE_PER_USER} grants already; end one (jitsudoctl done ID) first"
            )));
        }
        record.id = tx.next_id()?;
        if auto {
            approve_fully(&mut record, at, &grant);
        }
        tx.insert(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &created, Transition::Create, None);
    if created.state.is_live() {
        events::emit(grants, &created, Transition::Activate, None);
    }
    grants.wake.notify_one();
    Ok(vec![created])
}

/// Refuses control characters (they would reach terminals and logs).
fn printable<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<(), Failure> {
    if texts.into_iter().any(|t| t.chars().any(char::is_control)) {
        return Err(Failure::new("invalid argument: control character"));
    }
    Ok(())
}

/// Refuses what a user could make unbounded, and control characters.
fn bounded(ask: &GrantAsk) -> Result<(), Failure> {
    printable(ask.reason.iter().chain(&ask.ticket).map(String::as_str))?;
    match &ask.what {
        GrantWhat::Rule(id) => printable([id.as_str()])?,
        GrantWhat::Command { user, argv } => {
            printable(argv.iter().chain(user).map(String::as_str))?;
        }
    }
    if ask.reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {MAX_REASON} bytes"
        )));
    }
    if ask.ticket.as_ref().is_some_and(|t| t.len() > MAX_TICKET) {
        return Err(Failure::new(format!(
            "the ticket is longer than {MAX_TICKET} bytes"
        )));
    }
    if let GrantWhat::Command { argv, .. } = &ask.what {
        let bytes: usize = argv.iter().map(String::len).sum();
        if argv.len() > MAX_COMMAND_WORDS || bytes > MAX_COMMAND_BYTES {
            return Err(Failure::new(format!(
                "the command is longer than {MAX_COMMAND_WORDS} words or {MAX_COMMAND_BYTES} bytes"
            )));
        }
        if argv.is_empty() {
            return Err(Failure::new("no command given after --"));
        }
    }
    Ok(())
}

/// The grantable command rule that would allow `argv` as `user` once a
/// grant for it is active (the last one in file order), with the command's
/// absolute path and arguments and the target's name.
fn command_rule<'p>(
    policy: &'p Policy,
    who: &Identity,
    user: Option<&str>,
    argv: &[String],
    context: jitsudo_policy::Context<'_>,
) -> Result<(&'p Rule, Vec<String>, String), Failure> {
    let target = accounts::resolve_user(user.unwrap_or("root").as_bytes())
        .ok_or_else(|| Failure::new(format!("unknown user {}", user.unwrap_or("root"))))?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Failure::new("no command"))?;
    let path = find_program(program, &policy.defaults.secure_path)
        .ok_or_else(|| Failure::new(format!("{program}: command not found")))?;
    let args_os: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
    let candidates = policy.rules.iter().rev().filter(|rule| {
        rule.grant
            .as_ref()
            .is_some_and(|g| g.kind == GrantKind::Command)
    });
    for rule in candidates {
        let granted = ActiveGrant {
            id: "candidate",
            rule_id: &rule.id,
            command: None,
        };
        let decision = who.with_caller(|caller| {
            let question = jitsudo_policy::Request {
                caller,
                run_as_user: TargetUser {
                    uid: target.uid,
                    name: target.name.to_str(),
                    primary_gid: target.gid,
                    is_caller_by_default: false,
                },
                run_as_group: None,
                command: &path,
                executable: None,
                args: &args_os,
                wants_setenv: false,
                chdir: None,
                command_digest: None,
                context,
            };
            policy.decide_with_grants(&question, &[granted])
        });
        if matches!(&decision, Decision::Allow(a) if a.rule_id == rule.id) {
            let mut command = vec![path.to_string_lossy().into_owned()];
            command.extend(args.iter().cloned());
            let run_as = target.name.to_string_lossy().into_owned();
            return Ok((rule, command, run_as));
        }
    }
    Err(Failure::new(
        "no grantable rule lets you request this command as this user",
    ))
}

/// `program` if absolute, else the first executable of that name in `path`.
fn find_program(program: &str, path: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Some(PathBuf::from(program));
    }
    if program.contains('/') {
        return None;
    }
    path.split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The request has all its approvals: it becomes a grant, active now
/// (on-approval, or a start time already passed) or approved until its
/// first use (within the approval deadline) or its start time.
fn approve_fully(record: &mut Record, at: i64, grant: &Grantable) {
    match Start::parse(&record.start) {
        Ok(Start::FirstUse) => {
            record.state = State::Approved;
            record.deadline_at = at + secs(grant.approval.deadline());
        }
        Ok(Start::At) if record.start_at.is_some_and(|t| t > at) => {
            record.state = State::Approved;
        }
        _ => activate(record, at),
    }
}

/// Starts the grant's clock at `at`.
pub fn activate(record: &mut Record, at: i64) {
    record.state = State::Active;
    record.starts_at = Some(at);
    record.expires_at = Some(at.saturating_add(record.duration));
}

/// Which review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// `approve`.
    Approve,
    /// `deny`.
    Deny,
}

/// Checks that `who` may review request `id` now (before authenticating).
pub fn may_review(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
) -> Result<(), Failure> {
    grants
        .store
        .transact(|tx| reviewable(tx, policy, who, id).map(|_| ()))
}

fn reviewable(tx: &Tx<'_>, policy: &Policy, who: &Identity, id: &str) -> Result<Record, Failure> {
    let record = find(tx, id)?;
    if record.state != State::Pending {
        return Err(Failure::new(format!(
            "request {id} is {}, not pending",
            record.state.name()
        )));
    }
    if record.deadline_at <= now() {
        return Err(Failure::new(format!(
            "request {id} expired at {}",
            show_time(record.deadline_at)
        )));
    }
    if record.requester_uid == who.peer.uid {
        return Err(Failure::new(format!(
            "you cannot review your own request {id}; another approver must"
        )));
    }
    if !approver_of(policy, who, &record) {
        return Err(Failure::new(format!("you may not review request {id}")));
    }
    if record
        .reviews
        .iter()
        .any(|r| r.reviewer_uid == who.peer.uid)
    {
        return Err(Failure::new(format!(
            "you have reviewed request {id} already"
        )));
    }
    Ok(record)
}

fn find(tx: &Tx<'_>, id: &str) -> Result<Record, Failure> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::new(
            "invalid id: ids are numbers, as jitsudoctl requests shows",
        ));
    }
    tx.get(id)?
        .ok_or_else(|| Failure::new(format!("no request or grant {id}")))
}

/// `approve` or `deny`, once the reviewer authenticated (every check is
/// made again in the transaction).
pub fn review(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
    decision: ReviewDecision,
    reason: Option<&str>,
) -> Outcome {
    if reason.is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {MAX_REASON} bytes"
        )));
    }
    printable(reason)?;
    let at = now();
    let record = grants.store.transact(|tx| {
        let mut record = reviewable(tx, policy, who, id)?;
        let review = Review {
            reviewer_uid: who.peer.uid,
            reviewer: who.account.name.to_string_lossy().into_owned(),
            decision: match decision {
                ReviewDecision::Approve => "approve",
                ReviewDecision::Deny => "deny",
            }
            .to_owned(),
            reason: reason.map(str::to_owned),
            at,
        };
        tx.add_review(id, &review)?;
        record.reviews.push(review);
        match decision {
            ReviewDecision::Deny => {
                record.state = State::Denied;
                record.ended_at = Some(at);
                record.end_reason = reason.map(str::to_owned);
            }
            ReviewDecision::Approve if record.approvals() >= record.quorum => {
                if let Some((_, grant)) = policy.grantable_rule(&record.rule_id) {
                    approve_fully(&mut record, at, grant);
                }
            }
            ReviewDecision::Approve => {}
        }
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Review, Some(who));
    if record.state.is_live() {
        events::emit(grants, &record, Transition::Activate, None);
    }
    grants.wake.notify_one();
    Ok(vec![record])
}

/// `cancel`: the requester withdraws a pending request.
pub fn cancel(grants: &Grants, who: &Identity, id: &str) -> Outcome {
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        if record.requester_uid != who.peer.uid {
            return Err(Failure::new(format!("request {id} is not yours to cancel")));
        }
        if record.state != State::Pending {
            return Err(Failure::new(format!(
                "request {id} is {}, not pending",
                record.state.name()
            )));
        }
        record.state = State::Cancelled;
        record.ended_at = Some(now());
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Cancel, Some(who));
    grants.wake.notify_one();
    Ok(vec![record])
}

/// How a live grant is ended by a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `revoke`, by an approver or root.
    Revoke,
    /// `done`, by its holder.
    Done,
}

/// `revoke` or `done`: marks the grant ended; the timers task tears it
/// down at once (see [`super::timers`]).
pub fn end(
    grants: &Grants,
    policy: &Policy,
    who: &Identity,
    id: &str,
    ending: Ending,
    reason: Option<&str>,
) -> Outcome {
    if reason.is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {MAX_REASON} bytes"
        )));
    }
    printable(reason)?;
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        let allowed = match ending {
            Ending::Done => record.requester_uid == who.peer.uid,
            Ending::Revoke => who.peer.uid == 0 || approver_of(policy, who, &record),
        };
        if !allowed {
            return Err(Failure::new(match ending {
                Ending::Done => format!("grant {id} is not yours"),
                Ending::Revoke => format!("you may not revoke grant {id}"),
            }));
        }
        if !record.state.is_live() {
            return Err(Failure::new(format!(
                "grant {id} is {}, not active",
                record.state.name()
            )));
        }
        record.state = match ending {
            Ending::Done => State::Ended,
            Ending::Revoke => State::Revoked,
        };
        record.ended_at = Some(now());
        record.end_reason = Some(match (ending, reason) {
            (Ending::Done, _) => "done".to_owned(),
            (Ending::Revoke, Some(reason)) => reason.to_owned(),
            (Ending::Revoke, None) => format!("revoked by {}", who.account.name.to_string_lossy()),
        });
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    grants.wake.notify_one();
    Ok(vec![record])
}

fn approver_of(policy: &Policy, who: &Identity, record: &Record) -> bool {
    policy
        .grantable_rule(&record.rule_id)
        .is_some_and(|(_, g)| who.with_caller(|caller| g.approval.may_review(&caller)))
}

/// `extend`: one atomic move of the end (never a gap). The holder may
/// extend an auto-approved grant; approvers and root any. The new total
/// stays within the rule's maximum.
pub fn extend(grants: &Grants, policy: &Policy, who: &Identity, ask: &ExtendAsk) -> Outcome {
    let id = &ask.id;
    if ask.reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
        return Err(Failure::new(format!(
            "the reason is longer than {MAX_REASON} bytes"
        )));
    }
    printable(ask.reason.as_deref())?;
    let record = grants.store.transact(|tx| {
        let mut record = find(tx, id)?;
        let (_, grant) = policy
            .grantable_rule(&record.rule_id)
            .ok_or_else(|| Failure::new(format!("grant {id}'s rule is no longer grantable")))?;
        let holder_may = record.requester_uid == who.peer.uid && grant.approval == Approval::Auto;
        if !(holder_may || who.peer.uid == 0 || approver_of(policy, who, &record)) {
            return Err(Failure::new(format!(
                "you may not extend grant {id}; an approver must (jitsudoctl extend by one of them)"
            )));
        }
        if record.state != State::Active && record.state != State::Approved {
            return Err(Failure::new(format!(
                "grant {id} is {}, not active",
                record.state.name()
            )));
        }
        let by = i64::try_from(ask.by).unwrap_or(i64::MAX);
        let total = record.duration.saturating_add(by);
        if total > secs(grant.effective_max()) {
            return Err(Failure::new(format!(
                "the grant would last {total}s, over the rule's maximum of {}s",
                grant.effective_max().as_secs()
            )));
        }
        record.duration = total;
        record.expires_at = record.expires_at.map(|e| e.saturating_add(by));
        record.warned = false;
        tx.update(&record)?;
        Ok::<_, Failure>(record)
    })?;
    events::emit(grants, &record, Transition::Extend, Some(who));
    grants.wake.notify_one();
    Ok(vec![record])
}

/// `requests` and `grants [--history]`.
pub fn list(grants: &Grants, policy: &Policy, who: &Identity, query: &GrantQuery) -> Outcome {
    let states: &[State] = match query.what {
        Listing::Requests => &[State::Pending],
        Listing::Grants => &[State::Approved, State::Active],
        Listing::History => &[
            State::Expired,
            State::Ended,
            State::Revoked,
            State::Denied,
            State::Cancelled,
        ],
    };
    let records = grants.store.transact(|tx| tx.in_states(states, None))?;
    let root = who.peer.uid == 0;
    Ok(records
        .into_iter()
        .filter(|r| {
            let mine = r.requester_uid == who.peer.uid;
            match query.what {
                Listing::Requests => mine || approver_of(policy, who, r) || (root && query.all),
                Listing::Grants => mine || ((root || approver_of(policy, who, r)) && query.all),
                Listing::History => {
                    (mine || root)
                        && query.user.as_ref().is_none_or(|u| *u == r.requester)
                        && query.since.is_none_or(|s| r.ended_at.unwrap_or(0) >= s)
                }
            }
        })
        .collect())
}

/// After a reload: revokes every live grant the new policy no longer
/// allows (its rule gone, no longer grantable, of another kind, or no
/// longer naming the holder).
pub fn revoke_disallowed(grants: &Grants, policy: &Policy) {
    let revoked = grants.store.transact(|tx| {
        let mut revoked = Vec::new();
        for mut record in tx.in_states(&[State::Approved, State::Active], None)? {
            if still_allowed(policy, &record) {
                continue;
            }
            record.state = State::Revoked;
            record.ended_at = Some(now());
            record.end_reason = Some("the reloaded policy no longer allows it".into());
            tx.update(&record)?;
            revoked.push(record);
        }
        Ok::<_, StoreError>(revoked)
    });
    match revoked {
        Ok(revoked) if !revoked.is_empty() => grants.wake.notify_one(),
        Ok(_) => {}
        Err(e) => eprintln!("jitsudod: {e}"),
    }
}

fn still_allowed(policy: &Policy, record: &Record) -> bool {
    let Some((rule, grant)) = policy.grantable_rule(&record.rule_id) else {
        return false;
    };
    let kind = match grant.kind {
        GrantKind::Rule => "rule",
        GrantKind::Command => "command",
    };
    let Some(account) = accounts::user_by_uid(record.requester_uid) else {
        return false;
    };
    let named: Vec<(u32, Option<String>)> = account
        .groups(account.gid)
        .into_iter()
        .map(|gid| {
            (
                gid,
                accounts::group_name(gid).and_then(|n| n.into_string().ok()),
            )
        })
        .collect();
    let groups: Vec<jitsudo_policy::GroupRef<'_>> = named
        .iter()
        .map(|(gid, name)| jitsudo_policy::GroupRef {
            gid: *gid,
            name: name.as_deref(),
        })
        .collect();
    let caller = jitsudo_policy::Caller {
        uid: account.uid,
        name: account.name.to_str(),
        groups: &groups,
        deny_groups: &groups,
    };
    kind == record.kind && rule.who.iter().any(|who| who.matches(&caller))
}
