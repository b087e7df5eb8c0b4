//! Starting the command child and watching it until it ends.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jitsudo_audit::ExitStatus;
use jitsudo_proto::{
    decode, encode, send_frame, ClientMessage, Exit, Failure, FrameReader, ServerMessage,
    RELAYED_SIGNALS,
};
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getpgrp, pipe2, read, setpgid, tcgetpgrp, tcsetpgrp, ForkResult, Pid};

use super::auth::{Reporting, Transaction};
use super::child::{self, Stage};
use super::pty::Pty;
use super::session;
use super::tree::{CommandTree, Leftovers, Prepared};
use super::{blocked_signals, caller_terminal, child_spec, CallerFds};
use crate::audit::AuditRecord;
use crate::request::job::{Exec, Job, Then};

/// How long a command gets after SIGHUP (its client vanished) or SIGTERM
/// (its rule's timeout ran out) before it is killed.
const HANGUP_GRACE: Duration = Duration::from_secs(2);

/// Largest client message the worker accepts (signals and resumes only).
const MAX_CLIENT_MESSAGE: usize = 1024;

/// Runs the job to completion: PAM, then the command or the reply.
pub fn run(
    mut pam: Transaction,
    job: Job,
    conn: OwnedFd,
    caller: CallerFds,
    daemon: BorrowedFd<'_>,
    cgroup: Option<&Path>,
) -> ExitCode {
    let audit = crate::audit::sinks();
    let record = job.audit_record();
    let reporting = Reporting {
        conn: &conn,
        daemon,
        audit: &audit,
        record: &record,
    };
    if let Err(failure) = pam.begin(&job.pam, &reporting) {
        if let Some(failure) = failure {
            let reason = String::from_utf8_lossy(&failure.message).into_owned();
            audit.emit(&record.rejected(&reason));
            send(&conn, &ServerMessage::Error(failure), None);
        }
        return ExitCode::FAILURE;
    }
    let caller_uid = job.caller_uid;
    let mut exec = match job.then {
        Then::Run(exec) => exec,
        Then::Reply(messages) => {
            for message in &messages {
                send(&conn, message, None);
            }
            return ExitCode::SUCCESS;
        }
    };
    audit.emit(&record.event(jitsudo_audit::EventKind::ExecAccept));
    if let Err(failure) = pam.open_session(&job.pam.target) {
        send(&conn, &ServerMessage::Error(failure), None);
        return ExitCode::FAILURE;
    }
    merge_env(&mut exec.env, pam.env());
    let place = Place {
        caller_uid,
        cwd: &record.cwd,
        cgroup,
    };
    let (status, leftovers) = run_command(&exec, &place, &conn, caller, &record, &audit);
    pam.close_session();
    drop(conn);
    if let Some(leftovers) = leftovers {
        leftovers.finish(HANGUP_GRACE);
    }
    status
}

/// Adds PAM's environment (pam_env and friends) where the command's own
/// environment does not already set the name.
fn merge_env(env: &mut Vec<serde_bytes::ByteBuf>, pam_env: Vec<Vec<u8>>) {
    let name = |entry: &[u8]| entry.split(|b| *b == b'=').next().map(<[u8]>::to_vec);
    for entry in pam_env {
        let Some(new) = name(&entry) else { continue };
        if !env.iter().any(|e| name(e).as_deref() == Some(&new[..])) {
            env.push(entry.into());
        }
    }
}

/// Who the command's pty belongs to, where the caller was, and where the
/// command's cgroup is made (the daemon's subtree, if cgroup v2 is usable).
struct Place<'a> {
    caller_uid: u32,
    cwd: &'a [u8],
    cgroup: Option<&'a Path>,
}

