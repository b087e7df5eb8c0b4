//! The accept loop: one task per connection, SIGHUP reloads the policy,
//! SIGTERM stops accepting (running commands belong to their workers and
//! carry on).

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jitsudo_audit::{Audit, Event, EventKind};
use jitsudo_policy::Policy;
use jitsudo_proto::{
    decode, encode, send_frame, ClientMessage, Failure, FrameReader, ProtoError, Request,
    ServerMessage, MAX_MESSAGE_LEN, PROTOCOL_MAGIC, PROTOCOL_VERSION,
};
use tokio::io::Interest;
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::handler::{self, Context, Identity, Passed, Verdict};
use crate::handoff;
use crate::peer::Peer;
use crate::policy_store;

/// How long a client may take to send its hello and request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// State shared by all connections.
pub struct Shared {
    policy: RwLock<Arc<Policy>>,
    policy_path: PathBuf,
    audit: Audit,
    host: String,
}

impl Shared {
    /// Shared state around a loaded policy.
    pub fn new(policy: Policy, policy_path: PathBuf, audit: Audit) -> Shared {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        Shared {
            policy: RwLock::new(Arc::new(policy)),
            policy_path,
            audit,
            host,
        }
    }

    fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the policy; an invalid one is refused and the old one stays.
    fn reload(&self) {
        match policy_store::load(&self.policy_path) {
            Ok(policy) => {
                if let Ok(mut slot) = self.policy.write() {
                    *slot = Arc::new(policy);
                }
                self.audit
                    .emit(&Event::new(EventKind::PolicyReload).reason("policy reloaded"));
            }
            Err(errors) => {
                eprintln!("jitsudod: policy reload refused, keeping the old policy:\n{errors}");
                self.audit.emit(
                    &Event::new(EventKind::PolicyReload)
                        .with_priority(jitsudo_audit::Priority::Error)
                        .reason(format!("reload refused: {errors}")),
                );
            }
        }
    }
}

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
    shared
        .audit
        .emit(&Event::new(EventKind::DaemonStart).reason("jitsudod started"));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move { connection(stream, shared).await });
                }
                Err(e) => eprintln!("jitsudod: accept: {e}"),
            },
            _ = hup.recv() => shared.reload(),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    shared
        .audit
        .emit(&Event::new(EventKind::DaemonStop).reason("jitsudod stopped"));
}

async fn connection(stream: tokio::net::UnixStream, shared: Arc<Shared>) {
    let peer = match Peer::identify(stream.as_fd()) {
        Ok(peer) => peer,
        Err(e) => return eprintln!("jitsudod: cannot identify peer: {e}"),
    };
    let received = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&stream))
        .await
        .unwrap_or_else(|_| Err("timed out waiting for the request".into()));
    let Ok(stream) = stream.into_std() else {
        return;
    };
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let (request, fds) = match received {
        Ok(received) => received,
        Err(e) => {
            return reply(
                &stream,
                &[ServerMessage::Error(Failure::new(format!(
                    "protocol error: {e}"
                )))],
            )
        }
    };
    let worker =
        tokio::task::spawn_blocking(move || decide(&shared, peer, request, fds, &stream)).await;
    if let Ok(Some(mut worker)) = worker {
        let _ = worker.wait().await;
    }
}

/// Reads the hello (answering it) and the request with its descriptors.
async fn read_request(stream: &tokio::net::UnixStream) -> Result<(Request, Vec<OwnedFd>), String> {
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    match next_message(stream, &mut reader).await? {
        ClientMessage::Hello(hello) if hello.magic != PROTOCOL_MAGIC => {
            return Err("not a jitsudo client".into())
        }
        ClientMessage::Hello(hello) if hello.version != PROTOCOL_VERSION => {
            return Err(format!(
                "unsupported protocol version {} (jitsudod speaks {PROTOCOL_VERSION})",
                hello.version
            ))
        }
        ClientMessage::Hello(_) => {}
        _ => return Err("expected hello".into()),
    }
    let welcome = encode(&ServerMessage::Welcome {
        version: PROTOCOL_VERSION,
    })
    .map_err(|e| e.to_string())?;
    stream
        .try_write(&welcome)
        .map_err(|e| format!("sending welcome: {e}"))?;
    let ClientMessage::Request(request) = next_message(stream, &mut reader).await? else {
        return Err("expected request".into());
    };
    if reader.buffered() > 0 {
        return Err("unexpected data after the request".into());
    }
    Ok((request, reader.take_fds()))
}

async fn next_message(
    stream: &tokio::net::UnixStream,
    reader: &mut FrameReader,
) -> Result<ClientMessage, String> {
    loop {
        if let Some(frame) = reader.next_frame().map_err(|e| e.to_string())? {
            return decode(&frame).map_err(|e| e.to_string());
        }
        stream.readable().await.map_err(|e| e.to_string())?;
        let filled = stream.try_io(Interest::READABLE, || match reader.fill(stream.as_fd()) {
            Err(ProtoError::Io(e)) => Err(e),
            other => Ok(other),
        });
        match filled {
            Ok(Ok(0)) if reader.buffered() > 0 => return Err(ProtoError::Truncated.to_string()),
            Ok(Ok(0)) => return Err("connection closed".into()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Decides (blocking: account lookups, policy, exec resolution) and either
/// replies or starts the worker that takes the connection over.
fn decide(
    shared: &Shared,
    peer: Peer,
    request: Request,
    fds: Vec<OwnedFd>,
    stream: &UnixStream,
) -> Option<tokio::process::Child> {
    if let Err(failure) = handler::validate(&request, fds.len()) {
        reply(stream, &[ServerMessage::Error(failure)]);
        return None;
    }
    let identity = match Identity::of(peer) {
        Ok(identity) => identity,
        Err(failure) => {
            reply(stream, &[ServerMessage::Error(failure)]);
            return None;
        }
    };
    let policy = shared.policy();
    let ctx = Context {
        policy: &policy,
        audit: &shared.audit,
        host: &shared.host,
    };
    let passed = Passed { fds };
    match handler::handle(&ctx, &identity, request, &passed) {
        Verdict::Reply(messages) => {
            reply(stream, &messages);
            None
        }
        Verdict::Run(job) => match handoff::start_worker(&job, stream, &passed.fds) {
            Ok(worker) => Some(worker),
            Err(e) => {
                let text = format!("unable to start a worker: {e}");
                reply(stream, &[ServerMessage::Error(Failure::new(text))]);
                None
            }
        },
    }
}

/// Best effort: a client that went away misses its answer.
fn reply(stream: &UnixStream, messages: &[ServerMessage]) {
    for message in messages {
        if let Ok(frame) = encode(message) {
            if send_frame(stream.as_fd(), &frame, &[]).is_err() {
                return;
            }
        }
    }
}
