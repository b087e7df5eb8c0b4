//! Watching a running command: its state changes (exit, stop), the
//! client's messages (signals, resume), the client or its terminal going
//! away (hang-up), and the rule's timeout.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use jitsudo_proto::{decode, ClientMessage, Exit, FrameReader, ServerMessage, RELAYED_SIGNALS};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpgrp, tcgetpgrp, tcsetpgrp, Pid};

use super::record::Taps;
use super::reply::send;
use super::session;
use super::tree::{CommandTree, Leftovers};

/// How long a command gets after SIGHUP (its client vanished) or SIGTERM
/// (its rule's timeout ran out) before it is killed.
pub(super) const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// Largest client message the worker accepts (signals and resumes only).
const MAX_CLIENT_MESSAGE: usize = 1024;

/// Watches the command: its state changes, the client's messages, and the
/// client going away.
pub(super) struct Supervisor {
    child: Pid,
    /// What a timeout or a vanished client ends: the command's cgroup.
    tree: CommandTree,
    conn: Option<OwnedFd>,
    reader: FrameReader,
    sigchld: SignalFd,
    /// When the command is sent SIGKILL (after a hang-up or a timeout).
    kill_at: Option<Instant>,
    /// When the rule's `timeout` ends the command (SIGTERM, then SIGKILL).
    ends_at: Option<Instant>,
    /// The master side of the command's pty (the worker's controlling
    /// terminal), if it has one.
    pty: Option<OwnedFd>,
    /// While the command is stopped: the process group that had the pty's
    /// foreground, to give it back on resume.
    stopped_foreground: Option<Pid>,
    /// The caller's terminal is gone: the escalation kills the session.
    hung_up: bool,
    /// A recorded session's copies of its pty and pipes.
    tap: Option<Taps>,
}

impl Supervisor {
    pub(super) fn new(
        child: Pid,
        tree: CommandTree,
        sigchld: SignalFd,
        conn: Option<OwnedFd>,
        pty: Option<OwnedFd>,
        tap: Option<Taps>,
        timeout: Option<Duration>,
    ) -> Self {
        Supervisor {
            child,
            tree,
            conn,
            reader: FrameReader::new(MAX_CLIENT_MESSAGE),
            sigchld,
            kill_at: None,
            ends_at: timeout.map(|t| Instant::now() + t),
            pty,
            stopped_foreground: None,
            hung_up: false,
            tap,
        }
    }

    pub(super) fn wait(&mut self) -> Exit {
        loop {
            if let Some(exit) = self.reap() {
                return exit;
            }
            self.poll_once();
        }
    }

    fn poll_once(&mut self) {
        let next = [self.kill_at, self.ends_at].into_iter().flatten().min();
        let timeout = next.map_or(PollTimeout::NONE, |at| {
            let left = at.saturating_duration_since(Instant::now()).as_millis();
            PollTimeout::try_from(left.min(60_000) as i32).unwrap_or(PollTimeout::ZERO)
        });
        let (conn_ready, tapped) = {
            let mut fds = vec![PollFd::new(self.sigchld.as_fd(), PollFlags::POLLIN)];
            if let Some(conn) = &self.conn {
                fds.push(PollFd::new(conn.as_fd(), PollFlags::POLLIN));
            }
            let wanted = self.tap.as_ref().map(Taps::interest).unwrap_or_default();
            let tap_at = fds.len();
            fds.extend(
                wanted
                    .iter()
                    .map(|(_, fd, events)| PollFd::new(*fd, *events)),
            );
            let _ = poll(&mut fds, timeout);
            let conn_ready = (tap_at > 1) && fds[1].revents().is_some_and(|r| !r.is_empty());
            let tapped: Vec<_> = (wanted.iter().zip(&fds[tap_at..]))
                .filter_map(|((end, _, _), fd)| Some((*end, fd.revents()?)))
                .collect();
            (conn_ready, tapped)
        };
        if let Some(tap) = &mut self.tap {
            for (end, events) in tapped {
                tap.ready(end, events);
            }
        }
        while let Ok(Some(_)) = self.sigchld.read_signal() {}
        if conn_ready {
            self.read_client();
        }
        if self.ends_at.is_some_and(|at| Instant::now() >= at) {
            self.tree.terminate();
            self.ends_at = None;
            self.kill_at = Some(Instant::now() + HANGUP_GRACE);
        }
        if self.kill_at.is_some_and(|at| Instant::now() >= at) {
            if self.hung_up {
                // Without a cgroup, the command's group alone is not all.
                session::signal_groups(Signal::SIGKILL);
            }
            self.tree.kill();
            self.kill_at = None;
        }
    }

    /// A recorded session: what the command left on its pty reaches the
    /// recording and the client (before its exit is sent), within a bound.
    pub(super) fn finish_tap(&mut self) {
        if let Some(tap) = &mut self.tap {
            tap.finish(Instant::now() + HANGUP_GRACE);
        }
    }

