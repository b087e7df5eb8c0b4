//! Starting and stopping `jitsudod` for the tests.
//!
//! Daemons are spawned from one long-lived "keeper" thread with
//! `PR_SET_PDEATHSIG(SIGTERM)`: the kernel sends that signal when the
//! *thread* that forked the child ends, so forking from a short-lived test
//! thread would kill the daemon as soon as that test finished. An `atexit`
//! hook also sends SIGTERM to every daemon still running when the test
//! binary exits normally.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use jitsudo_sys::signal::{set_disposition, Disposition};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::poll_until;
use crate::world::World;

/// How long a daemon may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

type SpawnRequest = (Command, Sender<io::Result<Child>>);

/// Pids of daemons to stop at exit.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

extern "C" fn stop_daemons_at_exit() {
    if let Ok(pids) = LIVE.try_lock() {
        for &pid in pids.iter() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
}

/// Spawns `cmd` from the keeper thread (see the module docs).
fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("jitsudod-keeper".into())
            .spawn(move || {
                // Lives (blocked in recv) until the process exits.
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start keeper thread");
        // SAFETY: registering a plain extern "C" function with no captured
        // state; it only reads a static behind a try_lock.
        unsafe {
            libc::atexit(stop_daemons_at_exit);
        }
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper
        .lock()
        .expect("keeper lock")
        .send((cmd, reply_tx))
        .expect("keeper thread alive");
    reply_rx.recv().expect("keeper replies")
}

/// Where a test daemon makes its commands' groups.
enum Placement {
    /// Below this cgroup (`--cgroup-root`).
    Root(PathBuf),
    /// In its own unit's cgroup, as under systemd: the cgroup and its
    /// `cgroup.procs`, open for the daemon to enter before its exec.
    Unit(PathBuf, File),
}

/// A running `jitsudod`.
#[derive(Debug)]
pub struct Daemon {
    /// Its listening socket.
    pub socket: PathBuf,
    /// File receiving its stdout and stderr.
    pub log: PathBuf,
    /// Its audit trail: `<dir>/audit.jsonl`, its own, unless the test gave
    /// `--audit-file`.
    pub trail: PathBuf,
    /// The cgroup (as /proc/self/cgroup names it) under which its commands
    /// get their groups: one per daemon, so that daemons never share one.
    pub cgroup: PathBuf,
    child: Mutex<Child>,
}

impl Daemon {
    /// Starts a daemon named `name` (its files live in
    /// `<root>/daemon-<name>/`) with the given policy, and waits until its
    /// socket accepts connections. Panics with its log if it does not come
    /// up.
    pub fn start(world: &World, name: &str, policy: &Path) -> Daemon {
        Daemon::start_with_env(world, name, policy, &[])
    }

    /// [`Daemon::start`] with these environment variables set for the
    /// daemon (e.g. `TZ`).
    pub fn start_with_env(
        world: &World,
        name: &str,
        policy: &Path,
        env: &[(&str, &str)],
    ) -> Daemon {
        let cgroup = own_cgroup().join(format!("jitsudo-test-{}-{name}", std::process::id()));
        Daemon::spawn(world, name, policy, Placement::Root(cgroup), env, &[])
    }

    /// [`Daemon::start`] with these extra command-line arguments (e.g.
    /// `--audit-file`, else the daemon's trail is its own file in its
    /// directory).
    pub fn start_with_args(world: &World, name: &str, policy: &Path, args: &[&OsStr]) -> Daemon {
        let cgroup = own_cgroup().join(format!("jitsudo-test-{}-{name}", std::process::id()));
        Daemon::spawn(world, name, policy, Placement::Root(cgroup), &[], args)
    }

    /// Starts a daemon as systemd starts it as a service with `Delegate=yes`:
    /// inside the cgroup `unit` (whose directory is `unit_dir`), with
    /// `INVOCATION_ID` set and no `--cgroup-root`.
    pub fn start_as_unit(
        world: &World,
        name: &str,
        policy: &Path,
        unit: PathBuf,
        unit_dir: &Path,
    ) -> Daemon {
        let procs = fs::OpenOptions::new()
            .write(true)
            .open(unit_dir.join("cgroup.procs"))
            .expect("open the unit's cgroup.procs");
        Daemon::spawn(world, name, policy, Placement::Unit(unit, procs), &[], &[])
    }

    fn spawn(
        world: &World,
        name: &str,
        policy: &Path,
        placement: Placement,
        env: &[(&str, &str)],
        args: &[&OsStr],
    ) -> Daemon {
        let dir = world.root.join(format!("daemon-{name}"));
        crate::util::make_dir(&dir, 0o755);
        let state = dir.join("state");
        crate::util::make_dir(&state, 0o700);
        let socket = dir.join("jitsudod.sock");
        let _ = fs::remove_file(&socket);
        let log = dir.join("jitsudod.log");
        let log_file = File::create(&log).expect("create daemon log");
        // Its own trail unless the test gives one: a shared one grows with
        // every run, and tests would read each other's records.
        let given = trail_in(args);
        let trail = given.clone().unwrap_or_else(|| dir.join("audit.jsonl"));

        let mut cmd = Command::new(world.jitsudo_bin().join("jitsudod"));
        let (cgroup, unit_procs) = match placement {
            Placement::Root(cgroup) => {
                cmd.arg("--cgroup-root").arg(&cgroup);
                (cgroup, None)
            }
            Placement::Unit(unit, procs) => {
                cmd.env("INVOCATION_ID", "0123456789abcdef0123456789abcdef");
                (unit, Some(procs))
            }
        };
        // The hook writes to its own (close-on-exec) copy of cgroup.procs.
        let unit_procs = unit_procs.map(|f| f.try_clone().expect("dup cgroup.procs"));
        cmd.arg("--foreground")
            .arg("--socket")
            .arg(&socket)
            .arg("--policy")
            .arg(policy)
            .arg("--state-dir")
            .arg(&state)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file);
        if given.is_none() {
            cmd.arg("--audit-file").arg(&trail);
        }
        // The daemon starts with clean signal state except SIGUSR2 ignored,
        // deliberately: a daemon's own dispositions must not leak into the
        // commands it runs (signals.rs checks what the command sees).
        let hook = move || {
            if let Some(mut procs) = unit_procs.as_ref() {
                if procs.write(b"0")? != 1 {
                    return Err(io::Error::other("short write to cgroup.procs"));
                }
            }
            crate::exec::reset_signals();
            let _ = set_disposition(libc::SIGUSR2, Disposition::Ignore);
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            Ok(())
        };
        // SAFETY: the hook only makes async-signal-safe system calls
        // (write, rt_sigaction, sigprocmask, prctl) and allocates nothing;
        // nothing else runs between fork and exec here.
        unsafe { cmd.pre_exec(hook) };
        let child = spawn_from_keeper(cmd).expect("spawn jitsudod");
        LIVE.lock().expect("live daemons").push(child.id() as i32);
        let daemon = Daemon {
            socket,
            log,
            trail,
            cgroup,
            child: Mutex::new(child),
        };
        daemon.wait_ready();
        daemon
    }

    /// Waits until the socket accepts a connection, failing early (with the
    /// daemon's log) if the daemon exits.
    fn wait_ready(&self) {
        let ready = poll_until(READY_TIMEOUT, || {
            if let Some(status) = self.try_wait() {
                panic!(
                    "jitsudod exited during start-up ({status})\n{}",
                    self.log_text()
                );
            }
            UnixStream::connect(&self.socket).ok().map(|_| ())
        });
        assert!(
            ready.is_some(),
            "jitsudod did not accept connections on {} within {READY_TIMEOUT:?}\n{}",
            self.socket.display(),
            self.log_text()
        );
    }

    /// The daemon's pid.
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.lock().expect("daemon child").id() as i32)
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&self) -> Option<ExitStatus> {
        self.child
            .lock()
            .expect("daemon child")
            .try_wait()
            .expect("waitpid jitsudod")
    }

    /// Whether it is still running.
    pub fn is_running(&self) -> bool {
        self.try_wait().is_none()
    }

    /// Sends SIGTERM and waits (bounded) for it to exit; returns its status.
    pub fn terminate(&self, timeout: Duration) -> Option<ExitStatus> {
        let _ = kill(self.pid(), Signal::SIGTERM);
        let status = poll_until(timeout, || self.try_wait());
        if status.is_some() {
            let pid = self.pid().as_raw();
            LIVE.lock().expect("live daemons").retain(|&p| p != pid);
        }
        status
    }

    /// What the daemon printed so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// The pid of the daemon's fork server (its child titled
    /// [`FORK_SERVER_TITLE`]), if one runs.
    pub fn fork_server(&self) -> Option<i32> {
        children(self.pid().as_raw())
            .into_iter()
            .find_map(|(pid, title)| (title == FORK_SERVER_TITLE).then_some(pid))
    }

    /// The workers its fork server started that still run: pid and title
    /// (`jitsudod: worker [idle]` while one waits for a job).
    pub fn workers(&self) -> Vec<(i32, String)> {
        self.fork_server()
            .map(children)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, title)| title.starts_with("jitsudod: worker "))
            .collect()
    }
}

