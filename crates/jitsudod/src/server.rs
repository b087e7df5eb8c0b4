//! The accept loop: one task per connection, SIGHUP reloads the policy,
//! SIGTERM stops accepting (running commands belong to their workers and
//! carry on). Connections and pending authentications are capped per uid
//! and in total (see [`crate::limits`]).

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jitsudo_audit::{Audit, Event, EventKind};
use jitsudo_proto::{
    decode, encode, ClientMessage, Failure, FrameReader, PassedFds, ProtoError, Request,
    ServerMessage, MAX_MESSAGE_LEN, PROTOCOL_MAGIC, PROTOCOL_VERSION,
};
use tokio::io::Interest;
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::cache::{CacheKey, CredentialCache};
use crate::handoff::{self, WorkerPool};
use crate::limits::{Cap, Over, Slot, Tally};
use crate::peer::Peer;
use crate::policy_store::{self, Loaded};
use crate::request::job::Report;
use crate::request::{self, Context, Identity, Passed, Verdict};

/// Failed password attempts per uid allowed within [`FAILURE_WINDOW`].
const MAX_RECENT_FAILURES: usize = 30;
/// The window over which failed attempts are counted.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// How long a client may take to send its hello and request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to read the daemon's replies.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long accepting pauses when the daemon is out of descriptors, so
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// An accept error this long after the previous one is logged again.
const ACCEPT_LOG_GAP: Duration = Duration::from_secs(10);

/// State shared by all connections.
pub struct Shared {
    policy: RwLock<Arc<Loaded>>,
    policy_path: PathBuf,
    audit: Audit,
    host: String,
    cache: CredentialCache,
    workers: WorkerPool,
    /// Recent failed password attempts per uid: past a limit, new prompts
    /// are refused for a while, so parallel connections cannot multiply
    /// the guessing speed PAM's failure delay allows one terminal.
    failures: Mutex<HashMap<u32, VecDeque<Instant>>>,
    /// Connections held, before they are answered or handed to a worker.
    connections: Arc<Tally>,
    /// Requests whose worker waits at a password prompt.
    pending_auth: Arc<Tally>,
}

impl Shared {
    /// Shared state around a loaded policy.
    pub fn new(policy: Loaded, policy_path: PathBuf, audit: Audit) -> Shared {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        Shared {
            policy: RwLock::new(Arc::new(policy)),
            policy_path,
            audit,
            host,
            cache: CredentialCache::default(),
            workers: WorkerPool::default(),
            failures: Mutex::new(HashMap::new()),
            connections: Tally::new("connections"),
            pending_auth: Tally::new("password prompts"),
        }
    }

    fn with_failures<T>(&self, uid: u32, f: impl FnOnce(&mut VecDeque<Instant>) -> T) -> T {
        let mut map = match self.failures.lock() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        let recent = map.entry(uid).or_default();
        while recent
            .front()
            .is_some_and(|at| at.elapsed() > FAILURE_WINDOW)
        {
            recent.pop_front();
        }
        let result = f(recent);
        if recent.is_empty() {
            map.remove(&uid);
        }
        result
    }

    /// Whether `uid` failed too often lately to be asked again now.
    fn too_many_failures(&self, uid: u32) -> bool {
        self.with_failures(uid, |recent| recent.len() >= MAX_RECENT_FAILURES)
    }

    fn record_failure(&self, uid: u32) {
        self.with_failures(uid, |recent| recent.push_back(Instant::now()));
    }

