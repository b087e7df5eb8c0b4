//! The outcome of a request: a reply, or a job for a worker (the last step).

use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

use jitsudo_proto::{Failure, RunRequest, ServerMessage};
use serde_bytes::ByteBuf;

use crate::audit::AuditRecord;
use crate::cache::CacheKey;
use crate::grants::workflow::ReviewDecision;

pub use super::grant_step::PendingUse;
use super::identity::Identity;
use super::job::{Job, PamSpec, PasswordSpec, Then};

/// What to do with the connection.
pub enum Verdict {
    /// Send these and close.
    Reply(Vec<ServerMessage>),
    /// Hand the connection to a worker with this job.
    Work(Box<Work>),
}

/// A job for a worker and what the daemon does with its reports.
pub struct Work {
    /// The job.
    pub job: Job,
    /// Where to record a successful authentication (`None` for `-k command`
    /// or when the caller's scope is unknown).
    pub remember: Option<CacheKey>,
    /// The executable decided on, which the worker runs (with a command).
    pub executable: Option<OwnedFd>,
    /// A review to record once the worker reports the reviewer
    /// authenticated ([`Then::Review`]).
    pub review: Option<PendingReview>,
    /// A grant use to count once the worker reports the command admitted
    /// ([`crate::request::job::Report::Admitted`]).
    pub grant_use: Option<PendingUse>,
}

/// A review waiting for its reviewer's authentication.
pub struct PendingReview {
    /// The request.
    pub id: String,
    /// Approve or deny.
    pub decision: ReviewDecision,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// The reviewer.
    pub who: Identity,
}

/// A worker job: PAM (asking for a password if `ask`), then `then`.
pub fn work(
    who: &Identity,
    request: &RunRequest,
    target: &[u8],
    ask: Option<PasswordSpec>,
    then: Then,
    audit: AuditRecord,
) -> Verdict {
    let remember = if request.reset_timestamp || request.no_update || ask.is_none() {
        None
    } else {
        who.cache_key()
    };
    Verdict::Work(Box::new(Work {
        job: Job {
            fds: request.fd_layout(),
            caller_uid: who.peer.uid,
            pam: PamSpec {
                user: ByteBuf::from(who.account.name.as_bytes().to_vec()),
                target: ByteBuf::from(target.to_vec()),
                tty: who.peer.tty.as_ref().map(|t| format!("/dev/{t}")),
                password: ask,
            },
            then,
            audit,
        },
        remember,
        executable: None,
        review: None,
        grant_use: None,
    }))
}

impl Verdict {
    /// The same verdict, whose worker's command counts as a use of a
    /// grant once the caller authenticated.
    pub fn with_grant_use(mut self, grant_use: Option<PendingUse>) -> Verdict {
        if let Verdict::Work(work) = &mut self {
            work.grant_use = grant_use;
        }
        self
    }

    /// The same verdict, whose worker (if any) runs `executable`.
    pub fn with_executable(mut self, executable: OwnedFd) -> Verdict {
        if let Verdict::Work(work) = &mut self {
            work.executable = Some(executable);
        }
        self
    }
}

/// A failure as the reply: an error message, then the connection closes.
pub fn failed(failure: Failure) -> Vec<ServerMessage> {
    vec![ServerMessage::Error(failure)]
}