/// The trail `args` give a daemon (`--audit-file PATH`), if they do.
fn trail_in(args: &[&OsStr]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, arg)| {
        let arg = arg.to_str()?;
        match arg.strip_prefix("--audit-file") {
            Some("") => args.get(i + 1).map(PathBuf::from),
            Some(rest) => rest.strip_prefix('=').map(PathBuf::from),
            None => None,
        }
    })
}

/// The title the daemon's fork server shows in `ps`.
pub const FORK_SERVER_TITLE: &str = "jitsudod: fork server";

/// The processes whose parent is `parent`, with their command lines (NULs
/// between arguments shown as spaces, trailing ones dropped).
pub fn children(parent: i32) -> Vec<(i32, String)> {
    let parent = parent.to_string();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok()?.parse::<i32>().ok())
        .filter(|pid| parent_of(*pid).as_deref() == Some(parent.as_str()))
        .filter_map(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let shown = String::from_utf8_lossy(&cmdline)
                .trim_end_matches('\0')
                .replace('\0', " ");
            Some((pid, shown))
        })
        .collect()
}

/// The parent pid of `pid` (field 4 of /proc/PID/stat), as text.
fn parent_of(pid: i32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends at the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1).map(str::to_owned)
}

/// The test process's cgroup v2 path (`/` when /proc/self/cgroup has none).
pub fn own_cgroup() -> PathBuf {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    PathBuf::from(path)
}
