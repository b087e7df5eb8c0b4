//! Handing an accepted request to a worker process.
//!
//! Workers are started ahead of time (forked by the fork server, see
//! fork_server.rs, so each is a new single-threaded process) and wait on
//! their channel for one job each; taking a ready one keeps the fork off
//! the request's path.
//! The pool is refilled after each handoff, off the request's thread. It keeps [`MIN_READY`] workers
//! ready; a request that finds none ready doubles that number (up to
//! [`MAX_READY`]), so a burst is served by ready workers after its first
//! few requests, and after [`SHRINK_AFTER`] without such a miss the pool
//! shrinks back ([`WorkerPool::trim`]).

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jitsudo_proto::{encode, send_frame};

use crate::fork_server::{ForkServers, Forked};
use crate::request::job::Job;

/// Workers kept ready when requests are few.
const MIN_READY: usize = 2;

/// Most workers kept ready, however busy the daemon: each is a process
/// holding its PAM transaction.
const MAX_READY: usize = 16;

/// How long the pool stays grown after the last request that found no
/// worker ready.
pub const SHRINK_AFTER: Duration = Duration::from_secs(30);

/// A started worker: the process (to follow) and its report channel.
pub struct Worker {
    /// The worker process's pidfd (readable once it has exited; the fork
    /// server's kernel reaps it).
    pub pidfd: OwnedFd,
    /// Its channel: the job goes out, reports come back.
    pub channel: UnixStream,
    /// Counts it among the workers with a request until it is dropped
    /// (set when the job is sent).
    pub with_job: Option<JobCount>,
}

/// One worker counted as having a request; uncounted when dropped.
pub struct JobCount(Arc<AtomicU32>);

impl Drop for JobCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many workers are idle, starting, or have a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Waiting for a job.
    pub idle: usize,
    /// Being started.
    pub starting: usize,
    /// Given a request, not yet reaped.
    pub with_job: u32,
}

/// Workers waiting for a job.
#[derive(Default)]
pub struct WorkerPool {
    slots: Mutex<Slots>,
    /// Workers given a request and not yet reaped.
    with_job: Arc<AtomicU32>,
    /// A refill runs on the blocking pool ([`WorkerPool::refill_in_background`]).
    refilling: AtomicBool,
    /// Where workers come from.
    forks: ForkServers,
}

/// The pool's bookkeeping, under one lock: the ready workers, how many
/// are being started (each start reserves its slot first, so concurrent
/// refills never start more than `ready` between them), how many to keep
/// ready, and when a request last found none.
#[derive(Default)]
struct Slots {
    idle: Vec<Worker>,
    starting: usize,
    grown: Option<Grown>,
}

/// The pool's size while it is grown beyond [`MIN_READY`].
struct Grown {
    ready: usize,
    last_miss: Instant,
}

impl Slots {
    /// How many workers to keep ready now.
    fn ready(&self) -> usize {
        self.grown.as_ref().map_or(MIN_READY, |g| g.ready)
    }

    /// Whether fewer workers are ready or starting than to keep ready.
    fn short(&self) -> bool {
        self.idle.len() + self.starting < self.ready()
    }

    /// A request found no worker ready: keep twice as many ready.
    fn missed(&mut self) {
        let ready = (self.ready() * 2).min(MAX_READY);
        self.grown = Some(Grown {
            ready,
            last_miss: Instant::now(),
        });
    }
}

