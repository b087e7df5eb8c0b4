//! The worker: one process per accepted request.
//!
//! The daemon's fork server (fork_server.rs, exec'd once) forks a new,
//! single-threaded worker for each request, and the daemon hands it the
//! decided [`Job`] and the client's connection over a socketpair on fd 0.
//! The worker starts the command child, supervises it (signals from the
//! client, job control, the client going away), reports the exit to the
//! client and logs it. The daemon is not involved any more, so restarting
//! it never disturbs a running command.

mod auth;
mod child;
mod edit;
pub mod fork_server;
mod idle;
mod pipes;
mod pty;
mod received;
mod record;
mod relay;
mod reply;
mod session;
mod spawn;
mod supervise;
mod tap;
pub mod title;
mod tree;
mod watch;

use std::process::ExitCode;

use jitsudo_sys::fd::Std;
use jitsudo_sys::process::{set_urgency, Urgency};

use crate::error::Error;
use fork_server::Role;
use received::receive_job;

/// The entry point of `jitsudod --fork-server` (fd 0: its channel to the
/// daemon), which forks the workers: each serves its job here and ends
/// with [`end`]. `cgroup`: the daemon's cgroup subtree, if cgroup v2 is
/// usable.
pub fn main(cgroup: Option<std::path::PathBuf>) -> ExitCode {
    match fork_server::serve() {
        Role::Done(code) => code,
        Role::Worker => end(serve_one(cgroup.as_deref())),
    }
}

/// Serves the one job the daemon sends this worker, with what it prepared
/// while it waited in the pool ([`idle`]).
fn serve_one(cgroup: Option<&std::path::Path>) -> ExitCode {
    let prepared = match idle::prepare(cgroup) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("jitsudod worker: pam_start: {}", e.text);
            return ExitCode::FAILURE;
        }
    };
    // Prepared (at the fork server's SCHED_BATCH): from here on a request
    // waits for this worker, so its job must wake it at once, and the
    // command must not inherit SCHED_BATCH. If that fails the request is
    // only slower.
    let _ = set_urgency(Urgency::Waited);
    if let idle::Waited::Stopped(signal) = idle::wait_for_job() {
        drop(prepared);
        idle::die_of(signal);
    }
    match receive_job() {
        Ok((job, received)) => {
            title::set(&title::busy(&job));
            // Fd 0 stays the daemon's channel for the worker's life.
            let daemon = Std::In.borrow();
            let idle::Prepared { pam, audit, group } = prepared;
            let status = supervise::run(pam, &audit, job, received, daemon, cgroup);
            drop(group);
            status
        }
        // The daemon stopped, or let this worker go.
        Err(Error::NoJob) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudod worker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ends the worker with `code` once its job is done: everything it must do
/// is done by then (the PAM transaction ended, the session closed, the
/// audit records written, its cgroup removed; those are not left to
/// destructors), so it skips what `exit` would add: atexit handlers and
/// every shared library's destructors (PAM's modules, NSS, libaudit), which
/// hold nothing left to write. Only std's stdout buffer is flushed.
fn end(code: ExitCode) -> ! {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let status = if code == ExitCode::SUCCESS { 0 } else { 1 };
    jitsudo_sys::process::exit_immediately(status)
}