    /// The command's group once its own process ended, with the deadlines
    /// still pending for what it left running.
    pub(super) fn leftovers(self) -> Leftovers {
        self.tree.leftovers(self.ends_at, self.kill_at)
    }

    /// Collects state changes; `Some` once the command has ended.
    fn reap(&mut self) -> Option<Exit> {
        loop {
            match waitpid(
                self.child,
                Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED),
            ) {
                Ok(WaitStatus::Exited(_, code)) => return Some(Exit::Code(code)),
                Ok(WaitStatus::Signaled(_, sig, core_dumped)) => {
                    return Some(Exit::Signal {
                        signal: sig as i32,
                        core_dumped,
                    })
                }
                Ok(WaitStatus::Stopped(_, sig)) => self.suspended(sig),
                Ok(_) => return None,
                Err(Errno::EINTR) => continue,
                Err(_) => return Some(Exit::Code(1)),
            }
        }
    }

    /// The command stopped: the client is told, so that it stops too. The
    /// pty's foreground stays where it is: a ^C typed as soon as the client
    /// is continued, before the command is, still reaches the command.
    fn suspended(&mut self, sig: Signal) {
        if let Some(pty) = &self.pty {
            self.stopped_foreground = Some(tcgetpgrp(pty).unwrap_or(self.child));
        }
        self.send(&ServerMessage::Suspended { signal: sig as i32 });
    }

    /// The client was continued: so is the command, in the pty's foreground
    /// if the client is in its terminal's foreground (the group that had it
    /// when the command stopped, or the command's own if that was the
    /// worker's), else in the background. SIGTTOU is blocked: the worker may
    /// change the foreground from the background.
    fn resume(&mut self, foreground: bool) {
        if let (Some(pty), Some(group)) = (&self.pty, self.stopped_foreground.take()) {
            let group = match foreground {
                false => getpgrp(),
                true if group == getpgrp() => self.child,
                true => group,
            };
            if tcsetpgrp(pty, group).is_err() && foreground {
                let _ = tcsetpgrp(pty, self.child);
            }
        }
        let _ = killpg(self.child, Signal::SIGCONT);
    }

    fn read_client(&mut self) {
        let Some(conn) = &self.conn else { return };
        match self.reader.fill(conn.as_fd()) {
            Ok(0) | Err(_) => return self.client_gone(),
            Ok(_) => {}
        }
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => match decode::<ClientMessage>(&frame) {
                    Ok(message) => self.obey(message),
                    Err(_) => return self.client_gone(),
                },
                Ok(None) => break,
                Err(_) => return self.client_gone(),
            }
        }
        // Descriptors have no business on this connection any more.
        drop(self.reader.take_fds());
    }

    fn obey(&mut self, message: ClientMessage) {
        match message {
            ClientMessage::Signal(n) => match Signal::try_from(n) {
                Ok(Signal::SIGTSTP) => {
                    let _ = killpg(self.child, Signal::SIGTSTP);
                }
                Ok(Signal::SIGHUP) if self.pty.is_some() => self.hang_up(),
                // The caller's window changed: only a tapped pty needs us.
                Ok(Signal::SIGWINCH) => {
                    if let Some(tap) = &mut self.tap {
                        tap.resize();
                    }
                }
                Ok(sig) if RELAYED_SIGNALS.contains(&sig) => {
                    let _ = kill(self.child, sig);
                }
                _ => {}
            },
            ClientMessage::Resume { foreground } => self.resume(foreground),
            ClientMessage::Answer(_) | ClientMessage::Edited(_) => {}
            ClientMessage::Hello(_) | ClientMessage::Request(_) => self.client_gone(),
        }
    }

    /// The client vanished (or misbehaved). A command on a terminal must
    /// not run on unattended: it is hung up. A command on pipes runs on, as
    /// under sudo.
    fn client_gone(&mut self) {
        self.conn = None;
        if self.pty.is_some() {
            self.hang_up();
        }
    }

    /// The caller's terminal is gone (the client saw it hang up, got
    /// SIGHUP, or vanished): SIGHUP to every process group on the command's
    /// pty (the command's, and a shell's jobs), and SIGKILL after a grace
    /// period if the command is still there. A root shell never outlives
    /// its terminal.
    fn hang_up(&mut self) {
        self.hung_up = true;
        session::signal_groups(Signal::SIGHUP);
        session::signal_groups(Signal::SIGCONT);
        if self.kill_at.is_none() {
            self.kill_at = Some(Instant::now() + HANGUP_GRACE);
        }
    }

    pub(super) fn send(&self, message: &ServerMessage) {
        if let Some(conn) = &self.conn {
            send(conn, message, None);
        }
    }
}
