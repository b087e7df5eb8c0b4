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

use crate::error::Error;
use fork_server::Role;
use received::receive_job;

/// The entry point of `jitsudod --fork-server` (fd 0: its channel to the
/// daemon), which forks the workers: each returns here as a worker with its
/// own channel on fd 0. `cgroup`: the daemon's cgroup subtree, if cgroup v2
/// is usable.
pub fn main(cgroup: Option<std::path::PathBuf>) -> ExitCode {
    match fork_server::serve() {
        Role::Done(code) => code,
        Role::Worker => serve_one(cgroup.as_deref()),
    }
}

/// Serves the one job the daemon sends this worker. Its PAM transaction is
/// started while it waits in the pool (the fork server keeps the modules
/// loaded, so this reads the configuration and little else).
fn serve_one(cgroup: Option<&std::path::Path>) -> ExitCode {
    let pam = match auth::Transaction::prepare() {
        Ok(pam) => pam,
        Err(e) => {
            eprintln!("jitsudod worker: pam_start: {}", e.text);
            return ExitCode::FAILURE;
        }
    };
    match receive_job() {
        Ok((job, received)) => {
            title::set(&title::busy(&job));
            // Fd 0 stays the daemon's channel for the worker's life.
            let daemon = Std::In.borrow();
            supervise::run(pam, job, received.conn, received.caller, daemon, cgroup)
        }
        // The daemon stopped, or let this worker go.
        Err(Error::NoJob) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudod worker: {e}");
            ExitCode::FAILURE
        }
    }
}
