//! The `org.jitsudo.Jitsudo1` interface: each method is a `jitsudoctl`
//! grant verb, run for the caller the bus names through the socket's own
//! route ([`Caller::run`]); records come back as `a{sv}` ([`values`]).

use std::collections::HashMap;
use std::sync::Arc;

use jitsudo_proto::{ExtendAsk, GrantQuery, GrantRecord, Listing, Request, Review};
use zbus::message::{Flags, Header};
use zbus::object_server::SignalEmitter;
use zbus::{interface, Connection};

use super::agents::{self, Agents};
use super::caller::{Caller, Outcome};
use super::errors::ApiError;
use super::subscribers::Subscribers;
use super::values::{self, Dict};
use crate::server::Shared;

/// The object at `/org/jitsudo/Jitsudo1`.
pub struct Api {
    /// The daemon's state.
    pub shared: Arc<Shared>,
    /// The connections that asked for signals.
    pub subscribers: Arc<Subscribers>,
    /// The registered authentication agents.
    pub agents: Arc<Agents>,
}

/// An empty reason is no reason.
fn reason(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// The record a verb about one request or grant replies with.
fn first_record(records: &[GrantRecord]) -> Result<Dict, ApiError> {
    match records.first() {
        Some(record) => values::record(record),
        None => Err(ApiError::Denied("no record in the reply".into())),
    }
}

impl Api {
    async fn run(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        request: Request,
    ) -> Result<Vec<GrantRecord>, ApiError> {
        match Caller::of(conn, header)
            .await?
            .run(&self.shared, request)
            .await?
        {
            Outcome::Records(records) => Ok(records),
            Outcome::Work(..) => Err(agents::authentication_required()),
        }
    }

    /// Approves or denies: a review that needs the reviewer's password
    /// asks it through their agent if the caller allowed interactive
    /// authorization; the request after it.
    async fn review(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        (id, reason): (String, String),
        verb: fn(Box<Review>) -> Request,
    ) -> Result<Dict, ApiError> {
        let request = verb(Box::new(Review {
            id: id.clone(),
            reason: self::reason(reason),
        }));
        let interactive = header
            .primary()
            .flags()
            .contains(Flags::AllowInteractiveAuth);
        let outcome = Caller::of(conn, header)
            .await?
            .run(&self.shared, request)
            .await?;
        let records = match outcome {
            Outcome::Records(records) => records,
            Outcome::Work(handover, slot) if interactive => {
                agents::converse(conn, &self.shared, &self.agents, handover, slot, &id).await?
            }
            Outcome::Work(..) => return Err(agents::authentication_required()),
        };
        first_record(&records)
    }

    /// Runs a verb about one record; the record after it.
    async fn one(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        request: Request,
    ) -> Result<Dict, ApiError> {
        let records = self.run(conn, header, request).await?;
        first_record(&records)
    }

    async fn list(
        &self,
        conn: &Connection,
        header: &Header<'_>,
        what: Listing,
        all: bool,
    ) -> Result<Vec<GrantRecord>, ApiError> {
        let query = GrantQuery {
            what,
            all,
            since: None,
            user: None,
        };
        self.run(conn, header, Request::ListGrants(Box::new(query)))
            .await
    }
}

fn dicts(records: &[GrantRecord]) -> Result<Vec<Dict>, ApiError> {
    records.iter().map(values::record).collect()
}

#[interface(name = "org.jitsudo.Jitsudo1")]
impl Api {
    /// `jitsudoctl request`: asks for a grant; the new request's id.
    async fn create_request(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        spec: HashMap<String, zbus::zvariant::OwnedValue>,
    ) -> Result<String, ApiError> {
        let ask = values::grant_ask(&spec)?;
        let records = self
            .run(conn, &header, Request::RequestGrant(Box::new(ask)))
            .await?;
        records
            .first()
            .map(|r| r.id.clone())
            .ok_or_else(|| ApiError::Denied("no record in the reply".into()))
    }

    /// `jitsudoctl requests`: pending requests, mine and those I may
    /// review; filter `all` (b): root sees everyone's.
    async fn list_requests(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        filter: HashMap<String, zbus::zvariant::OwnedValue>,
    ) -> Result<Vec<Dict>, ApiError> {
        let all = values::list_filter(&filter)?;
        dicts(&self.list(conn, &header, Listing::Requests, all).await?)
    }

    /// One request or grant the caller may see (as requester, approver
    /// or root).
    async fn get_request(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
    ) -> Result<Dict, ApiError> {
        crate::grants::workflow::check_id(&id)?;
        for what in [Listing::Requests, Listing::Grants, Listing::History] {
            let records = self.list(conn, &header, what, true).await?;
            if let Some(record) = records.iter().find(|r| r.id == id) {
                return values::record(record);
            }
        }
        Err(ApiError::NotFound(format!("no request or grant {id}")))
    }

    /// `jitsudoctl approve`: needs fresh cached credentials of the caller,
    /// or (a call that allows interactive authorization) the caller's
    /// password through their agent (`RegisterAgent`); else
    /// `AuthenticationRequired`. The request after it.
    async fn approve(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        reason: String,
    ) -> Result<Dict, ApiError> {
        self.review(conn, &header, (id, reason), Request::Approve)
            .await
    }

    /// `jitsudoctl deny`: as `Approve`; the reason is required.
    async fn deny(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        reason: String,
    ) -> Result<Dict, ApiError> {
        self.review(conn, &header, (id, reason), Request::Deny)
            .await
    }

    /// `jitsudoctl cancel`: the requester withdraws a pending request.
    async fn cancel(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
    ) -> Result<Dict, ApiError> {
        self.one(conn, &header, Request::Cancel(id)).await
    }

    /// `jitsudoctl grants --all`: live grants, mine and those I may
    /// review (root: everyone's).
    async fn list_grants(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Vec<Dict>, ApiError> {
        dicts(&self.list(conn, &header, Listing::Grants, true).await?)
    }

    /// `jitsudoctl revoke`.
    async fn revoke(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        reason: String,
    ) -> Result<Dict, ApiError> {
        let review = Review {
            id,
            reason: self::reason(reason),
        };
        self.one(conn, &header, Request::Revoke(Box::new(review)))
            .await
    }

    /// `jitsudoctl done`: the holder ends their grant.
    async fn done(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
    ) -> Result<Dict, ApiError> {
        self.one(conn, &header, Request::Done(id)).await
    }

    /// `jitsudoctl justify`: the holder of a break-glass grant says why.
    async fn justify(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        reason: String,
    ) -> Result<Dict, ApiError> {
        let review = Review {
            id,
            reason: self::reason(reason),
        };
        self.one(conn, &header, Request::Justify(Box::new(review)))
            .await
    }

    /// `jitsudoctl extend --by SECONDS`.
    async fn extend(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        seconds: u64,
        reason: String,
    ) -> Result<Dict, ApiError> {
        let ask = ExtendAsk {
            id,
            by: seconds,
            reason: self::reason(reason),
        };
        self.one(conn, &header, Request::Extend(Box::new(ask)))
            .await
    }

    /// Asks for this connection to receive the signals about the caller's
    /// own requests and grants and those it may review.
    async fn subscribe(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), ApiError> {
        let caller = Caller::of(conn, &header).await?;
        let Some(sender) = header.sender() else {
            return Err(ApiError::Denied("a call without a sender".into()));
        };
        self.subscribers
            .add(&self.shared, sender.to_owned(), caller)
            .await
    }

    /// Registers the calling connection as the authentication agent of
    /// its user (the bus's word, as for every call): approvals of that
    /// user that allow interactive authorization call `Ask` on
    /// `/org/jitsudo/Agent1` of this connection. It replaces the user's
    /// previous agent; it is forgotten when it leaves the bus.
    async fn register_agent(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), ApiError> {
        let caller = Caller::of(conn, &header).await?;
        let Some(sender) = header.sender() else {
            return Err(ApiError::Denied("a call without a sender".into()));
        };
        self.agents.register(caller.uid(), sender.to_owned())
    }

    /// The daemon's version.
    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The SHA-256 of the policy in force (as `jitsudo -V` shows it); read
    /// it again after a reload.
    #[zbus(property(emits_changed_signal = "false"))]
    fn policy_hash(&self) -> String {
        self.shared.policy().hash.clone()
    }

    /// A request was made that the receiver made or may review.
    #[zbus(signal)]
    pub async fn request_created(
        emitter: &SignalEmitter<'_>,
        id: &str,
        summary: &str,
    ) -> zbus::Result<()>;

    /// A request or grant changed state (`approved`, `active`, `denied`…).
    #[zbus(signal)]
    pub async fn request_changed(
        emitter: &SignalEmitter<'_>,
        id: &str,
        state: &str,
    ) -> zbus::Result<()>;

    /// The receiver's grant ends soon.
    #[zbus(signal)]
    pub async fn grant_expiring(
        emitter: &SignalEmitter<'_>,
        id: &str,
        seconds_left: u64,
    ) -> zbus::Result<()>;

    /// A grant ended: `expired`, `revoked` or `ended`.
    #[zbus(signal)]
    pub async fn grant_ended(emitter: &SignalEmitter<'_>, id: &str, how: &str) -> zbus::Result<()>;
}
