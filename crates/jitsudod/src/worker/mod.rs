//! `jitsudod --worker`: one process per accepted request.
//!
//! The daemon fork+execs a fresh, single-threaded worker and hands it the
//! decided [`Job`] and the client's connection over a socketpair on fd 0.
//! The worker starts the command child, supervises it (signals from the
//! client, job control, the client going away), reports the exit to the
//! client and logs it. The daemon is not involved any more, so restarting
//! it never disturbs a running command.

mod auth;
mod child;
mod edit;
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
use jitsudo_sys::process;
use nix::unistd::setsid;

use crate::error::Error;
use received::receive_job;

/// The worker's entry point; fd 0 is the socketpair from the daemon.
/// `cgroup`: the daemon's cgroup subtree, if cgroup v2 is usable.
pub fn main(cgroup: Option<std::path::PathBuf>) -> ExitCode {
    title::set(title::IDLE);
    let _ = setsid();
    // Started ahead of the job, at a low priority so that getting ready
    // never slows a request in flight: PAM's configuration and modules are
    // loaded while the worker waits in the pool. A worker started for a
    // request already waiting (none was ready) gets ready at full speed.
    let priority = Priority::lower_unless_job_waits();
    let pam = match auth::Transaction::prepare() {
        Ok(pam) => pam,
        Err(e) => {
            eprintln!("jitsudod worker: pam_start: {}", e.text);
            return ExitCode::FAILURE;
        }
    };
    let job = receive_job();
    // The command must run at the priority the daemon had, not ours.
    priority.restore();
    match job {
        Ok((job, received)) => {
            title::set(&title::busy(&job));
            // Fd 0 stays the daemon's channel for the worker's life.
            let daemon = Std::In.borrow();
            supervise::run(
                pam,
                job,
                received.conn,
                received.caller,
                daemon,
                cgroup.as_deref(),
            )
        }
        // The daemon stopped.
        Err(Error::NoJob) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudod worker: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The worker's scheduling priority while it waits for a job.
struct Priority {
    original: Option<i32>,
}

/// How much lower an idle worker runs (nice increment).
const IDLE_NICENESS: i32 = 10;

impl Priority {
    fn lower_unless_job_waits() -> Priority {
        if job_waits() {
            return Priority { original: None };
        }
        let original = process::priority().ok();
        if let Some(original) = original {
            let _ = process::set_priority(original + IDLE_NICENESS);
        }
        Priority { original }
    }

    fn restore(self) {
        // Root may raise its priority back.
        if let Some(original) = self.original {
            let _ = process::set_priority(original);
        }
    }
}

/// Whether the daemon has already sent the job (or closed the channel).
fn job_waits() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(Std::In.borrow(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|ready| ready > 0)
}
