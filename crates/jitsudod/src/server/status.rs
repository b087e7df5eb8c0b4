//! `Request::Status` (`jitsudo -V`, `jitsudoctl status`): the daemon's
//! version and policy hash for everyone, its state for root.

use std::sync::PoisonError;

use jitsudo_proto::{
    DaemonStatus, GrantCounts, ReloadOutcome, ServerMessage, SinkHealth, StatusDetails,
    WorkerCounts, PROTOCOL_VERSION,
};

use super::Shared;
use crate::grants::record::State;

/// The status reply for the caller `uid`.
pub(super) fn reply(shared: &Shared, uid: u32) -> ServerMessage {
    let policy = shared.policy();
    let details = (uid == 0).then(|| StatusDetails {
        uptime_secs: shared.started.elapsed().as_secs(),
        policy_files: policy.files.clone(),
        policy_age_secs: policy.loaded.elapsed().as_secs(),
        last_reload: last_reload(shared),
        connections: shared.connections.total(),
        pending_auth: shared.pending_auth.total(),
        workers: workers(shared),
        grants: grants(shared),
        audit_sinks: audit_sinks(shared, &policy.policy),
    });
    ServerMessage::Status(Box::new(DaemonStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        policy_hash: policy.hash.clone(),
        details,
    }))
}

/// The pool's workers, and those given a request: waiting for a password
/// (they hold a pending-authentication slot) or past it.
fn workers(shared: &Shared) -> WorkerCounts {
    let pool = shared.workers.state();
    let bound = shared.pending_auth.total().min(pool.with_job);
    WorkerCounts {
        idle: count(pool.idle),
        starting: count(pool.starting),
        bound,
        busy: pool.with_job - bound,
    }
}

/// Pending requests and live grants in the store (`None`, and the reason
/// logged, if it cannot be read).
fn grants(shared: &Shared) -> Option<GrantCounts> {
    let states = [State::Pending, State::Approved, State::Active];
    let records = shared
        .grants
        .store
        .transact(|tx| tx.in_states(&states, None))
        .map_err(|e| eprintln!("jitsudod: status: {e}"))
        .ok()?;
    let of = |state: State| count(records.iter().filter(|r| r.state == state).count());
    Some(GrantCounts {
        pending_requests: of(State::Pending),
        approved: of(State::Approved),
        active: of(State::Active),
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Each sink the daemon writes (`audit_log`) probed, and whether the
/// policy requires it.
fn audit_sinks(shared: &Shared, policy: &jitsudo_policy::Policy) -> Vec<SinkHealth> {
    let required = &policy.defaults.audit_sinks;
    let written = &policy.defaults.audit_log;
    shared
        .audit
        .probe()
        .into_iter()
        .filter(|(name, _)| written.iter().any(|sink| sink.name() == name))
        .map(|(name, result)| SinkHealth {
            required: required.iter().any(|sink| sink.name() == name),
            error: result.err().map(|e| e.to_string()),
            name,
        })
        .collect()
}

fn last_reload(shared: &Shared) -> Option<ReloadOutcome> {
    let last = shared
        .last_reload
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    last.as_ref().map(|(at, error)| ReloadOutcome {
        age_secs: at.elapsed().as_secs(),
        error: error.clone(),
    })
}
