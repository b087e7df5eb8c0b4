//! The daemon's side of the fork server (worker/fork_server.rs): starting
//! it, asking it for one worker at a time, and replacing it when it dies,
//! stops answering, or has forked [`FORKS_PER_SERVER`] workers.
//!
//! It is exec'd fresh (`posix_spawn`: nothing of the daemon runs in it
//! before the exec) with a socketpair on fd 0 and the daemon's original
//! descriptor limit, which the workers it forks inherit.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use crate::worker::fork_server::FORK;
use crate::worker::title;

/// Workers one fork server forks before it is replaced by a freshly
/// exec'd one: forked workers share its address-space layout (and stack
/// canary), so this bounds how many requests share one.
const FORKS_PER_SERVER: u32 = 256;

/// How long the daemon waits for a fork server's reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// A worker just forked: its channel (fd 0 on its side) and its pidfd.
pub struct Forked {
    /// The daemon's end of the worker's channel.
    pub channel: UnixStream,
    /// The worker process, readable once it has exited.
    pub pidfd: OwnedFd,
}

/// The fork server in use, if one is running.
#[derive(Default)]
pub struct ForkServers {
    current: Mutex<Option<ForkServer>>,
}

/// A running fork server.
struct ForkServer {
    /// Reaped by tokio once it exits (also after it is dropped).
    process: tokio::process::Child,
    channel: UnixStream,
    forks: u32,
}

impl ForkServers {
    /// A new worker, from the running fork server or, if it is gone, used
    /// up or broken, from a new one (one attempt each).
    pub fn fork(&self) -> std::io::Result<Forked> {
        let mut current = match self.current.lock() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(server) = current.as_mut().filter(|s| s.forks < FORKS_PER_SERVER) {
            match server.fork() {
                Ok(forked) => return Ok(forked),
                Err(e) => eprintln!("jitsudod: the fork server failed ({e}); starting another"),
            }
        }
        // The old one (used up, dead or broken) exits once its channel
        // closes; a broken one is killed.
        if let Some(mut old) = current.take() {
            if old.forks < FORKS_PER_SERVER {
                let _ = old.process.start_kill();
            }
        }
        let server = current.insert(ForkServer::start()?);
        server.fork()
    }
}

impl ForkServer {
    /// Execs `jitsudod --fork-server` with a socketpair on its fd 0.
    fn start() -> std::io::Result<ForkServer> {
        let (ours, theirs) = UnixStream::pair()?;
        ours.set_read_timeout(Some(REPLY_TIMEOUT))?;
        let mut command = tokio::process::Command::new("/proc/self/exe");
        command.arg0(title::argv0()).arg("--fork-server");
        command.args(crate::audit::worker_args());
        if let Some(subtree) = crate::cgroup::subtree() {
            command.arg("--worker-cgroup").arg(&subtree.dir);
        }
        command
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .kill_on_drop(false);
        let mut process = command.spawn()?;
        // Its workers must not pass the daemon's raised descriptor limit on
        // to their commands; it is asked for none before this is done.
        if let Err(e) = process
            .id()
            .ok_or(nix::errno::Errno::ESRCH)
            .and_then(crate::limits::restore_fd_limit_of)
        {
            let _ = process.start_kill();
            return Err(e.into());
        }
        Ok(ForkServer {
            process,
            channel: ours,
            forks: 0,
        })
    }

    /// Asks for one worker: one byte out; one byte back carrying the
    /// worker's channel and pidfd (none: the fork failed).
    fn fork(&mut self) -> std::io::Result<Forked> {
        self.forks += 1;
        jitsudo_proto::send_frame(self.channel.as_fd(), &[FORK], &[])?;
        let mut byte = [0u8; 1];
        let reply = jitsudo_sys::scm::recv(self.channel.as_fd(), &mut byte)?;
        if reply.bytes == 0 {
            return Err(std::io::Error::other("the fork server exited"));
        }
        let mut fds = reply.fds.into_iter();
        match (fds.next(), fds.next(), fds.next()) {
            (Some(channel), Some(pidfd), None) => Ok(Forked {
                channel: UnixStream::from(channel),
                pidfd,
            }),
            _ => Err(std::io::Error::other("the fork server could not fork")),
        }
    }
}
