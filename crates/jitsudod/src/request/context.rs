//! What every step of a request shares: the daemon's state for this request
//! and the caller's descriptors that came with it.

use std::os::fd::OwnedFd;

use jitsudo_audit::Audit;
use jitsudo_policy::Policy;
use jitsudo_proto::PassedFds;

use crate::cache::CredentialCache;

/// Everything a request needs besides the request itself.
pub struct Context<'a> {
    /// The policy in force.
    pub policy: &'a Policy,
    /// Its hash, carried by every log event.
    pub policy_hash: &'a str,
    /// Where refusals and acceptances are logged.
    pub audit: &'a Audit,
    /// This host's name, for messages.
    pub host: &'a str,
    /// Recent authentications.
    pub cache: &'a CredentialCache,
    /// Requests and grants.
    pub grants: &'a crate::grants::Grants,
    /// The moment to decide at (seconds since the epoch): `None`, now;
    /// another moment only to explain the policy.
    pub at: Option<i64>,
}

/// The caller's descriptors that came with the request.
pub type Passed = PassedFds<OwnedFd>;
