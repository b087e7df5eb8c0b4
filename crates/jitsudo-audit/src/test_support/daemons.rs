//! journald and rsyslogd set up as on Debian 12 booted with systemd, on a
//! machine whose PID 1 is not systemd:
//!
//! * `systemd-journald`, started detached, creates its sockets itself
//!   (native `/run/systemd/journal/socket`, syslog
//!   `/run/systemd/journal/dev-log`, ...);
//! * `/dev/log` is a symbolic link to journald's syslog socket (what
//!   systemd-journald-dev-log.socket makes);
//! * journald forwards every entry to `/run/systemd/journal/syslog`
//!   (`ForwardToSyslog=yes`, Debian's default), where rsyslogd receives
//!   it, started by the first datagram on that socket as syslog.socket
//!   starts it: `systemd-socket-activate --datagram` execs `rsyslogd -n`
//!   with the socket passed (`LISTEN_FDS`).
//!
//! rsyslogd runs Debian's `/etc/rsyslog.conf` but for one setting: its
//! `imuxsock` takes the socket passed at `/run/systemd/journal/syslog`
//! because it is named (`SysSock.Name`), where on a systemd host it picks
//! that name because `sd_booted()` holds (`/run/systemd/system` exists),
//! which must not be faked here (PAM's and other programs' behaviour
//! depends on it).
//!
//! Unix datagram sockets get the queue length systemd gives them at boot
//! (`net.unix.max_dgram_qlen=512`, not the kernel's 10), without which
//! journald's forwarding drops lines under load; a journald whose sockets
//! were made before is restarted.
//!
//! A syslog daemon set up otherwise (an rsyslogd owning `/dev/log`, as
//! earlier versions of these helpers started it) is stopped and replaced.
//! Every call proves the chain works: an entry sent to journald's native
//! socket must reach `/var/log/auth.log`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{socket_is_live, unique_marker, WAIT};
use crate::{DEFAULT_JOURNAL_SOCKET, DEFAULT_SYSLOG_SOCKET};

/// Where the journald binary is on Debian.
pub const JOURNALD_BINARY: &str = "/lib/systemd/systemd-journald";

/// journald's syslog socket, which `/dev/log` links to.
pub const JOURNALD_DEV_LOG: &str = "/run/systemd/journal/dev-log";

/// Where journald forwards to the syslog daemon (syslog.socket's
/// `ListenDatagram=`).
pub const FORWARD_SOCKET: &str = "/run/systemd/journal/syslog";

/// Where rsyslogd writes `auth` and `authpriv` messages (Debian's
/// configuration).
pub const AUTH_LOG: &str = "/var/log/auth.log";

/// Debian's rsyslog configuration.
const RSYSLOG_CONF: &str = "/etc/rsyslog.conf";

/// The same, with `imuxsock` naming the socket it is passed.
const ACTIVATED_RSYSLOG_CONF: &str = "/run/jitsudo-tests-rsyslog.conf";

/// The `imuxsock` statement of Debian's configuration.
const IMUXSOCK: &str = "module(load=\"imuxsock\")";

/// rsyslogd's pid file (its default).
const RSYSLOG_PID: &str = "/run/rsyslogd.pid";

/// Queue length of unix datagram sockets on a host booted with systemd.
const DGRAM_QLEN: u32 = 512;

/// Where that is set.
const DGRAM_QLEN_SYSCTL: &str = "/proc/sys/net/unix/max_dgram_qlen";

/// Lock serializing daemon start-up between tests and test processes.
const LOCK_PATH: &str = "/run/jitsudo-audit-test-daemons.lock";

/// Makes sure journald runs and listens on its native and syslog sockets,
/// starting [`JOURNALD_BINARY`] if it does not (and restarting it, and
/// what receives its forwarding, when their sockets predate
/// [`raise_dgram_qlen`]).
pub fn ensure_journald() -> io::Result<()> {
    let _lock = lock()?;
    if start_journald()? {
        start_forwarding()?;
    }
    Ok(())
}

