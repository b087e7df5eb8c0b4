//! `spawn`: a child that shares this process's memory until its exec.
//!
//! `spawn` refuses to run in a process with more than one thread, and the
//! standard test harness runs each test on a thread of its own: this file
//! has its own `main` (`harness = false`) and runs its cases one after the
//! other on the main thread. What the children run allocates nothing, as
//! `spawn` demands.

use std::ffi::{c_int, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

use jitsudo_sys::process::exit_immediately;
use jitsudo_sys::signal::{current_mask, set_disposition, set_mask, Disposition};
use jitsudo_sys::spawn::{exec_path, spawn, ExecStrings};
use nix::errno::Errno;
use nix::sys::signal::{kill, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getpid, Pid};

fn main() {
    let cases: [(&str, fn()); 5] = [
        (
            "the_child_runs_on_its_own_stack_and_execs",
            the_child_runs_on_its_own_stack_and_execs,
        ),
        (
            "spawn_returns_once_the_child_has_execd",
            spawn_returns_once_the_child_has_execd,
        ),
        (
            "an_exec_failure_is_reported_with_its_errno",
            an_exec_failure_is_reported_with_its_errno,
        ),
        (
            "the_child_is_in_its_cgroup_from_its_first_instruction",
            the_child_is_in_its_cgroup_from_its_first_instruction,
        ),
        (
            "signals_in_the_window_run_no_handler_of_the_parent",
            signals_in_the_window_run_no_handler_of_the_parent,
        ),
    ];
    for (name, case) in cases {
        case();
        println!("test {name} ... ok");
    }
}

fn strings(words: &[&str]) -> ExecStrings {
    ExecStrings::new(words.iter().map(|w| CString::new(*w).unwrap()).collect())
}

fn exit_code(pid: Pid) -> i32 {
    match waitpid(pid, None).unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the child did not exit: {other:?}"),
    }
}

/// An exec of `path` with `argv`, and what the child writes down.
struct Exec {
    path: CString,
    argv: ExecStrings,
    env: ExecStrings,
    /// The address of a local of the child's first frame.
    local: AtomicUsize,
    /// The write end of a close-on-exec pipe: the exec's errno on failure.
    report: Option<OwnedFd>,
}

impl Exec {
    fn new(argv: &[&str]) -> Exec {
        Exec {
            path: CString::new(argv[0]).unwrap(),
            argv: strings(argv),
            env: strings(&["PATH=/usr/bin:/bin"]),
            local: AtomicUsize::new(0),
            report: None,
        }
    }
}

/// Notes where its stack is, execs; on failure reports errno and exits 127.
fn run(exec: &Exec) -> ! {
    let here = 0u8;
    exec.local
        .store(std::ptr::addr_of!(here) as usize, Ordering::Relaxed);
    let errno = exec_path(&exec.path, &exec.argv, &exec.env) as i32;
    if let Some(report) = &exec.report {
        let _ = nix::unistd::write(report, &errno.to_ne_bytes());
    }
    exit_immediately(127)
}

/// The mapping of this process that holds `address`: its range and name.
fn mapping_of(address: usize) -> Option<(usize, usize, String)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().find_map(|line| {
        let range = line.split_whitespace().next()?;
        let (low, high) = range.split_once('-')?;
        let low = usize::from_str_radix(low, 16).ok()?;
        let high = usize::from_str_radix(high, 16).ok()?;
        let name = line.split_whitespace().nth(5).unwrap_or("").to_owned();
        (low..high).contains(&address).then_some((low, high, name))
    })
}

/// The child's write is seen by the parent (one memory); the child's frame
/// was on a stack of its own, not the parent's, and that stack is gone
/// once `spawn` returns; the exec ran (its exit code).
fn the_child_runs_on_its_own_stack_and_execs() {
    let exec = Exec::new(&["/bin/sh", "-c", "exit 7"]);
    let here = 0u8;
    let own = mapping_of(std::ptr::addr_of!(here) as usize).unwrap();
    let child = spawn(None, run, &exec).unwrap();
    let local = exec.local.load(Ordering::Relaxed);
    let after = mapping_of(local);
    assert_eq!(exit_code(child), 7);
    assert_ne!(local, 0, "the child's memory is not the parent's");
    assert!(
        !(own.0..own.1).contains(&local),
        "the child ran on the parent's stack ({local:#x} in {own:x?})"
    );
    assert_eq!(after, None, "the child's stack is still mapped");
}

/// CLONE_VFORK: by the time `spawn` returns, the child is the new program.
fn spawn_returns_once_the_child_has_execd() {
    let exec = Exec::new(&["/bin/sleep", "30"]);
    let child = spawn(None, run, &exec).unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap();
    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
    let _ = waitpid(child, None);
    assert_eq!(comm.trim(), "sleep");
}

/// The child's errno reaches the parent through the pipe, and
/// `exit_immediately` sets the exit code; a successful exec closes the
/// pipe (end of file).
fn an_exec_failure_is_reported_with_its_errno() {
    for (path, expected) in [
        ("/nonexistent/command", Some(Errno::ENOENT)),
        ("/etc/passwd", Some(Errno::EACCES)),
        ("/bin/true", None),
    ] {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let mut exec = Exec::new(&[path]);
        exec.report = Some(write);
        let child = spawn(None, run, &exec).unwrap();
        drop(exec.report.take());
        let mut buf = [0u8; 4];
        let n = nix::unistd::read(&read, &mut buf).unwrap();
        let reported = (n == 4).then(|| Errno::from_raw(i32::from_ne_bytes(buf)));
        assert_eq!(reported, expected, "{path}");
        assert_eq!(exit_code(child), if expected.is_some() { 127 } else { 0 });
    }
}

