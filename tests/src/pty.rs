//! A small terminal driver: runs a command with a new pty as its
//! controlling terminal (fds 0-2), records what the terminal shows, and
//! plays a script of input, waits and window-size changes.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::signal::{killpg, Signal};
use nix::sys::stat::{fchmod, Mode};
use nix::unistd::{fchown, Gid, Group, Pid, Uid};

use crate::exec::{shell_status, wait_bounded, Output};
use crate::fixtures::account;
use crate::util::find_bytes;

/// After the script exits, how long to keep reading for a pty that some
/// leftover process still holds open.
const DRAIN_GRACE: Duration = Duration::from_secs(3);

/// One action of the terminal script, run in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtyStep {
    /// Wait until the terminal has shown this text (after what earlier
    /// waits matched).
    WaitFor(String),
    /// Wait until the terminal's foreground process group waits for input
    /// (see [`input_awaited`]). Needed before a signal character such as
    /// ^C: one typed while a program is between installing its handler and
    /// blocking in read(2) can be lost (sudo has that race).
    WaitForReader,
    /// Type these bytes.
    Send(Vec<u8>),
    /// Change the window size (the kernel sends SIGWINCH to the foreground
    /// process group).
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
}

/// Initial window size and the script to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtySpec {
    /// Initial rows.
    pub rows: u16,
    /// Initial columns.
    pub cols: u16,
    /// Steps, in order.
    pub steps: Vec<PtyStep>,
}

impl Default for PtySpec {
    fn default() -> Self {
        PtySpec {
            rows: 24,
            cols: 80,
            steps: Vec::new(),
        }
    }
}

impl PtySpec {
    /// Adds a wait for `text`.
    pub fn wait_for(mut self, text: &str) -> Self {
        self.steps.push(PtyStep::WaitFor(text.into()));
        self
    }

    /// Adds a wait until the foreground processes wait for input.
    pub fn wait_for_reader(mut self) -> Self {
        self.steps.push(PtyStep::WaitForReader);
        self
    }

    /// Adds typed input.
    pub fn send(mut self, bytes: &[u8]) -> Self {
        self.steps.push(PtyStep::Send(bytes.to_vec()));
        self
    }

    /// Waits for `prompt`, then types `line` and Enter. Enter is a carriage
    /// return, as a real terminal sends it; the line discipline turns it
    /// into a newline unless a program switched ICRNL off.
    pub fn answer(self, prompt: &str, line: &str) -> Self {
        self.wait_for(prompt).send(format!("{line}\r").as_bytes())
    }

    /// Adds a window-size change.
    pub fn resize(mut self, rows: u16, cols: u16) -> Self {
        self.steps.push(PtyStep::Resize { rows, cols });
        self
    }
}

fn winsize(rows: u16, cols: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// Sets the window size of the terminal behind `fd`.
pub fn set_winsize(fd: &impl AsFd, rows: u16, cols: u16) {
    let ws = winsize(rows, cols);
    if let Err(e) = jitsudo_sys::tty::set_window_size(fd.as_fd(), &ws) {
        panic!("TIOCSWINSZ: {e}");
    }
}

/// A new pty pair, both ends close-on-exec from birth (other test threads
/// fork concurrently; a leaked end would keep this terminal open), with the
/// slave owned by `uid` and the tty group, mode 0620, as a login would.
/// Also returns the slave's path.
fn open_pty(uid: Uid, rows: u16, cols: u16) -> (OwnedFd, OwnedFd, String) {
    let master =
        posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).expect("posix_openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname_r(&master).expect("ptsname");
    let slave = open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .expect("open pty slave");
    let tty_gid = Group::from_name("tty")
        .ok()
        .flatten()
        .map_or(Gid::from_raw(5), |g| g.gid);
    fchown(&slave, Some(uid), Some(tty_gid)).expect("chown pty slave");
    fchmod(&slave, Mode::from_bits_truncate(0o620)).expect("chmod pty slave");
    set_winsize(&slave, rows, cols);
    let master: OwnedFd = master.into();
    (master, slave, name)
}

/// System calls other than read(2) in which a program may wait for
/// terminal input together with other descriptors.
const POLL_CALLS: &[libc::c_long] = &[
    libc::SYS_ppoll,
    libc::SYS_pselect6,
    libc::SYS_epoll_pwait,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_poll,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_select,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_epoll_wait,
];

/// The process group of `pid` (from /proc/PID/stat).
fn process_group(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ...": comm may contain anything but
    // ends at the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(2)?.parse().ok()
}

/// What /proc/PID/task/TID/syscall says: `None` while the thread runs,
/// else the system call it is blocked in (-1 for none) and its first
/// argument.
fn blocked_call(text: &str) -> Option<(libc::c_long, u64)> {
    let mut words = text.split_whitespace();
    let nr = words.next()?.parse().ok()?;
    let arg = words
        .next()
        .and_then(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0);
    Some((nr, arg))
}

/// Whether the terminal whose master is `master` (slave `slave`) has its
/// foreground process group waiting for input: every thread of every
/// process in the group is blocked in a system call, and one of them in
/// read(2) on the terminal (or `/dev/tty`) or in a poll-family call.
fn input_awaited(master: &File, slave: &str) -> bool {
    let Ok(pgrp) = nix::unistd::tcgetpgrp(master) else {
        return false;
    };
    let pgrp = pgrp.as_raw();
    let Ok(procs) = fs::read_dir("/proc") else {
        return false;
    };
    let pids = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| process_group(pid) == Some(pgrp));
    let mut awaited = false;
    for pid in pids {
        // A process gone in the meantime simply has no tasks left.
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Ok(text) = fs::read_to_string(task.path().join("syscall")) else {
                continue;
            };
            let Some((nr, arg)) = blocked_call(&text) else {
                return false; // still running
            };
            let reads_terminal = nr == libc::SYS_read
                && fs::read_link(format!("/proc/{pid}/fd/{arg}"))
                    .is_ok_and(|p| p.as_os_str() == slave || p.as_os_str() == "/dev/tty");
            awaited |= reads_terminal || POLL_CALLS.contains(&nr);
        }
    }
    awaited
}