fn run_command(
    exec: &Exec,
    place: &Place<'_>,
    conn: &OwnedFd,
    caller: CallerFds,
    record: &AuditRecord,
    audit: &jitsudo_audit::Audit,
) -> (ExitCode, Option<Leftovers>) {
    let started = match start(exec, place, caller, conn) {
        Ok(started) => started,
        Err(failure) => {
            send(conn, &ServerMessage::Error(failure.clone()), None);
            let reason = String::from_utf8_lossy(&failure.message).into_owned();
            audit.emit(&record.exited(ExitStatus::Code(1)).reason(reason));
            return (ExitCode::FAILURE, None);
        }
    };
    let Started {
        child,
        tree,
        sigchld,
        pty: master,
    } = started;
    let pty = master.is_some();
    send(conn, &ServerMessage::Started { pty }, master.as_ref());
    let conn = if exec.background {
        // `-b`: the client is gone by design; nothing ties the command to it.
        send(conn, &ServerMessage::Exited(Exit::Code(0)), None);
        None
    } else {
        conn.try_clone().ok()
    };
    let mut supervisor = Supervisor::new(child, tree, sigchld, conn, master, exec.timeout);
    let exit = supervisor.wait();
    supervisor.send(&ServerMessage::Exited(exit));
    audit.emit(&record.exited(match exit {
        Exit::Code(code) => ExitStatus::Code(code),
        Exit::Signal { signal, .. } => ExitStatus::Signal(signal),
    }));
    (ExitCode::SUCCESS, Some(supervisor.leftovers()))
}

/// A command child whose exec succeeded.
struct Started {
    child: Pid,
    tree: CommandTree,
    sigchld: SignalFd,
    pty: Option<OwnedFd>,
}

/// Forks the command child and waits for its exec to succeed or fail.
fn start(
    exec: &Exec,
    place: &Place<'_>,
    caller: CallerFds,
    conn: &OwnedFd,
) -> Result<Started, Failure> {
    let set = blocked_signals();
    set.thread_block()
        .map_err(|e| Failure::new(format!("unable to block signals: {e}")))?;
    let sigchld = sigchld_fd().map_err(|e| Failure::new(format!("signalfd: {}", e.desc())))?;
    let caller = if exec.background {
        detach_terminal(caller)?
    } else {
        caller
    };
    let pty = match caller_terminal(&caller) {
        Some(term) => Some(
            Pty::open_like(term, place.caller_uid)
                .map_err(|e| Failure::new(format!("unable to allocate pty: {}", e.desc())))?,
        ),
        None => None,
    };
    if let Some(pty) = &pty {
        pty.control()
            .map_err(|e| Failure::new(format!("unable to set up the pty: {}", e.desc())))?;
    }
    let tty = pty
        .as_ref()
        .and_then(|p| super::cstring(p.slave_path.as_os_str().as_encoded_bytes()));
    let group = Prepared::new(place.cgroup, exec.timeout.is_some())?;
    let spec = child_spec(exec, &caller, tty, group.procs_writer()?)
        .ok_or_else(|| Failure::new("invalid job: embedded NUL byte or no executable"))?;
    let (report_rd, report_wr) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Failure::new(format!("unable to create pipe: {}", e.desc())))?;
    // SAFETY: the worker is single-threaded, so the child may do anything
    // the parent could; it ends in execve or _exit.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => child::exec(&spec, &report_wr),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => return Err(Failure::new(format!("unable to fork: {}", e.desc()))),
    };
    if pty.is_some() {
        // The child does the same; whichever runs first, the group exists
        // before the worker signals it.
        let _ = setpgid(child, child);
    }
    drop(report_wr);
    drop(spec);
    drop(caller);
    exec_result(child, &report_rd)
        .map_err(|(stage, errno)| describe_failure(conn, stage, errno, exec, place.cwd))?;
    Ok(Started {
        child,
        tree: group.started(child),
        sigchld,
        pty: pty.map(Pty::into_master),
    })
}

