//! Handing an accepted request to a worker process.
//!
//! Workers are started ahead of time (`jitsudod --worker`, exec'd fresh, so
//! each is a clean single-threaded process) and wait on their channel for
//! one job each; taking a ready one keeps the exec off the request's path.
//! The pool refills itself after each handoff.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use jitsudo_proto::{encode, send_frame};

use crate::request::job::Job;
use crate::worker::title;

/// Idle workers kept ready.
const POOL_SIZE: usize = 2;

/// A started worker: the process (to reap) and its report channel.
pub struct Worker {
    /// The worker process.
    pub child: tokio::process::Child,
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
}

/// The pool's bookkeeping, under one lock: the ready workers and how many
/// are being started (each start reserves its slot first, so concurrent
/// refills never start more than `POOL_SIZE` between them).
#[derive(Default)]
struct Slots {
    idle: Vec<Worker>,
    starting: usize,
}

impl WorkerPool {
    /// Sends the job, with the client's connection, the caller's
    /// descriptors (`fds`, in the job's layout) and the executable to run
    /// (if any), to a ready worker (or a new one if none is ready or the
    /// ready one died). The caller refills the pool when the request is
    /// over.
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
                let worker = spawn()?;
                send_frame(worker.channel.as_fd(), &frame, &raw)?;
                worker
            }
        };
        self.with_job.fetch_add(1, Ordering::Relaxed);
        worker.with_job = Some(JobCount(Arc::clone(&self.with_job)));
        Ok(worker)
    }

    /// The longest-waiting worker: the one most surely done with its own
    /// start-up (exec, PAM configuration).
    fn take(&self) -> Option<Worker> {
        self.with(|slots| (!slots.idle.is_empty()).then(|| slots.idle.remove(0)))
    }

    /// Starts workers until `POOL_SIZE` are idle or starting (best
    /// effort). The slot is reserved under the lock and the exec runs
    /// outside it, so refills after a burst never overshoot the bound.
    pub fn refill(&self) {
        while self.reserve() {
            let started = spawn();
            let failed = self.with(|slots| {
                slots.starting -= 1;
                started.map(|worker| slots.idle.push(worker)).err()
            });
            if let Some(e) = failed {
                return eprintln!("jitsudod: cannot start a worker: {e}");
            }
        }
    }

    /// Claims one slot for a worker about to be started, if the pool is
    /// short of `POOL_SIZE`.
    fn reserve(&self) -> bool {
        self.with(|slots| {
            let short = slots.idle.len() + slots.starting < POOL_SIZE;
            slots.starting += usize::from(short);
            short
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

/// Starts one `jitsudod --worker` with a socketpair on its fd 0.
fn spawn() -> std::io::Result<Worker> {
    let (ours, theirs) = UnixStream::pair()?;
    let mut command = tokio::process::Command::new("/proc/self/exe");
    command.arg0(title::argv0()).arg("--worker");
    command.args(crate::audit::worker_args());
    if let Some(subtree) = crate::cgroup::subtree() {
        command.arg("--worker-cgroup").arg(&subtree.dir);
    }
    command
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .kill_on_drop(false);
    // The worker must not inherit the daemon's raised descriptor limit.
    crate::limits::restore_fd_limit_on_exec(command.as_std_mut());
    let child = command.spawn()?;
    Ok(Worker {
        child,
        channel: ours,
        with_job: None,
    })
}