    fn policy(&self) -> Arc<Loaded> {
        match self.policy.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Re-reads the policy atomically: an invalid one is refused (its
    /// errors returned and logged) and the old one stays in force.
    fn reload(&self) -> Result<(), policy_store::LoadError> {
        match policy_store::load(&self.policy_path) {
            Ok(policy) => {
                let event = Event::new(EventKind::PolicyReload)
                    .policy_hash(Some(&policy.hash))
                    .reason("policy reloaded");
                match self.policy.write() {
                    Ok(mut slot) => *slot = Arc::new(policy),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(policy),
                }
                self.audit.emit(&event);
                Ok(())
            }
            Err(errors) => {
                eprintln!("jitsudod: policy reload refused, keeping the old policy:\n{errors}");
                self.audit.emit(
                    &Event::new(EventKind::PolicyReload)
                        .with_priority(jitsudo_audit::Priority::Error)
                        .reason(format!("reload refused: {errors}")),
                );
                Err(errors)
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
    shared.workers.refill();
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
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    shared
        .audit
        .emit(&Event::new(EventKind::DaemonStop).reason("jitsudod stopped"));
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
/// holds the connection.
async fn answer(
    stream: tokio::net::UnixStream,
    shared: &Arc<Shared>,
    slot: Slot,
) -> Option<Started> {
    let peer = match Peer::identify(stream.as_fd()) {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("jitsudod: cannot identify peer: {e}");
            return None;
        }
    };
    let received = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&stream))
        .await
        .unwrap_or_else(|_| Err("timed out waiting for the request".into()));
    let (request, fds) = match received {
        Ok(received) => received,
        Err(e) => {
            let text = format!("protocol error: {e}");
            send_replies(&stream, &[ServerMessage::Error(Failure::new(text))]).await;
            return None;
        }
    };
    let deciding = Arc::clone(shared);
    let decided = tokio::task::spawn_blocking(move || decide(&deciding, peer, request, fds))
        .await
        .ok()?;
    match decided {
        Decided::Reply(messages) => {
            send_replies(&stream, &messages).await;
            None
        }
        Decided::Work(handover) => hand_over(stream, shared, handover, slot).await,
    }
}

/// Hands the connection to a worker (the socket goes back to blocking
/// mode: it is the worker's now); if none can start, says so.
async fn hand_over(
    stream: tokio::net::UnixStream,
    shared: &Arc<Shared>,
    handover: Handover,
    slot: Slot,
) -> Option<Started> {
    let stream = stream.into_std().ok()?;
    stream.set_nonblocking(false).ok()?;
    let dispatching = Arc::clone(shared);
    let dispatched = tokio::task::spawn_blocking(move || {
        let work = &handover.work;
        let result = dispatching.workers.dispatch(
            &work.job,
            &stream,
            &handover.passed.raw(),
            work.executable.as_ref(),
        );
        // The worker has the connection now: its client may finish and
        // connect again before this task runs again.
        drop(slot);
        (result, stream, handover)
    })
    .await
    .ok()?;
    match dispatched {
        (Ok(worker), _, handover) => Some(Started {
            worker,
            remember: handover.work.remember,
            uid: handover.uid,
            pending: handover.pending,
        }),
        (Err(e), stream, _) => {
            let text = format!("unable to start a worker: {e}");
            let stream = stream
                .set_nonblocking(true)
                .and_then(|()| tokio::net::UnixStream::from_std(stream))
                .ok()?;
            send_replies(&stream, &[ServerMessage::Error(Failure::new(text))]).await;
            None
        }
    }
}

/// Writes the replies, giving up on a client that does not read them
/// within [`SEND_TIMEOUT`] (it must not hold a daemon task).
async fn send_replies(stream: &tokio::net::UnixStream, messages: &[ServerMessage]) {
    let all = async {
        for message in messages {
            let frame = encode(message).map_err(std::io::Error::other)?;
            write_all(stream, &frame).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, all).await;
}

async fn write_all(stream: &tokio::net::UnixStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A worker the daemon started, with what to do with its reports.
struct Started {
    worker: handoff::Worker,
    remember: Option<CacheKey>,
    /// The caller.
    uid: u32,
    /// Held while the worker waits for a password.
    pending: Option<Slot>,
}

/// Acts on the worker's reports and reaps it.
async fn follow_worker(shared: Arc<Shared>, started: Started) {
    let Started {
        worker,
        remember,
        uid,
        mut pending,
    } = started;
    let mut child = worker.child;
    if let Ok(channel) = worker
        .channel
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(worker.channel))
    {
        let mut reader = FrameReader::new(1024);
        while let Ok(report) = next_message::<Report>(&channel, &mut reader).await {
            match report {
                Report::Authenticated => {
                    pending = None;
                    if let Some(key) = remember {
                        let timeout = shared.policy().policy.defaults.timestamp_timeout;
                        shared.cache.remember(key, timeout);
                    }
                }
                Report::AuthFailed => shared.record_failure(uid),
            }
        }
    }
    drop(pending);
    let _ = child.wait().await;
    // Replace the worker now that the request is over, so starting the new
    // one never competes with a running request for the CPU.
    let _ = tokio::task::spawn_blocking(move || shared.workers.refill()).await;
}

/// Reads the hello (answering it) and the request with its descriptors.
async fn read_request(stream: &tokio::net::UnixStream) -> Result<(Request, Vec<OwnedFd>), String> {
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    match next_message::<ClientMessage>(stream, &mut reader).await? {
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
    let ClientMessage::Request(request) =
        next_message::<ClientMessage>(stream, &mut reader).await?
    else {
        return Err("expected request".into());
    };
    if reader.buffered() > 0 {
        return Err("unexpected data after the request".into());
    }
    Ok((request, reader.take_fds()))
}

async fn next_message<T: serde::de::DeserializeOwned>(
    stream: &tokio::net::UnixStream,
    reader: &mut FrameReader,
) -> Result<T, String> {
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

/// What to do with a decided request.
enum Decided {
    /// Answer and close.
    Reply(Vec<ServerMessage>),
    /// Hand it to a worker.
    Work(Handover),
}

/// An accepted request on its way to a worker.
struct Handover {
    work: Box<request::Work>,
    passed: Passed,
    uid: u32,
    /// Held while the worker waits for a password.
    pending: Option<Slot>,
}

fn refusal(failure: Failure) -> Decided {
    Decided::Reply(vec![ServerMessage::Error(failure)])
}

/// Decides (blocking: account lookups, policy, exec resolution).
fn decide(shared: &Shared, peer: Peer, request: Request, fds: Vec<OwnedFd>) -> Decided {
    let passed = match PassedFds::receive(request.fd_layout(), fds) {
        Ok(passed) => passed,
        Err(e) => return refusal(Failure::new(format!("protocol error: {e}"))),
    };
    if let Err(failure) = request::validate(&request) {
        return refusal(failure);
    }
    if request == Request::ReloadPolicy {
        return Decided::Reply(vec![reload_reply(shared, peer.uid)]);
    }
    let identity = match Identity::of(peer) {
        Ok(identity) => identity,
        Err(failure) => return refusal(failure),
    };
    let policy = shared.policy();
    let ctx = Context {
        policy: &policy.policy,
        policy_hash: &policy.hash,
        audit: &shared.audit,
        host: &shared.host,
        cache: &shared.cache,
        at: None,
    };
    let work = match request::handle(&ctx, &identity, request, &passed) {
        Verdict::Reply(messages) => return Decided::Reply(messages),
        Verdict::Work(work) => work,
    };
    let uid = identity.peer.uid;
    let mut pending = None;
    if work.job.pam.password.is_some() {
        if shared.too_many_failures(uid) {
            let text = "too many failed authentication attempts; try again later";
            let record = &work.job.audit;
            shared
                .audit
                .emit(&record.event(EventKind::AuthFail).reason(text));
            return refusal(Failure::new(text));
        }
        let cap = Cap::pending_auth(&policy.policy.defaults.limits);
        match shared.pending_auth.take(uid, cap) {
            Ok(slot) => pending = Some(slot),
            Err(over) => return refusal(Failure::new(too_many_prompts(over))),
        }
    }
    Decided::Work(Handover {
        work,
        passed,
        uid,
        pending,
    })
}

/// Why a request that needs a password is refused when too many wait.
fn too_many_prompts(over: Over) -> &'static str {
    match over {
        Over::User => {
            "too many of your requests are waiting for a password; \
             answer or cancel them, then try again"
        }
        Over::Total => "too many requests are waiting for a password; try again later",
    }
}

/// `jitsudoctl policy reload`: root only; the errors of a refused policy
/// go back to the caller.
fn reload_reply(shared: &Shared, uid: u32) -> ServerMessage {
    if uid != 0 {
        return ServerMessage::Error(Failure::new("only root may reload the policy"));
    }
    match shared.reload() {
        Ok(()) => ServerMessage::PolicyReloaded,
        Err(errors) => ServerMessage::Error(Failure::new(format!(
            "policy reload refused, the old policy stays in force:\n{errors}"
        ))),
    }
}
