//! Who calls: the bus's word (`GetConnectionCredentials`: `UnixUserID`,
//! `UnixGroupIDs`, `ProcessFD` or `ProcessID`) about the sender of the
//! message, never a method argument. A call then takes one of the
//! caller's connection slots (the same per-uid and total caps as the
//! socket) and goes through the socket's own route.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use jitsudo_proto::{GrantRecord, Request, ServerMessage};
use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::BusName;
use zbus::Connection;

use super::errors::ApiError;
use crate::limits::{Cap, Over, Slot};
use crate::peer::Peer;
use crate::request::Identity;
use crate::server::route::{route, Handover, Routed};
use crate::server::Shared;

/// A caller as the bus describes it.
pub struct Caller {
    uid: u32,
    groups: Vec<u32>,
    pid: i32,
    pidfd: Option<OwnedFd>,
}

impl Caller {
    /// Asks the bus who sent `header`'s message.
    pub async fn of(conn: &Connection, header: &Header<'_>) -> Result<Caller, ApiError> {
        let sender = header
            .sender()
            .ok_or_else(|| ApiError::Denied("a call without a sender".into()))?;
        let creds = DBusProxy::new(conn)
            .await?
            .get_connection_credentials(BusName::Unique(sender.to_owned()))
            .await
            .map_err(zbus::Error::from)?;
        let unknown = || ApiError::Denied("the bus does not say who you are".into());
        let uid = creds.unix_user_id().ok_or_else(unknown)?;
        let pid = creds
            .process_id()
            .and_then(|pid| i32::try_from(pid).ok())
            .ok_or_else(unknown)?;
        let pidfd = match creds.process_fd() {
            Some(fd) => Some(fd.as_fd().try_clone_to_owned().map_err(|_| unknown())?),
            None => None,
        };
        Ok(Caller {
            uid,
            groups: creds.unix_group_ids().cloned().unwrap_or_default(),
            pid,
            pidfd,
        })
    }

    /// The caller's uid.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The caller as the workflow knows callers (account, groups).
    pub fn identity(self, shared: &Shared) -> Result<Identity, ApiError> {
        let wants_origin = shared.policy().policy.uses_origin();
        let peer = self.peer(wants_origin)?;
        Ok(Identity::of(peer, wants_origin)?)
    }

    fn peer(self, wants_origin: bool) -> Result<Peer, ApiError> {
        Peer::of_bus_caller(self.uid, self.groups, self.pid, self.pidfd, wants_origin)
            .map_err(|e| ApiError::Denied(format!("cannot identify you: {e}")))
    }

    /// Runs a grant verb for this caller, within its connection slots, on
    /// the blocking pool: the records it answers with, or (an approval
    /// that needs the caller's password) the worker job, with the slot.
    pub async fn run(self, shared: &Arc<Shared>, request: Request) -> Result<Outcome, ApiError> {
        let slot = take_slot(shared, self.uid)?;
        let shared = Arc::clone(shared);
        tokio::task::spawn_blocking(move || match self.route(&shared, request)? {
            Routed::Reply(messages) => records(messages).map(Outcome::Records),
            Routed::Work(handover) => Ok(Outcome::Work(handover, slot)),
        })
        .await
        .map_err(|e| ApiError::Denied(format!("the call failed: {e}")))?
    }

    fn route(self, shared: &Shared, request: Request) -> Result<Routed, ApiError> {
        let peer = self.peer(shared.policy().policy.uses_origin())?;
        // approve/deny carry a working directory for their worker: "/".
        let fds = match request.fd_layout().cwd {
            true => vec![root_dir()?],
            false => Vec::new(),
        };
        Ok(route(shared, peer, request, fds))
    }
}

/// What a verb came to.
pub enum Outcome {
    /// The records of the reply.
    Records(Vec<GrantRecord>),
    /// A review waiting for the reviewer's password, and the caller's
    /// connection slot.
    Work(Handover, Slot),
}

/// One of `uid`'s connection slots, held for the call.
pub fn take_slot(shared: &Shared, uid: u32) -> Result<Slot, ApiError> {
    let cap = Cap::connections(&shared.policy().policy.defaults.limits);
    shared.connections.take(uid, cap).map_err(|over| {
        ApiError::Denied(
            match over {
                Over::User => "too many calls from your user at once; try again later",
                Over::Total => "too many calls to jitsudod at once; try again later",
            }
            .into(),
        )
    })
}

fn root_dir() -> Result<OwnedFd, ApiError> {
    std::fs::File::open("/")
        .map(OwnedFd::from)
        .map_err(|e| ApiError::Denied(format!("cannot open /: {e}")))
}

/// The records of a reply, or its refusal.
fn records(messages: Vec<ServerMessage>) -> Result<Vec<GrantRecord>, ApiError> {
    match messages.into_iter().next() {
        Some(ServerMessage::Grants(records)) => Ok(records),
        Some(ServerMessage::Error(failure)) => Err(failure.into()),
        _ => Err(ApiError::Denied("unexpected reply".into())),
    }
}