/// Runs `cmd` (already carrying its environment and cwd) on a new pty
/// owned by `user`, playing `spec`. The terminal transcript becomes
/// `stdout`; if a step was never reached, a note is put in `stderr`.
pub fn run(mut cmd: Command, user: &str, spec: &PtySpec, timeout: Duration) -> Output {
    let uid = Uid::from_raw(account(user).uid);
    let (master, slave, slave_name) = open_pty(uid, spec.rows, spec.cols);
    let dup = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup pty slave"));
    cmd.stdin(dup(&slave))
        .stdout(dup(&slave))
        .stderr(dup(&slave));
    let hook = || {
        nix::unistd::setsid()?;
        crate::exec::reset_signals();
        // fd 0 is the slave by the time pre_exec hooks run.
        jitsudo_sys::tty::make_controlling(jitsudo_sys::fd::Std::In.borrow())?;
        Ok(())
    };
    // SAFETY: setsid, TIOCSCTTY, rt_sigaction and sigprocmask are
    // async-signal-safe and the hook allocates nothing.
    unsafe { cmd.pre_exec(hook) };
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?} on a pty: {e}"));
    // Only the child may hold the slave now, or reads never see EOF.
    drop(cmd);
    drop(slave);

    let mut master = File::from(master);
    let deadline = Instant::now() + timeout;
    let mut transcript = Vec::new();
    let mut matched_up_to = 0;
    let mut next_step = 0;
    let mut exited_at: Option<Instant> = None;
    let mut status = None;
    let mut timed_out = false;
    loop {
        while let Some(step) = spec.steps.get(next_step) {
            match step {
                PtyStep::WaitFor(text) => {
                    match find_bytes(&transcript[matched_up_to..], text.as_bytes()) {
                        Some(at) => matched_up_to += at + text.len(),
                        None => break,
                    }
                }
                PtyStep::WaitForReader => {
                    if !input_awaited(&master, &slave_name) {
                        break;
                    }
                }
                PtyStep::Send(bytes) => master.write_all(bytes).expect("write to pty"),
                PtyStep::Resize { rows, cols } => set_winsize(&master, *rows, *cols),
            }
            next_step += 1;
        }
        if status.is_none() {
            status = child.try_wait().expect("waitpid");
            if status.is_some() {
                exited_at = Some(Instant::now());
            }
        }
        let now = Instant::now();
        if exited_at.is_some_and(|t| now - t > DRAIN_GRACE) {
            timed_out = true; // something still holds the terminal open
            break;
        }
        if now >= deadline {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            timed_out = true;
            break;
        }
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(20u8)) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => panic!("poll pty: {e}"),
        }
        let mut buf = [0u8; 65536];
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => transcript.extend_from_slice(&buf[..n]),
            // Linux reports EIO once every slave descriptor is closed.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read pty: {e}"),
        }
    }
    let status = match status {
        Some(s) => s,
        None => {
            let left = deadline.saturating_duration_since(Instant::now());
            let (s, late) = wait_bounded(&mut child, left.max(Duration::from_secs(1)));
            timed_out |= late;
            s
        }
    };
    let mut stderr = Vec::new();
    if let Some(step) = spec.steps.get(next_step) {
        stderr = format!("[pty driver: step {next_step} never reached: {step:?}]\n").into_bytes();
    }
    Output {
        status: shell_status(status),
        stdout: transcript,
        stderr,
        timed_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_calls_are_parsed() {
        assert_eq!(blocked_call("running\n"), None);
        assert_eq!(
            blocked_call("0 0x6 0x7ffe19633d37 0x1 0x8 0x0 0x0 0x7ffe 0x7f46\n"),
            Some((0, 6))
        );
        assert_eq!(blocked_call("-1 0x7ffe 0x7f46\n"), Some((-1, 0x7ffe)));
    }

    #[test]
    fn own_process_group_is_read_from_proc() {
        let me = std::process::id() as i32;
        assert_eq!(process_group(me), Some(nix::unistd::getpgrp().as_raw()));
    }
}