impl WorkerPool {
    /// Sends the job, with the client's connection, the caller's
    /// descriptors (`fds`, in the job's layout) and the executable to run
    /// (if any), to a ready worker (or a new one if none is ready or the
    /// ready one died). The caller refills the pool afterwards.
    pub fn dispatch(
        &self,
        job: &Job,
        conn: &UnixStream,
        fds: &[RawFd],
        executable: Option<&OwnedFd>,
    ) -> std::io::Result<Worker> {
        let frame = encode(job).map_err(std::io::Error::other)?;
        let mut raw = vec![conn.as_raw_fd()];
        raw.extend_from_slice(fds);
        raw.extend(executable.map(AsRawFd::as_raw_fd));
        let mut worker = match self.take() {
            Some(worker) if send_frame(worker.channel.as_fd(), &frame, &raw).is_ok() => worker,
            stale => {
                drop(stale);
                let worker = self.spawn()?;
                send_frame(worker.channel.as_fd(), &frame, &raw)?;
                worker
            }
        };
        self.with_job.fetch_add(1, Ordering::Relaxed);
        worker.with_job = Some(JobCount(Arc::clone(&self.with_job)));
        Ok(worker)
    }

    /// The longest-waiting worker (the one most surely past its few steps
    /// after the fork). None ready grows the pool.
    fn take(&self) -> Option<Worker> {
        self.with(|slots| {
            if slots.idle.is_empty() {
                slots.missed();
                return None;
            }
            Some(slots.idle.remove(0))
        })
    }

    /// Starts workers until as many as the pool keeps are ready or
    /// starting (best effort). The slot is reserved under the lock and the
    /// fork runs outside it, so refills after a burst never overshoot the
    /// bound.
    /// False if a worker could not be started (the pool is left short).
    pub fn refill(&self) -> bool {
        while self.reserve() {
            let started = self.spawn();
            let failed = self.with(|slots| {
                slots.starting -= 1;
                started.map(|worker| slots.idle.push(worker)).err()
            });
            if let Some(e) = failed {
                eprintln!("jitsudod: cannot start a worker: {e}");
                return false;
            }
        }
        true
    }

    /// Refills the pool on a thread of the blocking pool, unless a refill
    /// already runs there: one at a time (forks are one at a time anyway),
    /// and it looks again before it stops, so a worker taken meanwhile is
    /// replaced too. A worker that cannot be started ends it (the next
    /// handoff tries again), rather than trying again at once.
    pub fn refill_in_background(self: &Arc<Self>) {
        if self.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || loop {
            let filled = pool.refill();
            pool.refilling.store(false, Ordering::Release);
            if !filled || !pool.short() || pool.refilling.swap(true, Ordering::AcqRel) {
                break;
            }
        });
    }

    /// Whether fewer workers are ready or starting than the pool keeps.
    fn short(&self) -> bool {
        self.with(|slots| slots.short())
    }

    /// Shrinks a grown pool back to [`MIN_READY`] once no request found it
    /// empty for [`SHRINK_AFTER`]: the workers beyond that are let go
    /// (their channel closes, they exit without a job).
    pub fn trim(&self) {
        let surplus = self.with(|slots| {
            let calm = slots
                .grown
                .as_ref()
                .is_some_and(|g| g.last_miss.elapsed() >= SHRINK_AFTER);
            if !calm {
                return Vec::new();
            }
            slots.grown = None;
            let keep = slots.idle.len().min(MIN_READY);
            slots.idle.split_off(keep)
        });
        drop(surplus);
    }

    /// Claims one slot for a worker about to be started, if the pool is
    /// short of workers.
    fn reserve(&self) -> bool {
        self.with(|slots| {
            let short = slots.short();
            slots.starting += usize::from(short);
            short
        })
    }

    /// A new worker, forked by the fork server.
    fn spawn(&self) -> std::io::Result<Worker> {
        let Forked { channel, pidfd } = self.forks.fork()?;
        Ok(Worker {
            pidfd,
            channel,
            with_job: None,
        })
    }

    /// The workers now, for `jitsudoctl status`.
    pub fn state(&self) -> PoolState {
        let (idle, starting) = self.with(|slots| (slots.idle.len(), slots.starting));
        PoolState {
            idle,
            starting,
            with_job: self.with_job.load(Ordering::Relaxed),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Slots) -> T) -> T {
        match self.slots.lock() {
            Ok(mut slots) => f(&mut slots),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}
