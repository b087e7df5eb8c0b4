//! `jitsudod --fork-server`: the process workers are forked from.
//!
//! Exec'ing a fresh `jitsudod` for every request cost the daemon more than
//! anything else it does per request: the dynamic loader relocating every
//! shared library, then PAM loading (and relocating) its modules and the
//! libraries they need. The daemon instead execs this small,
//! single-threaded process, which pays for that once, and asks it over
//! fd 0 for one worker at a time: it forks, and sends the daemon the new
//! worker's channel and a pidfd of it.
//!
//! It keeps PAM's modules loaded by holding a PAM transaction it never
//! uses; each worker still starts a transaction of its own, so it reads the
//! PAM configuration as it is then (a module the configuration names anew
//! is loaded by that worker).
//!
//! What a worker inherits is what a fresh exec would have had, and no more:
//! this process never receives anything from a client or about a request
//! (a request to it is one byte, and it reads nothing else), so its memory
//! holds only its own start-up. Each worker is a new process that serves
//! one job and exits.
//!
//! Its children are reaped by the kernel (`SIGCHLD` ignored); the daemon
//! follows each through its pidfd. If the daemon goes away (its end of
//! fd 0 closes), this process exits and leaves running workers alone.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use jitsudo_sys::fd::Std;
use jitsudo_sys::signal::{set_disposition, Disposition};
use nix::unistd::{setsid, ForkResult};

use super::auth::Transaction;
use super::title;

/// The byte the daemon sends to ask for one worker.
pub const FORK: u8 = b'f';

/// What this process is after [`serve`]: still the fork server (which is
/// done: the daemon went away, or it failed), or a new worker.
pub enum Role {
    /// The fork server ends with this status.
    Done(ExitCode),
    /// A forked worker, its channel installed on fd 0.
    Worker,
}

/// Prepares once what every worker needs, then forks a worker for each
/// request of the daemon until the daemon goes away.
pub fn serve() -> Role {
    title::set_fork_server();
    let _ = setsid();
    let modules = match Transaction::prepare() {
        Ok(modules) => modules,
        Err(e) => {
            eprintln!("jitsudod fork server: pam_start: {}", e.text);
            return Role::Done(ExitCode::FAILURE);
        }
    };
    // Workers are reaped by the kernel; the daemon watches their pidfds.
    if let Err(e) = set_disposition(libc::SIGCHLD, Disposition::Ignore) {
        eprintln!("jitsudod fork server: cannot ignore SIGCHLD: {e}");
        return Role::Done(ExitCode::FAILURE);
    }
    loop {
        match next_request() {
            Ok(true) => {}
            Ok(false) => return Role::Done(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("jitsudod fork server: reading a request: {e}");
                return Role::Done(ExitCode::FAILURE);
            }
        }
        match fork_worker() {
            Ok(Forked::Child) => {
                // The worker starts its own transaction; ending this copy
                // would unload the modules it is about to use.
                std::mem::forget(modules);
                return Role::Worker;
            }
            Ok(Forked::Parent) => {}
            // The daemon sees the failure as a reply without descriptors.
            Err(e) => {
                eprintln!("jitsudod fork server: cannot fork a worker: {e}");
                let _ = jitsudo_proto::send_frame(Std::In.borrow(), &[0], &[]);
            }
        }
    }
}

/// Waits for the daemon's next request: `false` when it has gone away.
fn next_request() -> std::io::Result<bool> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(Std::In.borrow(), &mut byte) {
            Ok(0) => return Ok(false),
            Ok(_) if byte[0] == FORK => return Ok(true),
            Ok(_) => return Err(std::io::Error::other("unknown request")),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Which side of the fork returned.
enum Forked {
    Child,
    Parent,
}

/// Forks one worker with a new channel on its fd 0, and sends the daemon
/// the channel's other end and the worker's pidfd.
fn fork_worker() -> std::io::Result<Forked> {
    // Both ends close-on-exec; the worker gets its end as fd 0.
    let (daemon_end, worker_end) = UnixStream::pair()?;
    match jitsudo_sys::process::fork_single_threaded()? {
        ForkResult::Child => {
            become_worker(worker_end, daemon_end);
            Ok(Forked::Child)
        }
        ForkResult::Parent { child } => {
            drop(worker_end);
            // The worker cannot have exited (and been reaped) yet: it waits
            // for a job on a channel whose other end is still ours.
            let pidfd = jitsudo_sys::pidfd::open(child.as_raw())?;
            let sent = jitsudo_proto::send_frame(
                Std::In.borrow(),
                &[1],
                &[daemon_end.as_raw_fd(), pidfd.as_raw_fd()],
            );
            if sent.is_err() {
                // Nobody will give it a job: the channel closes, it exits.
                drop(daemon_end);
            }
            sent.map(|()| Forked::Parent)
        }
    }
}

/// In the new worker: its own session, default `SIGCHLD` (it waits for its
/// command), its channel on fd 0 in place of the fork server's, and no
/// other descriptor of the fork server's.
fn become_worker(worker_end: UnixStream, daemon_end: UnixStream) {
    let _ = set_disposition(libc::SIGCHLD, Disposition::Default);
    let _ = setsid();
    let installed = jitsudo_sys::fd::install_std(worker_end.as_fd(), Std::In);
    drop(daemon_end);
    drop(worker_end);
    if installed.is_err() {
        // Fd 0 is still the fork server's channel: never serve on it.
        jitsudo_sys::process::exit_immediately(1);
    }
    title::set(title::IDLE);
}
