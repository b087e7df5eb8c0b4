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
//! It reaps its children as they end (`SIGCHLD` through a signalfd); the daemon follows each through
//! its pidfd. A worker that crashed (a fault or an abort) ends this process,
//! so the daemon execs a new one: forked workers share its address layout
//! and stack canary, and a fresh exec after each crash leaves nothing to
//! learn by crashing workers one guess at a time. If the daemon goes away
//! (its end of fd 0 closes), this process exits and leaves running workers
//! alone.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use jitsudo_sys::fd::Std;
use jitsudo_sys::process::{set_urgency, Urgency};
use jitsudo_sys::signal::{set_disposition, Disposition};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{setsid, ForkResult, Pid};

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
/// request of the daemon until the daemon goes away or a worker crashes.
pub fn serve() -> Role {
    title::set_fork_server();
    let _ = setsid();
    // Forking and a new worker's preparing are done ahead of any request:
    // at SCHED_BATCH they never preempt the request being served (a
    // worker given a job turns back to SCHED_OTHER). Best effort.
    let _ = set_urgency(Urgency::Background);
    let modules = match Transaction::prepare() {
        Ok(modules) => modules,
        Err(e) => {
            eprintln!("jitsudod fork server: pam_start: {}", e.text);
            return Role::Done(ExitCode::FAILURE);
        }
    };
    load_nss_modules();
    // What every audit record needs (the boot id, SHA-256's CPU probe),
    // done once for every worker.
    jitsudo_audit::prepare();
    // Exited workers are reaped as soon as they end, to see how they ended;
    // the daemon follows them through their pidfds.
    let children = match children_fd() {
        Ok(children) => children,
        Err(e) => {
            eprintln!("jitsudod fork server: cannot watch its workers: {e}");
            return Role::Done(ExitCode::FAILURE);
        }
    };
    loop {
        match next_event(&children) {
            Ok(Event::Request) => {}
            Ok(Event::Children) => {
                let Some(signal) = reap_workers(&children) else {
                    continue;
                };
                // Its siblings share this process's layout and stack
                // canary: the next worker comes from a fresh exec, so
                // guessing them one crash at a time learns nothing.
                eprintln!(
                    "jitsudod fork server: a worker died of {signal}; exiting to be replaced"
                );
                return Role::Done(ExitCode::FAILURE);
            }
            Ok(Event::DaemonGone) => return Role::Done(ExitCode::SUCCESS),
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
                // It waits for its command's SIGCHLD as any process does.
                drop(children);
                let _ = SigSet::from(Signal::SIGCHLD).thread_unblock();
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

/// Loads, once for every worker, what glibc's account lookups load on
/// first use: the NSS modules nsswitch.conf names (`group: files systemd`
/// loads libnss_systemd), and its note that nscd is not running (else each
/// lookup first tries to connect to it, twice). Root's entry and groups
/// tell nothing about any request; a worker still reads nsswitch.conf
/// anew when it changed.
fn load_nss_modules() {
    let _ = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(0));
    let _ = nix::unistd::getgrouplist(c"root", nix::unistd::Gid::from_raw(0));
}

/// `SIGCHLD` blocked and routed to a descriptor, so that the wait for the
/// daemon's next request also sees workers end.
fn children_fd() -> nix::Result<SignalFd> {
    set_disposition(libc::SIGCHLD, Disposition::Default)?;
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    set.thread_block()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

/// What woke the fork server.
enum Event {
    /// The daemon asks for a worker.
    Request,
    /// A worker ended.
    Children,
    /// The daemon's end of the channel closed.
    DaemonGone,
}

/// Waits for the daemon's next request or a worker's end.
fn next_event(children: &SignalFd) -> std::io::Result<Event> {
    loop {
        let mut fds = [
            PollFd::new(Std::In.borrow(), PollFlags::POLLIN),
            PollFd::new(children.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        if fds[1]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            return Ok(Event::Children);
        }
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            return read_request();
        }
    }
}

/// Reads the daemon's one-byte request.
fn read_request() -> std::io::Result<Event> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(Std::In.borrow(), &mut byte) {
            Ok(0) => return Ok(Event::DaemonGone),
            Ok(_) if byte[0] == FORK => return Ok(Event::Request),
            Ok(_) => return Err(std::io::Error::other("unknown request")),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reaps every worker that has exited; the first crash signal one of them
/// died of (a fault or an abort, as a failed guess at the address layout or
/// the stack canary ends), if any.
fn reap_workers(children: &SignalFd) -> Option<Signal> {
    // Signals of ends that happened together merge: drain, then reap all.
    while let Ok(Some(_)) = children.read_signal() {}
    let mut crashed = None;
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Signaled(_, signal, _)) if is_crash(signal) => {
                crashed = crashed.or(Some(signal));
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return crashed,
            Ok(_) => {}
        }
    }
}

/// Whether a process that died of `signal` crashed (rather than was told to
/// stop).
fn is_crash(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGSEGV
            | Signal::SIGBUS
            | Signal::SIGILL
            | Signal::SIGFPE
            | Signal::SIGABRT
            | Signal::SIGSYS
            | Signal::SIGTRAP
    )
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

/// In the new worker: stop signals held back until it waits for its job
/// (one that comes while it prepares must not lose the job on its way),
/// its own session, default `SIGCHLD` (it waits for its command), its channel on fd 0 in place of the fork server's, and no
/// other descriptor of the fork server's.
fn become_worker(worker_end: UnixStream, daemon_end: UnixStream) {
    // Before it can be told from its fork server by its title.
    super::idle::hold_stop_signals();
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
