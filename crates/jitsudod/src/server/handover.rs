//! Handing an accepted connection to a worker, and following the worker's
//! reports (authenticated → credential cache; failed → rate limit;
//! admitted under a grant → the use counted) until it exits. The pool is
//! refilled as soon as a worker is taken.

use std::sync::Arc;

use jitsudo_proto::tokio_codec::read_message;
use jitsudo_proto::{Failure, FrameReader, ServerMessage};

use super::route::Handover;
use super::wire::send_message;
use super::Shared;
use crate::cache::CacheKey;
use crate::handoff;
use crate::limits::Slot;
use crate::request::grant_step;
use crate::request::grant_verbs;
use crate::request::job::Report;
use crate::request::{PendingReview, PendingUse};

/// What became of a decided connection: a worker has it, or the daemon
/// replies (holding the connection's slot, if any, until that is sent).
pub(super) enum Decided {
    /// A worker has the connection.
    Started(Box<Started>),
    /// Replies to send before closing.
    Reply(tokio::net::UnixStream, Vec<ServerMessage>, Option<Slot>),
    /// The connection could not be kept: it is closed.
    Closed,
}

/// Hands the connection to a worker (the socket goes back to blocking
/// mode: it is the worker's now); if none can start, the reply says so.
/// Blocking: runs on the thread that decided the request.
pub(super) fn hand_over(
    stream: tokio::net::UnixStream,
    shared: &Shared,
    handover: Handover,
    slot: Slot,
) -> Decided {
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(_) => return Decided::Closed,
    };
    let work = &handover.work;
    let result = stream.set_nonblocking(false).and_then(|()| {
        shared.workers.dispatch(
            &work.job,
            &stream,
            &handover.passed.raw(),
            work.executable.as_ref(),
        )
    });
    // The worker has the connection now: its client may finish and
    // connect again before this task returns.
    drop(slot);
    // Ready the next worker now (in a burst the next request is already
    // waiting), on a thread of its own: this request's reports are
    // followed as soon as this returns, not after the fork.
    shared.workers.refill_in_background();
    match result {
        Ok(worker) => {
            let work = *handover.work;
            Decided::Started(Box::new(Started {
                worker,
                remember: work.remember,
                uid: handover.uid,
                pending: handover.pending,
                review: work.review,
                grant_use: work.grant_use,
            }))
        }
        Err(e) => {
            let text = format!("unable to start a worker: {e}");
            let reply = vec![ServerMessage::Error(Failure::new(text))];
            match stream
                .set_nonblocking(true)
                .and_then(|()| tokio::net::UnixStream::from_std(stream))
            {
                Ok(stream) => Decided::Reply(stream, reply, None),
                Err(_) => Decided::Closed,
            }
        }
    }
}

/// A worker the daemon started, with what to do with its reports.
pub(super) struct Started {
    worker: handoff::Worker,
    remember: Option<CacheKey>,
    /// The caller.
    uid: u32,
    /// Held while the worker waits for a password.
    pending: Option<Slot>,
    /// A review to record once the reviewer authenticated.
    review: Option<PendingReview>,
    /// A grant use to count once the worker admitted the command.
    grant_use: Option<PendingUse>,
}

/// Acts on the worker's reports and waits for it to exit.
pub(super) async fn follow_worker(shared: Arc<Shared>, started: Started) {
    let Started {
        worker,
        remember,
        uid,
        mut pending,
        mut review,
        mut grant_use,
    } = started;
    let process = worker.pidfd;
    let counted = worker.with_job;
    if let Ok(channel) = worker
        .channel
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(worker.channel))
    {
        let mut reader = FrameReader::new(1024);
        while let Ok(report) = read_message::<Report>(&channel, &mut reader).await {
            match report {
                Report::Authenticated => {
                    pending = None;
                    if let Some(key) = remember {
                        let timeout = shared.policy().policy.defaults.timestamp_timeout;
                        shared.cache.remember(key, timeout);
                    }
                    if let Some(review) = review.take() {
                        answer_review(&shared, &channel, review).await;
                    }
                }
                Report::AuthFailed => shared.record_failure(uid),
                Report::Admitted => {
                    if let Some(grant_use) = grant_use.take() {
                        count_use(&shared, &channel, grant_use).await;
                    }
                }
            }
        }
    }
    drop(pending);
    exited(process).await;
    drop(counted);
}

/// Waits until the worker behind `pidfd` has exited (its pidfd becomes
/// readable); returns at once if it cannot be watched.
async fn exited(pidfd: std::os::fd::OwnedFd) {
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;
    // Deprecated because a generic `AsRawFd` may hand out another
    // descriptor later; an `OwnedFd` owns its one descriptor until the
    // AsyncFd drops it, which is what the unsafe constructor asks for.
    #[allow(deprecated)]
    let watched = AsyncFd::with_interest(pidfd, Interest::READABLE);
    if let Ok(watched) = watched {
        let _ = watched.readable().await;
    }
}

/// Records a review whose reviewer just authenticated, and sends the
/// replies to the worker, which relays them.
async fn answer_review(
    shared: &Arc<Shared>,
    channel: &tokio::net::UnixStream,
    review: PendingReview,
) {
    let recording = Arc::clone(shared);
    let replies = tokio::task::spawn_blocking(move || {
        let policy = recording.policy();
        let ctx = recording.context(&policy);
        grant_verbs::record_review(&ctx, &review)
    })
    .await
    .unwrap_or_else(|_| {
        vec![ServerMessage::Error(Failure::new(
            "jitsudod failed to record the review",
        ))]
    });
    send_message(channel, &replies).await;
}

/// Counts the grant use of a command the worker just admitted, and sends the
/// worker the replies (a refusal if the grant ended meanwhile) to relay
/// before it starts the command.
async fn count_use(shared: &Arc<Shared>, channel: &tokio::net::UnixStream, grant_use: PendingUse) {
    let counting = Arc::clone(shared);
    let replies =
        tokio::task::spawn_blocking(move || grant_step::count_use(&counting.grants, &grant_use))
            .await
            .unwrap_or_else(|_| {
                vec![ServerMessage::Error(Failure::new(
                    "jitsudod failed to count the grant's use",
                ))]
            });
    send_message(channel, &replies).await;
}

/// Lets a pool grown by a burst shrink once the burst is over.
pub(super) async fn trim_workers(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(handoff::SHRINK_AFTER).await;
        shared.workers.trim();
    }
}
