//! The accept loop: one task per connection, SIGHUP reloads the policy,
//! SIGTERM stops accepting (running commands belong to their workers and
//! carry on). Connections and pending authentications are capped per uid
//! and in total (see [`crate::limits`]).
//!
//! A connection's life: [`admit`] (connection caps) → [`answer`]: identify
//! the peer, [`wire::read_request`], [`route::route`] (the request
//! pipeline, blocking, in place on the connection's thread) → a reply, or [`handover::hand_over`]
//! to a worker whose reports [`handover::follow_worker`] acts on.

mod checkpoint;
mod dbus;
mod handover;
mod retention;
mod route;
mod shared;
mod status;
mod wire;

use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jitsudo_audit::{Event, EventKind};
use jitsudo_proto::{encode, Failure, ServerMessage};
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::error::Error;
use crate::limits::{Cap, Over, Slot};
use crate::peer::Peer;
use handover::{follow_worker, hand_over, trim_workers, Decided, Started};
use route::{route, Routed};
pub use shared::Shared;
use wire::{read_request, send_replies};

/// How long a client may take to send its hello and request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long accepting pauses when the daemon is out of descriptors, so
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An accept error this long after the previous one is logged again.
const ACCEPT_LOG_GAP: Duration = Duration::from_secs(10);

/// Serves until SIGTERM or SIGINT.
pub async fn serve(listener: std::os::unix::net::UnixListener, shared: Arc<Shared>) {
    let listener = match UnixListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return eprintln!("jitsudod: cannot listen: {e}"),
    };
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return eprintln!("jitsudod: cannot install signal handlers");
    };
    shared.audit.emit(&daemon_event(
        EventKind::DaemonStart,
        "jitsudod started",
        &shared,
    ));
    let _ = shared.workers.refill();
    tokio::spawn(trim_workers(Arc::clone(&shared)));
    tokio::spawn(crate::grants::timers::run(Arc::clone(&shared.grants)));
    tokio::spawn(retention::run(Arc::clone(&shared)));
    tokio::spawn(dbus::serve(Arc::clone(&shared)));
    tokio::spawn(checkpoint::run(Arc::clone(&shared)));
    let mut last_accept_error: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => admit(stream, &shared),
                Err(e) => {
                    // Out of descriptors, accept fails again at once: pause
                    // rather than spin, and log the first of a burst.
                    if last_accept_error.is_none_or(|at| at.elapsed() > ACCEPT_LOG_GAP) {
                        eprintln!("jitsudod: accept: {e}");
                    }
                    last_accept_error = Some(Instant::now());
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            _ = hup.recv() => {
                let _ = shared.reload();
                tokio::spawn(retention::sweep_now(Arc::clone(&shared)));
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    shared.audit.emit(&daemon_event(
        EventKind::DaemonStop,
        "jitsudod stopped",
        &shared,
    ));
    checkpoint::at_stop(&shared);
}

/// `daemon.start` or `daemon.stop`, naming the policy in force.
fn daemon_event(kind: EventKind, reason: &str, shared: &Shared) -> Event {
    Event::new(kind)
        .reason(reason)
        .policy_hash(Some(&shared.policy().hash))
}

/// Serves the connection in its own task if its uid is within the
/// connection limits; else tells the client why and closes it.
fn admit(stream: tokio::net::UnixStream, shared: &Arc<Shared>) {
    let Ok(cred) = stream.peer_cred() else {
        return;
    };
    let cap = Cap::connections(&shared.policy().policy.defaults.limits);
    match shared.connections.take(cred.uid(), cap) {
        Ok(slot) => {
            let shared = Arc::clone(shared);
            tokio::spawn(async move { connection(stream, shared, slot).await });
        }
        Err(over) => {
            let text = match over {
                Over::User => "too many connections from your user; try again later",
                Over::Total => "too many connections to jitsudod; try again later",
            };
            // A fresh socket has room for one small frame: no need to wait.
            if let Ok(frame) = encode(&ServerMessage::Error(Failure::new(text))) {
                let _ = stream.try_write(&frame);
            }
        }
    }
}

/// Answers the request or hands it to a worker, then follows the worker.
async fn connection(stream: tokio::net::UnixStream, shared: Arc<Shared>, slot: Slot) {
    if let Some(started) = answer(stream, &shared, slot).await {
        follow_worker(shared, started).await;
    }
}

/// Reads the request, decides it, and either replies or starts a worker.
/// The connection's `slot` is given back as soon as the daemon no longer
/// holds the connection (with a reply: once it is sent).
async fn answer(
    stream: tokio::net::UnixStream,
    shared: &Arc<Shared>,
    slot: Slot,
) -> Option<Started> {
    let wants_origin = shared.policy().policy.uses_origin();
    let peer = match Peer::identify(stream.as_fd(), wants_origin) {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("jitsudod: cannot identify peer: {e}");
            return None;
        }
    };
    let received = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&stream))
        .await
        .unwrap_or(Err(Error::RequestTimeout));
    let (request, fds) = match received {
        Ok(received) => received,
        Err(e) => {
            let text = format!("protocol error: {e}");
            send_replies(&stream, &[ServerMessage::Error(Failure::new(text))]).await;
            return None;
        }
    };
    // Deciding and handing over block (NSS, /proc, the policy, the
    // worker's channel): they run on this thread, which first hands its
    // async work to another one (`block_in_place`), so the request goes on
    // where its bytes were read instead of waking a thread of the blocking
    // pool on its way to the worker.
    let decided = tokio::task::block_in_place(|| match route(shared, peer, request, fds) {
        Routed::Reply(messages) => Decided::Reply(stream, messages, Some(slot)),
        Routed::Work(handover) => hand_over(stream, shared, handover, slot),
    });
    match decided {
        Decided::Started(started) => Some(*started),
        Decided::Reply(stream, messages, slot) => {
            send_replies(&stream, &messages).await;
            drop(slot);
            None
        }
        Decided::Closed => None,
    }
}
