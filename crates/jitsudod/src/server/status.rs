//! `Request::Status` (`jitsudo -V`, `jitsudoctl status`): the daemon's
//! version and policy hash for everyone, its state for root.

use std::sync::PoisonError;

use jitsudo_proto::{DaemonStatus, ReloadOutcome, ServerMessage, StatusDetails, PROTOCOL_VERSION};

use super::Shared;

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
    });
    ServerMessage::Status(Box::new(DaemonStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        policy_hash: policy.hash.clone(),
        details,
    }))
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
