//! Validate: malformed requests are refused before any lookup.

use jitsudo_proto::{Failure, Request, RunRequest};
use serde_bytes::ByteBuf;

/// Refuses malformed requests before any lookup: no parameter may hold a
/// NUL byte. (Sizes are bounded by the frame limit, the descriptors by
/// [`jitsudo_proto::PassedFds::receive`]; what the kernel will not exec fails there with
/// E2BIG.)
pub fn validate(request: &Request) -> Result<(), Failure> {
    let words: Vec<&ByteBuf> = match request {
        Request::Run(run) | Request::Validate(run) => run_words(run).collect(),
        Request::UseGrant(session) => run_words(&session.request).collect(),
        Request::List(list) => run_words(&list.request).chain(&list.user).collect(),
        Request::Edit(edit) => run_words(&edit.request).chain(&edit.files).collect(),
        Request::Explain(explain) => (explain.argv.iter().chain(&explain.policy))
            .chain(std::iter::once(&explain.user).chain(&explain.run_as))
            .chain(&explain.group)
            .collect(),
        // The grant verbs' strings are checked by crate::grants::workflow.
        Request::ResetTimestamp
        | Request::RemoveTimestamps
        | Request::ReloadPolicy
        | Request::RequestGrant(_)
        | Request::ListGrants(_)
        | Request::Approve(_)
        | Request::Deny(_)
        | Request::Cancel(_)
        | Request::Revoke(_)
        | Request::Done(_)
        | Request::Extend(_)
        | Request::Justify(_)
        | Request::Status => Vec::new(),
    };
    if words.iter().any(|word| word.contains(&0)) {
        return Err(Failure::new("invalid argument: embedded NUL byte"));
    }
    kept_fds(request)
}

/// The caller's descriptors above 2 come only with a command to run, and
/// only those `-C` keeps open (below its number): a request never hands
/// the daemon descriptors it did not ask for.
fn kept_fds(request: &Request) -> Result<(), Failure> {
    let (kept, close_from) = match request {
        Request::Run(run) => (run.kept_fds, run.close_from),
        other => (other.fd_layout().kept, None),
    };
    let below = |n: u32| u64::MAX.checked_shl(n).map_or(u64::MAX, |above| !above);
    match close_from {
        _ if kept == 0 => Ok(()),
        Some(n) if kept & !below(n) == 0 => Ok(()),
        _ => Err(Failure::new(
            "protocol error: descriptors above 2 come only with -C, below its number",
        )),
    }
}

fn run_words(run: &RunRequest) -> impl Iterator<Item = &ByteBuf> {
    (run.argv.iter().chain(&run.env).chain(&run.assignments))
        .chain(run.user.iter().chain(&run.group).chain(&run.chdir))
}