/// [`ensure_journald`] under the lock, but for rsyslogd: stopped, not
/// started again, when unix datagram queues were too short until now
/// (what it returns).
fn start_journald() -> io::Result<bool> {
    let live = || {
        socket_is_live(Path::new(DEFAULT_JOURNAL_SOCKET))
            && socket_is_live(Path::new(JOURNALD_DEV_LOG))
    };
    let raised = raise_dgram_qlen()?;
    if raised {
        let rsyslogd = rsyslogd_pid();
        for pid in processes_named("systemd-journal")
            .into_iter()
            .chain(rsyslogd)
        {
            stop(pid)?;
        }
    }
    if !live() {
        fs::create_dir_all("/run/systemd/journal")?;
        run(Command::new("setsid").arg("--fork").arg(JOURNALD_BINARY))?;
    }
    wait_until(live, "journald's sockets")?;
    Ok(raised)
}

/// Makes sure `/dev/log` is journald's and rsyslogd receives what journald
/// forwards (see the module's documentation), replacing a syslog daemon
/// set up otherwise, and proves it: an authpriv entry sent to journald
/// appears in [`AUTH_LOG`].
pub fn ensure_rsyslogd() -> io::Result<()> {
    let _lock = lock()?;
    start_journald()?;
    if forwarding_in_place() {
        probe_forwarding()
    } else {
        start_forwarding()
    }
}

/// Stops the rsyslogd running, if any, links `/dev/log` to journald's
/// socket and starts rsyslogd behind journald's forwarding; the probe
/// ([`probe_forwarding`]) is the datagram that starts it.
fn start_forwarding() -> io::Result<()> {
    if let Some(pid) = rsyslogd_pid() {
        stop(pid)?;
    }
    link_dev_log()?;
    start_activated_rsyslogd()?;
    probe_forwarding()
}

/// Gives unix datagram sockets made from now on the queue length systemd
/// gives them at boot (`net.unix.max_dgram_qlen`, raised by PID 1 to
/// [`DGRAM_QLEN`] from the kernel's 10, which makes journald's forwarding
/// drop lines under load: "Forwarding to syslog missed N messages").
/// Whether it was lower.
fn raise_dgram_qlen() -> io::Result<bool> {
    let now: u32 = fs::read_to_string(DGRAM_QLEN_SYSCTL)?
        .trim()
        .parse()
        .map_err(|e| io::Error::other(format!("{DGRAM_QLEN_SYSCTL}: {e}")))?;
    if now >= DGRAM_QLEN {
        return Ok(false);
    }
    fs::write(DGRAM_QLEN_SYSCTL, DGRAM_QLEN.to_string())?;
    Ok(true)
}

/// The processes whose command name is `comm`.
fn processes_named(comm: &str) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
                && !exited(*pid)
        })
        .collect()
}

/// Whether `pid` is gone or a zombie (its parent may never reap it).
fn exited(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Sends `SIGTERM` to `pid` and waits until it has exited.
fn stop(pid: i32) -> io::Result<()> {
    kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(io::Error::from)?;
    wait_until(|| exited(pid), &format!("process {pid} to stop"))
}

/// Whether `/dev/log` links to journald's socket and rsyslogd runs on the
/// socket journald forwards to.
fn forwarding_in_place() -> bool {
    fs::read_link(DEFAULT_SYSLOG_SOCKET).is_ok_and(|target| target == Path::new(JOURNALD_DEV_LOG))
        && rsyslogd_pid()
            .is_some_and(|pid| cmdline(pid).iter().any(|arg| arg == ACTIVATED_RSYSLOG_CONF))
}

/// The process named in rsyslogd's pid file, if it is an rsyslogd.
fn rsyslogd_pid() -> Option<i32> {
    let pid = fs::read_to_string(RSYSLOG_PID).ok()?.trim().parse().ok()?;
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "rsyslogd" && !exited(pid)).then_some(pid)
}

