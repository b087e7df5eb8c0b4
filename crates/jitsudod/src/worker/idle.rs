//! What a worker does while it waits in the pool: everything its job will
//! need that does not depend on the job, so that less is left between the
//! job's arrival and the command's start.
//!
//! - its PAM transaction, started ([`super::auth::Transaction::prepare`]);
//! - the audit sinks' journald socket, syslog connection and the trail's
//!   open files ([`jitsudo_audit::Audit::prepare`]; each worker opens its
//!   own: workers share no descriptor), and whether `/dev/log` is
//!   journald's socket, whose forwarding then delivers the syslog line
//!   ([`jitsudo_audit::Syslog::deferring_to`]: a stat of both paths, per
//!   worker, so that a syslog daemon replaced while the daemon runs is
//!   seen by the next worker);
//! - the C library's syslog connection and time zone, which PAM's modules
//!   log through (`pam_unix` opening the session, ...): `openlog` with
//!   `LOG_NDELAY` connects to /dev/log now rather than at the first
//!   message, leaving the ident and facility as they were;
//! - its command's cgroup `cmd-<worker pid>` ([`super::tree::Ready`]),
//!   removed again when the worker ends without using it: no job came, the
//!   job needed none (a reply, a command under a grant), or a stop signal
//!   (`SIGTERM`, `SIGINT`, `SIGHUP`, `SIGQUIT`) ended the wait.
//!
//! Those signals are held back (blocked, read from a signalfd) from the
//! worker's start until its wait ends. One that comes meanwhile closes the
//! channel for reading (the daemon's next job goes to another worker),
//! removes the group, and the worker dies of it as it would have; a job
//! that reached the channel first is served instead. Afterwards the
//! worker's mask is what it was.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use jitsudo_sys::fd::Std;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{recv, shutdown, MsgFlags, Shutdown};

use super::auth::Transaction;
use super::tree::Ready;
use crate::pam::PamError;

/// A worker's preparations for its job.
pub struct Prepared {
    /// Its PAM transaction.
    pub pam: Transaction,
    /// Its audit sinks.
    pub audit: jitsudo_audit::Audit,
    /// Its command's cgroup, made ahead (removed on drop if unused).
    pub group: Ready,
}

/// Prepares what the job will need; `cgroup` is the daemon's subtree, if
/// cgroup v2 is usable.
pub fn prepare(cgroup: Option<&Path>) -> Result<Prepared, PamError> {
    let pam = Transaction::prepare()?;
    let audit = crate::audit::sinks();
    audit.prepare();
    prepare_c_syslog();
    Ok(Prepared {
        pam,
        audit,
        group: Ready::make(cgroup),
    })
}

/// Connects the C library's syslog and loads the time zone its messages'
/// timestamps need (what PAM's first message would do).
fn prepare_c_syslog() {
    use nix::syslog::{openlog, Facility, LogFlags};
    // LOG_USER is the C library's default facility; PAM names its own
    // (LOG_AUTHPRIV) in every message.
    let _ = openlog(None, LogFlags::LOG_NDELAY, Facility::LOG_USER);
    let _ = jitsudo_sys::time::local_utc_offset(0);
}

/// How the wait for the job ended.
pub enum Waited {
    /// Something came on the channel (a job, or its end).
    Channel,
    /// A stop signal came first: the worker is to die of it, after what it
    /// prepared is undone.
    Stopped(Signal),
}

/// Holds the stop signals back from the worker's start (see
/// [`wait_for_job`]): one that comes while it prepares waits for the wait.
pub fn hold_stop_signals() {
    let _ = stop_signals().thread_block();
}

/// Waits until the daemon's channel (fd 0) has something to read, or a
/// stop signal comes (held back since [`hold_stop_signals`]). On error the
/// channel is read anyway (which then reports it).
pub fn wait_for_job() -> Waited {
    let stops = stop_signals();
    let waited = wait(&stops);
    // A stop signal still pending acts now, as it would have during the
    // wait, unless the wait found it first.
    if matches!(waited, Waited::Channel) {
        let _ = stops.thread_unblock();
    }
    waited
}

fn wait(stops: &SigSet) -> Waited {
    let Ok(signals) = SignalFd::with_flags(stops, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
    else {
        return Waited::Channel;
    };
    loop {
        let mut fds = [
            PollFd::new(Std::In.borrow(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return Waited::Channel,
        }
        if let Ok(Some(info)) = signals.read_signal() {
            if let Ok(signal) = Signal::try_from(info.ssi_signo as i32) {
                return stopped(signal);
            }
        }
        if fds[0].revents().is_some_and(|r| !r.is_empty()) {
            return Waited::Channel;
        }
    }
}

/// A stop signal came. A job already on the channel came first, and is
/// served. Otherwise the channel is closed for reading before the worker
/// goes, so that the daemon's send of a job fails and it gives the job to
/// another worker, rather than losing it with this one; a job that slipped
/// in before the close is served too (its channel then carries reports to
/// the daemon but no replies back, so a review or a grant use fails closed).
fn stopped(signal: Signal) -> Waited {
    if job_queued() {
        return Waited::Channel;
    }
    let _ = shutdown(Std::In.borrow().as_raw_fd(), Shutdown::Read);
    if job_queued() {
        return Waited::Channel;
    }
    Waited::Stopped(signal)
}

/// Whether something is waiting on the channel (peeked, not read).
fn job_queued() -> bool {
    let mut byte = [0u8; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    matches!(recv(Std::In.borrow().as_raw_fd(), &mut byte, flags), Ok(n) if n > 0)
}

/// Dies of `signal` (default action, unblocked), what it prepared undone
/// by then.
pub fn die_of(signal: Signal) -> ! {
    let _ = jitsudo_sys::signal::set_disposition(
        signal as i32,
        jitsudo_sys::signal::Disposition::Default,
    );
    let _ = nix::sys::signal::raise(signal);
    let _ = SigSet::from(signal).thread_unblock();
    // Not reached: the signal's default action ends the process.
    jitsudo_sys::process::exit_immediately(1)
}

/// The signals that end a waiting worker.
fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(signal);
    }
    set
}