/// What the child in a cgroup sends back: its /proc/self/cgroup, read
/// before anything else.
struct Report {
    pipe: OwnedFd,
}

fn report_own_cgroup(report: &Report) -> ! {
    let mut buf = [0u8; 512];
    let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC;
    let n = match nix::fcntl::open(c"/proc/self/cgroup", flags, nix::sys::stat::Mode::empty()) {
        Ok(file) => nix::unistd::read(&file, &mut buf).unwrap_or(0),
        Err(_) => 0,
    };
    let _ = nix::unistd::write(&report.pipe, &buf[..n]);
    exit_immediately(0)
}

/// The child names the group it was asked to be born in, from its first
/// instruction on (without CLONE_INTO_CGROUP it would name the parent's).
fn the_child_is_in_its_cgroup_from_its_first_instruction() {
    let Some((mount, path)) = scratch_cgroup() else {
        return;
    };
    let dir = std::fs::File::open(format!("{mount}{path}")).unwrap();
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let report = Report { pipe: write };
    let spawned = spawn(Some(dir.as_fd()), report_own_cgroup, &report);
    drop(report);
    let mut seen = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut seen).unwrap();
    let code = spawned.map(exit_code);
    std::fs::remove_dir(format!("{mount}{path}")).unwrap();
    assert_eq!(code, Ok(0));
    let v2 = seen.lines().find(|l| l.starts_with("0::"));
    assert_eq!(v2, Some(format!("0::{path}").as_str()));
}

/// A new cgroup v2 group below this process's: where the hierarchy is
/// mounted, and the group's path in it. `None`, with a note, where that
/// cannot be done here.
fn scratch_cgroup() -> Option<(String, String)> {
    let Some(mount) = cgroup2_mount() else {
        eprintln!("skipped: no cgroup v2 hierarchy");
        return None;
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .trim_end_matches('/');
    let path = format!("{own}/jitsudo-sys-spawn-{}", std::process::id());
    if let Err(e) = std::fs::create_dir(format!("{mount}{path}")) {
        eprintln!("skipped: no cgroup v2 group can be made here ({e})");
        return None;
    }
    Some((mount, path))
}

/// Where the cgroup v2 hierarchy is mounted (/proc/self/mountinfo: the
/// mount point is the fifth field, the type follows the " - ").
fn cgroup2_mount() -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (mount, kind) = line.split_once(" - ")?;
        (kind.split_whitespace().next()? == "cgroup2")
            .then(|| mount.split_whitespace().nth(4).map(str::to_owned))?
    })
}

/// Whose pid the parent's SIGUSR1 handler last ran in (0: never).
static HANDLED_IN: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_handler(_: c_int) {
    HANDLED_IN.store(getpid().as_raw(), Ordering::SeqCst);
}

/// What the child saw: its signal mask on entry.
struct Window {
    mask_on_entry: AtomicU64,
}

/// Sends itself SIGUSR1 (for which the parent has a handler) while still
/// in the window, then ignores it, unblocks everything and exits 0.
fn signal_self_in_the_window(window: &Window) -> ! {
    window
        .mask_on_entry
        .store(current_mask().unwrap_or(0), Ordering::SeqCst);
    let _ = kill(getpid(), Signal::SIGUSR1);
    let _ = set_disposition(libc::SIGUSR1, Disposition::Ignore);
    let _ = set_mask(0);
    exit_immediately(0)
}

/// Every signal is blocked from before the clone, so a signal that reaches
/// the child before it resets its dispositions never runs a handler of
/// the parent there; the parent gets its mask and handler back.
fn signals_in_the_window_run_no_handler_of_the_parent() {
    let action = SigAction::new(
        SigHandler::Handler(note_handler),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe { sigaction(Signal::SIGUSR1, &action) }.unwrap();
    let before = current_mask().unwrap();
    let window = Window {
        mask_on_entry: AtomicU64::new(0),
    };
    let child = spawn(None, signal_self_in_the_window, &window).unwrap();
    assert_eq!(exit_code(child), 0, "the child died of its signal");
    assert_eq!(
        HANDLED_IN.load(Ordering::SeqCst),
        0,
        "a handler ran in the child"
    );
    // All but SIGKILL and SIGSTOP, which cannot be blocked.
    let unblockable = (1u64 << (libc::SIGKILL - 1)) | (1u64 << (libc::SIGSTOP - 1));
    assert_eq!(window.mask_on_entry.load(Ordering::SeqCst), !unblockable);
    assert_eq!(current_mask().unwrap(), before);
    // The parent's handler is still there, and works.
    kill(getpid(), Signal::SIGUSR1).unwrap();
    assert_eq!(HANDLED_IN.load(Ordering::SeqCst), getpid().as_raw());
    let _ = set_disposition(libc::SIGUSR1, Disposition::Default);
}
