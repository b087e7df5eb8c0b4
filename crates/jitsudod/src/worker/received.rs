//! The job as the worker receives it on fd 0: the decided [`Job`], the
//! client's connection, and the caller's descriptors sorted by the job's
//! layout.

use std::os::fd::OwnedFd;

use jitsudo_proto::{decode, FrameReader, PassedFds, MAX_MESSAGE_LEN};
use jitsudo_sys::fd::Std;

use crate::error::Error;
use crate::request::job::Job;

/// The job's descriptors, as received.
pub struct Received {
    /// The client connection.
    pub conn: OwnedFd,
    /// The caller's descriptors, for the command.
    pub caller: CallerFds,
}

/// The caller's descriptors that the command inherits.
pub struct CallerFds {
    /// The caller's stdio descriptors, by slot.
    pub stdio: [Option<OwnedFd>; 3],
    /// The caller's working directory.
    pub cwd: OwnedFd,
    /// The executable the daemon opened and decided on (with a command).
    pub executable: Option<OwnedFd>,
    /// The caller's descriptors above 2 that `-C` keeps open, by number.
    pub kept: Vec<(u32, OwnedFd)>,
}

pub(super) fn receive_job() -> Result<(Job, Received), Error> {
    // Fd 0 is the socketpair the daemon gave us.
    let channel = Std::In.borrow();
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    let frame = reader
        .read_frame(channel)
        .map_err(|e| Error::Job("reading job", e))?
        .ok_or(Error::NoJob)?;
    let job: Job = decode(&frame).map_err(|e| Error::Job("decoding job", e))?;
    let mut fds = reader.take_fds();
    let executable = if job.has_executable() {
        Some(fds.pop().ok_or(Error::JobWithout("executable"))?)
    } else {
        None
    };
    let mut fds = fds.into_iter();
    let conn = fds.next().ok_or(Error::JobWithout("client connection"))?;
    let passed = PassedFds::receive(job.fds, fds.collect()).map_err(|e| Error::Job("job", e))?;
    let PassedFds {
        stdio,
        cwd: Some(cwd),
        kept,
    } = passed
    else {
        return Err(Error::JobWithout("working directory"));
    };
    let caller = CallerFds {
        stdio,
        cwd,
        executable,
        kept,
    };
    Ok((job, Received { conn, caller }))
}