fn cmdline(pid: i32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            raw.split(|&b| b == 0)
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Makes `/dev/log` a symbolic link to journald's syslog socket, in one
/// step (a rename over whatever was there).
fn link_dev_log() -> io::Result<()> {
    let temporary = format!(
        "{DEFAULT_SYSLOG_SOCKET}.jitsudo-tests-{}",
        std::process::id()
    );
    let _ = fs::remove_file(&temporary);
    std::os::unix::fs::symlink(JOURNALD_DEV_LOG, &temporary)?;
    fs::rename(&temporary, DEFAULT_SYSLOG_SOCKET)
}

/// Debian's rsyslog configuration with `imuxsock` naming the socket
/// journald forwards to.
fn activated_config() -> io::Result<String> {
    let debian = fs::read_to_string(RSYSLOG_CONF)?;
    if debian.matches(IMUXSOCK).count() != 1 {
        return Err(io::Error::other(format!(
            "{RSYSLOG_CONF} does not load imuxsock as Debian's does ({IMUXSOCK}): reinstall \
             it (apt-get install --reinstall -o Dpkg::Options::=--force-confask rsyslog)"
        )));
    }
    let named = format!("module(load=\"imuxsock\" SysSock.Name=\"{FORWARD_SOCKET}\")");
    Ok(debian.replace(IMUXSOCK, &named))
}

/// Binds [`FORWARD_SOCKET`] with `systemd-socket-activate`, which execs
/// `rsyslogd -n` at the first datagram, detached.
fn start_activated_rsyslogd() -> io::Result<()> {
    fs::write(ACTIVATED_RSYSLOG_CONF, activated_config()?)?;
    let _ = fs::remove_file(FORWARD_SOCKET);
    run(Command::new("setsid")
        .arg("--fork")
        .args(["systemd-socket-activate", "--datagram", "--listen"])
        .arg(FORWARD_SOCKET)
        .args(["--", "rsyslogd", "-n", "-f", ACTIVATED_RSYSLOG_CONF]))?;
    wait_until(|| socket_is_live(Path::new(FORWARD_SOCKET)), FORWARD_SOCKET)?;
    // syslog.socket's SocketMode=.
    fs::set_permissions(FORWARD_SOCKET, fs::Permissions::from_mode(0o666))
}

/// Sends an authpriv entry to journald's native socket and waits for
/// journald's forwarding to put it in [`AUTH_LOG`].
fn probe_forwarding() -> io::Result<()> {
    let marker = unique_marker("jitsudo-tests-forwarding-probe");
    let entry = format!(
        "MESSAGE=syslog forwarding probe {marker}\nSYSLOG_IDENTIFIER=jitsudo-tests\n\
         SYSLOG_FACILITY=10\nPRIORITY=6\n"
    );
    let from = fs::metadata(AUTH_LOG).map_or(0, |m| m.len());
    UnixDatagram::unbound()?.send_to(entry.as_bytes(), DEFAULT_JOURNAL_SOCKET)?;
    wait_until(|| appended_since(AUTH_LOG, from, &marker), "the probe").map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "journald's entry did not reach {AUTH_LOG} through {FORWARD_SOCKET} ({e}): \
                 check ForwardToSyslog=yes in /etc/systemd/journald.conf and its drop-ins \
                 (then restart systemd-journald), and that rsyslogd runs"
            ),
        )
    })
}

/// Whether what `path` gained past `from` (all of it, if it was rotated)
/// contains `needle`.
fn appended_since(path: &str, from: u64, needle: &str) -> bool {
    let Ok(mut file) = File::open(path) else {
        return false;
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut text = Vec::new();
    let read = file
        .seek(SeekFrom::Start(if len < from { 0 } else { from }))
        .and_then(|_| file.read_to_end(&mut text));
    read.is_ok() && memchr::memmem::find(&text, needle.as_bytes()).is_some()
}

/// Holds the lock serializing start-ups until dropped.
fn lock() -> io::Result<Flock<File>> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_PATH)?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

/// Waits up to [`WAIT`] for `ready`.
fn wait_until(ready: impl Fn() -> bool, what: &str) -> io::Result<()> {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("waited {WAIT:?} for {what}"),
            ));
        }
        sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| io::Error::new(e.kind(), format!("{cmd:?}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{cmd:?} failed: {status}")))
    }
}
