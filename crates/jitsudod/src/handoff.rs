//! Handing an accepted request to a fresh worker process.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Stdio;

use jitsudo_proto::{encode, send_frame};

use crate::job::Job;

/// A started worker: the process (to reap) and its report channel.
pub struct Worker {
    /// The worker process.
    pub child: tokio::process::Child,
    /// Where it reports (authentication results).
    pub channel: UnixStream,
}

/// Starts `jitsudod --worker` and sends it the job with the client's
/// connection and descriptors.
pub fn start_worker(job: &Job, conn: &UnixStream, fds: &[OwnedFd]) -> std::io::Result<Worker> {
    let (ours, theirs) = UnixStream::pair()?;
    let child = tokio::process::Command::new("/proc/self/exe")
        .arg("--worker")
        .stdin(Stdio::from(OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        .kill_on_drop(false)
        .spawn()?;
    let frame = encode(job).map_err(std::io::Error::other)?;
    let mut raw = vec![conn.as_raw_fd()];
    raw.extend(fds.iter().map(AsRawFd::as_raw_fd));
    send_frame(ours.as_fd(), &frame, &raw)?;
    Ok(Worker {
        child,
        channel: ours,
    })
}