/// `-b`: the command outlives the client, and must not hold the caller's
/// terminal, where it could read what the caller types next or draw a fake
/// prompt. Each stdio descriptor that is a terminal becomes /dev/null; pipes
/// and files are kept.
fn detach_terminal(mut caller: CallerFds) -> Result<CallerFds, Failure> {
    for slot in caller.stdio.iter_mut() {
        if slot
            .as_ref()
            .is_some_and(|fd| child::is_tty(fd.as_raw_fd()))
        {
            let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(|e| Failure::new(format!("/dev/null: {}", e.desc())))?;
            *slot = Some(null);
        }
    }
    Ok(caller)
}

fn sigchld_fd() -> nix::Result<SignalFd> {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(Signal::SIGCHLD);
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
}

/// Best effort: a client that went away simply misses the message.
pub fn send(conn: &OwnedFd, message: &ServerMessage, with: Option<&OwnedFd>) {
    if let Ok(frame) = encode(message) {
        let fds: Vec<_> = with.iter().map(|f| f.as_raw_fd()).collect();
        let _ = send_frame(conn.as_fd(), &frame, &fds);
    }
}

/// Reads the child's error pipe: EOF means the exec succeeded.
fn exec_result(child: Pid, report: &OwnedFd) -> Result<(), (Option<Stage>, Errno)> {
    let mut buf = [0u8; 5];
    let n = loop {
        match read(report, &mut buf) {
            Err(Errno::EINTR) => continue,
            other => break other.unwrap_or(0),
        }
    };
    if n == 0 {
        return Ok(());
    }
    let _ = waitpid(child, None);
    let errno = Errno::from_raw(i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]));
    Err((Stage::from_byte(buf[0]), errno))
}

/// What the client is told when the command could not be started. Like
/// sudo, a directory that cannot be entered is reported, then the command
/// that therefore did not run.
fn describe_failure(
    conn: &OwnedFd,
    stage: Option<Stage>,
    errno: Errno,
    exec: &Exec,
    cwd: &[u8],
) -> Failure {
    if stage == Some(Stage::Chdir) {
        let mut text = b"unable to change directory to ".to_vec();
        text.extend_from_slice(exec.chdir.as_deref().map_or(cwd, |d| &d[..]));
        text.extend_from_slice(format!(": {}", errno.desc()).as_bytes());
        send(conn, &ServerMessage::Warning(text.into()), None);
    }
    let mut text = match stage {
        Some(Stage::Exec | Stage::Chdir) => b"unable to execute ".to_vec(),
        _ => b"unable to run ".to_vec(),
    };
    text.extend_from_slice(&exec.path);
    text.extend_from_slice(format!(": {}", errno.desc()).as_bytes());
    Failure::new(text)
}

/// Watches the command: its state changes, the client's messages, and the
/// client going away.
struct Supervisor {
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
}

impl Supervisor {
    fn new(
        child: Pid,
        tree: CommandTree,
        sigchld: SignalFd,
        conn: Option<OwnedFd>,
        pty: Option<OwnedFd>,
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
        }
    }

    fn wait(&mut self) -> Exit {
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
        let conn_ready = {
            let mut fds = vec![PollFd::new(self.sigchld.as_fd(), PollFlags::POLLIN)];
            if let Some(conn) = &self.conn {
                fds.push(PollFd::new(conn.as_fd(), PollFlags::POLLIN));
            }
            let _ = poll(&mut fds, timeout);
            fds.get(1)
                .and_then(PollFd::revents)
                .is_some_and(|r| !r.is_empty())
        };
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

    /// The command's group once its own process ended, with the deadlines
    /// still pending for what it left running.
    fn leftovers(self) -> Leftovers {
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
                Ok(sig) if RELAYED_SIGNALS.contains(&sig) => {
                    let _ = kill(self.child, sig);
                }
                _ => {}
            },
            ClientMessage::Resume { foreground } => self.resume(foreground),
            ClientMessage::Answer(_) => {}
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

    fn send(&self, message: &ServerMessage) {
        if let Some(conn) = &self.conn {
            send(conn, message, None);
        }
    }
}
