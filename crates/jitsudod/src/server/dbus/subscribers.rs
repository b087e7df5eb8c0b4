//! The connections that asked for signals (`Subscribe`), with who they
//! are, and the fan-out of the grant workflow's changes to them: each
//! signal is unicast to the requester's connections and, for requests,
//! to those of the users who may review it. Nobody else ever learns
//! another user's command line. A user has at most
//! [`MAX_PER_USER`] subscribed connections, everyone [`MAX_TOTAL`]; a
//! connection leaving the bus is forgotten.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_lite::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use zbus::fdo::DBusProxy;
use zbus::names::{BusName, UniqueName};
use zbus::object_server::SignalEmitter;
use zbus::Connection;

use super::agents::Agents;
use super::api::Api;
use super::caller::Caller;
use super::errors::ApiError;
use super::PATH;
use crate::grants::record::Record;
use crate::grants::workflow::approver_of;
use crate::grants::{Change, Transition};
use crate::request::Identity;
use crate::server::Shared;

/// Subscribed connections one user may have.
pub const MAX_PER_USER: usize = 8;
/// Subscribed connections in all.
pub const MAX_TOTAL: usize = 1024;

/// Subscribed connections by unique name.
#[derive(Default)]
pub struct Subscribers {
    by_name: Mutex<HashMap<UniqueName<'static>, Identity>>,
}

impl Subscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UniqueName<'static>, Identity>> {
        match self.by_name.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Subscribes connection `name` of `caller`, within the bounds.
    pub async fn add(
        &self,
        shared: &Arc<Shared>,
        name: UniqueName<'static>,
        caller: Caller,
    ) -> Result<(), ApiError> {
        let uid = caller.uid();
        let slot = super::caller::take_slot(shared, uid)?;
        let deciding = Arc::clone(shared);
        let identity = tokio::task::spawn_blocking(move || caller.identity(&deciding))
            .await
            .map_err(|e| ApiError::Denied(format!("the call failed: {e}")))??;
        drop(slot);
        let mut map = self.lock();
        if map.contains_key(&name) {
            return Ok(());
        }
        if map.values().filter(|who| who.peer.uid == uid).count() >= MAX_PER_USER {
            return Err(ApiError::Denied(format!(
                "at most {MAX_PER_USER} connections of one user may subscribe"
            )));
        }
        if map.len() >= MAX_TOTAL {
            return Err(ApiError::Denied(
                "too many subscribers; try again later".into(),
            ));
        }
        map.insert(name, identity);
        Ok(())
    }

    /// Forgets everyone (the connection they were on is gone).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn remove(&self, name: &str) {
        self.lock().retain(|known, _| known.as_str() != name);
    }

    /// The subscribed connections `record`'s change is for.
    fn recipients(
        &self,
        shared: &Shared,
        record: &Record,
        approvers_too: bool,
    ) -> Vec<UniqueName<'static>> {
        let policy = shared.policy();
        self.lock()
            .iter()
            .filter(|(_, who)| {
                who.peer.uid == record.requester_uid
                    || (approvers_too && approver_of(&policy.policy, who, record))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Forgets subscribers and agents as their connections leave the bus;
/// returns when the daemon's own connection is gone.
pub async fn forget_departed(
    conn: Connection,
    subscribers: &Subscribers,
    agents: &Agents,
) -> zbus::Result<()> {
    let proxy = DBusProxy::new(&conn).await?;
    let mut changes = proxy.receive_name_owner_changed().await?;
    while let Some(change) = changes.next().await {
        if let Ok(args) = change.args() {
            if args.new_owner().is_none() {
                subscribers.remove(args.name().as_str());
                agents.remove(args.name().as_str());
            }
        }
    }
    Ok(())
}

/// Sends each change of the grant workflow to its subscribers, until the
/// daemon stops.
pub async fn fan_out(conn: Connection, shared: Arc<Shared>, subscribers: Arc<Subscribers>) {
    let mut changes = shared.grants.changes.subscribe();
    loop {
        let change = match changes.recv().await {
            Ok(change) => change,
            Err(RecvError::Lagged(missed)) => {
                eprintln!("jitsudod: D-Bus signals: {missed} changes were not signalled");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let holder_only = change.transition == Transition::Warn;
        for name in subscribers.recipients(&shared, &change.record, !holder_only) {
            if let Err(e) = signal(&conn, name, &change).await {
                eprintln!("jitsudod: D-Bus signal: {e}");
            }
        }
    }
}

/// Sends the signal for `change` to connection `name`.
async fn signal(conn: &Connection, name: UniqueName<'static>, change: &Change) -> zbus::Result<()> {
    let emitter = SignalEmitter::new(conn, PATH)?.set_destination(BusName::Unique(name));
    let record = &change.record;
    match change.transition {
        Transition::Create => Api::request_created(&emitter, &record.id, &summary(record)).await,
        Transition::Use | Transition::Overdue => Ok(()),
        Transition::Warn => {
            let left = record
                .expires_at
                .map_or(0, |end| end - crate::grants::now());
            let left = u64::try_from(left).unwrap_or(0);
            Api::grant_expiring(&emitter, &record.id, left).await
        }
        Transition::End => Api::grant_ended(&emitter, &record.id, record.state.name()).await,
        Transition::Review
        | Transition::RequestExpire
        | Transition::Cancel
        | Transition::Activate
        | Transition::Extend => {
            Api::request_changed(&emitter, &record.id, record.state.name()).await
        }
    }
}

/// One line about a request: who asks for what, for how long, and why.
fn summary(record: &Record) -> String {
    let what = match &record.command {
        Some(command) => format!(
            "to run {} as {}",
            command.join(" "),
            record.run_as.as_deref().unwrap_or("root")
        ),
        None => format!("rule {}", record.rule_id),
    };
    let mut line = format!(
        "{} asks for {what} for {}s",
        record.requester, record.duration
    );
    if let Some(reason) = &record.reason {
        line.push_str(": ");
        line.push_str(reason);
    }
    if let Some(ticket) = &record.ticket {
        line.push_str(&format!(" ({ticket})"));
    }
    line
}
