//! Signals: which ones the client relays to the command, and how it mirrors
//! the command's fatal signal on itself.

use jitsudo_proto::RELAYED_SIGNALS;
use jitsudo_sys::signal::{self, Disposition};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::getpid;

/// Signals the client handles itself: window size changes and being
/// continued after a suspension.
const LOCAL: [Signal; 2] = [Signal::SIGWINCH, Signal::SIGCONT];

/// Routes every relayed and local signal to a `signalfd`.
///
/// Their dispositions are reset to the default first: a signal the caller
/// ignored would otherwise be discarded by the kernel instead of queued.
pub fn route_to_fd() -> nix::Result<SignalFd> {
    let mut set = SigSet::empty();
    for sig in RELAYED_SIGNALS.iter().chain(LOCAL.iter()) {
        set_disposition(*sig, Disposition::Default);
        set.add(*sig);
    }
    // Writes to a vanished terminal or socket must fail with EPIPE, not kill.
    set_disposition(Signal::SIGPIPE, Disposition::Ignore);
    set.thread_block()?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

fn set_disposition(sig: Signal, disposition: Disposition) {
    let _ = signal::set_disposition(sig as libc::c_int, disposition);
}

/// Dies of `signal`, as the command did, so the caller's shell sees the
/// same status (128 + n). Core dumps of the client itself are suppressed.
/// Falls back to exiting with 128 + n if the signal does not kill.
pub fn die_of(signal: i32) -> ! {
    if let Ok(sig) = Signal::try_from(signal) {
        let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
        if sig != Signal::SIGKILL && sig != Signal::SIGSTOP {
            set_disposition(sig, Disposition::Default);
        }
        let _ = kill(getpid(), sig);
        let mut set = SigSet::empty();
        set.add(sig);
        let _ = set.thread_unblock();
    }
    std::process::exit(128 + (signal & 0x7f))
}

/// Stops the client itself with `signal` (the one that stopped the
/// command), so the caller's shell reports the job as sudo's would be
/// ("Stopped", "Stopped (tty input)"). A signal routed to the signalfd is
/// blocked: it is raised, unblocked to take its default action (the
/// client stops here), and blocked again once the client is continued.
pub fn stop_self(signal: i32) {
    let sig = Signal::try_from(signal).unwrap_or(Signal::SIGSTOP);
    let sig = match sig {
        Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU | Signal::SIGSTOP => sig,
        _ => Signal::SIGSTOP,
    };
    let mut set = SigSet::empty();
    set.add(sig);
    let _ = kill(getpid(), sig);
    if RELAYED_SIGNALS.contains(&sig) {
        let _ = set.thread_unblock();
        let _ = set.thread_block();
    }
}
