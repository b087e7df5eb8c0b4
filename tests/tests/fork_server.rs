//! Issue 12: workers are forked by the daemon's fork server instead of
//! exec'd one by one. What must hold: a new worker carries nothing of the
//! fork server but what a fresh exec would (its own channel on fd 0), each
//! request gets a worker of its own, and a fork server that dies or has
//! forked its share is replaced without a request failing.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use jitsudo_tests::daemon::Daemon;
use jitsudo_tests::util::{poll_until, write_atomic};
use jitsudo_tests::world;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const ROOT_ALL: &str = "[[rule]]\nid = \"root-all\"\nwho = [\"root\"]\n\
    commands = [\"ALL\"]\nauth = \"none\"\n";

const WAIT: Duration = Duration::from_secs(20);

/// A daemon whose policy lets root run anything without a password.
fn daemon(name: &str) -> Daemon {
    let path: PathBuf = world().policy_dir(name).join("policy.toml");
    write_atomic(&path, ROOT_ALL.as_bytes(), 0o644);
    Daemon::start(world(), name, &path)
}

/// Runs `jitsudo -n ARGS` as root against `daemon`.
fn run(daemon: &Daemon, args: &[&str]) -> Output {
    Command::new(world().jitsudo_bin().join("jitsudo"))
        .arg("-n")
        .args(args)
        .env("JITSUDO_SOCKET", &daemon.socket)
        .stdin(Stdio::null())
        .output()
        .expect("run jitsudo")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fork server, once it runs with its pool of idle workers filled.
fn fork_server_with_idle_workers(daemon: &Daemon) -> (i32, Vec<i32>) {
    poll_until(WAIT, || {
        let server = daemon.fork_server()?;
        let idle: Vec<i32> = daemon
            .workers()
            .into_iter()
            .filter(|(_, title)| title == "jitsudod: worker [idle]")
            .map(|(pid, _)| pid)
            .collect();
        (idle.len() >= 2).then_some((server, idle))
    })
    .unwrap_or_else(|| {
        panic!(
            "no fork server with idle workers: {:?}, {:?}",
            daemon.fork_server(),
            daemon.workers()
        )
    })
}

/// A process's descriptors: number → what /proc shows it points to.
fn descriptors(pid: i32) -> BTreeMap<u32, String> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's fd directory")
        .flatten()
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect()
}

/// A worker that a hostile caller's request lands in must not hold the
/// fork server's channel to the daemon (with it, a compromised worker could
/// have workers forked at will), another worker's channel, or any other
/// descriptor the fork server had while forking it: its descriptors are the
/// fork server's, except fd 0, its own channel, and the fork server's
/// signalfd, plus what it opened itself while it waited for a job (its
/// audit sinks' sockets and the trail's files, the signalfd of its wait):
/// sockets that no other process of the daemon holds.
#[test]
fn a_new_worker_holds_only_what_a_fresh_exec_would() {
    let d = daemon("fork-fds");
    let (server, idle) = fork_server_with_idle_workers(&d);
    let theirs = descriptors(server);
    let expected: BTreeMap<u32, String> = theirs
        .iter()
        .filter(|(fd, what)| **fd != 0 && what.as_str() != "anon_inode:[signalfd]")
        .map(|(fd, what)| (*fd, what.clone()))
        .collect();
    for &worker in &idle {
        let mut ours = descriptors(worker);
        let channel = ours.remove(&0).expect("a worker's fd 0");
        assert!(channel.starts_with("socket:"), "fd 0 is {channel}");
        assert_ne!(
            Some(&channel),
            theirs.get(&0),
            "the worker shares the fork server's channel"
        );
        let (inherited, own): (BTreeMap<u32, String>, BTreeMap<u32, String>) = ours
            .into_iter()
            .partition(|(fd, what)| expected.get(fd) == Some(what));
        assert_eq!(
            inherited, expected,
            "worker {worker}'s descriptors (fd 0 aside) differ from the fork server's"
        );
        // Nor the signalfd through which the fork server sees workers end,
        // nor anything else of another process's.
        let others: Vec<String> = idle
            .iter()
            .filter(|pid| **pid != worker)
            .chain([&server, &d.pid().as_raw()])
            .flat_map(|pid| descriptors(*pid).into_values())
            .collect();
        for (fd, what) in &own {
            let trail = what.starts_with(&*d.trail.to_string_lossy());
            let own_socket = what.starts_with("socket:") && !others.contains(what);
            let wait = what == "anon_inode:[signalfd]" && !watches_children(worker, *fd);
            assert!(
                trail || own_socket || wait,
                "worker {worker}'s fd {fd} ({what}) is not one it opened itself"
            );
        }
    }
}

/// Whether the signalfd `fd` of `pid` reads `SIGCHLD` (as the fork
/// server's does; an idle worker's reads only stop signals).
fn watches_children(pid: i32, fd: u32) -> bool {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
    let mask = info
        .lines()
        .find_map(|l| l.strip_prefix("sigmask:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
    mask.is_none_or(|m| m & (1 << (libc::SIGCHLD - 1)) != 0)
}

/// The sockets among a process's descriptors.
fn sockets(pid: i32) -> Vec<String> {
    descriptors(pid)
        .into_values()
        .filter(|target| target.starts_with("socket:"))
        .collect()
}

/// A worker running a command holds none of the sockets of the daemon
/// (its listening socket, its channels to the fork server and to other
/// workers), of the fork server, or of the idle workers: each worker can
/// reach only its own client and its own channel.
#[test]
fn a_running_commands_worker_holds_no_one_elses_socket() {
    let d = daemon("fork-busy");
    fork_server_with_idle_workers(&d);
    let mut client = Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(["-n", "/usr/bin/sleep", "60"])
        .env("JITSUDO_SOCKET", &d.socket)
        .stdin(Stdio::null())
        .spawn()
        .expect("run jitsudo");
    let title = "jitsudod: worker root → root /usr/bin/sleep";
    let busy = poll_until(WAIT, || {
        d.workers()
            .into_iter()
            .find_map(|(pid, shown)| (shown == title).then_some(pid))
    });
    let (server, idle) = fork_server_with_idle_workers(&d);
    let mut others = sockets(d.pid().as_raw());
    others.extend(sockets(server));
    for pid in idle.iter().filter(|pid| Some(**pid) != busy) {
        others.extend(sockets(*pid));
    }
    let held = busy.map(sockets);
    let _ = client.kill();
    let _ = client.wait();
    let held = held.unwrap_or_else(|| panic!("no worker titled {title:?}: {:?}", d.workers()));
    assert!(!held.is_empty(), "the worker holds no socket at all");
    let shared: Vec<&String> = held.iter().filter(|s| others.contains(s)).collect();
    assert!(
        shared.is_empty(),
        "the busy worker shares {shared:?} with the daemon, the fork server or an idle worker"
    );
}

/// A process's scheduling policy (field 41 of /proc/PID/stat).
fn policy(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    fields.split_whitespace().nth(38)?.parse().ok()
}

/// Forking and preparing workers is work done ahead of requests
/// (SCHED_BATCH: it never preempts the request being served); a prepared
/// worker waits at the normal policy, so its job wakes it at once and its
/// command does not inherit SCHED_BATCH (exec.rs holds the command's
/// policy against sudo's).
#[test]
fn workers_are_made_in_the_background_and_wait_at_the_normal_policy() {
    let d = daemon("fork-sched");
    let (server, _) = fork_server_with_idle_workers(&d);
    assert_eq!(policy(server), Some(libc::SCHED_BATCH), "the fork server");
    let waiting = poll_until(WAIT, || {
        let idle: Vec<(i32, Option<i32>)> = d
            .workers()
            .into_iter()
            .filter(|(_, title)| title == "jitsudod: worker [idle]")
            .map(|(pid, _)| (pid, policy(pid)))
            .collect();
        let normal = idle.iter().all(|(_, p)| *p == Some(libc::SCHED_OTHER));
        (idle.len() >= 2 && normal).then_some(())
    });
    assert!(waiting.is_some(), "idle workers: {:?}", d.workers());
    let out = run(&d, &["/bin/true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Each request is served by a new worker (the command's parent), which
/// exits with it: no worker serves two requests.
#[test]
fn each_request_gets_a_worker_of_its_own() {
    let d = daemon("fork-own");
    let mut seen = Vec::new();
    for _ in 0..6 {
        let out = run(&d, &["/bin/sh", "-c", "echo $PPID"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let worker: i32 = text(&out.stdout).trim().parse().expect("a pid");
        assert!(!seen.contains(&worker), "worker {worker} served twice");
        seen.push(worker);
    }
    let gone = poll_until(WAIT, || {
        seen.iter()
            .all(|pid| !PathBuf::from(format!("/proc/{pid}")).exists())
            .then_some(())
    });
    assert!(gone.is_some(), "a worker outlived its request: {seen:?}");
}

/// A fork server that dies (killed here by root; a crash alike) is
/// replaced, and requests keep being served, before and after its idle
/// workers are used up.
#[test]
fn a_killed_fork_server_is_replaced() {
    let d = daemon("fork-kill");
    let (first, _) = fork_server_with_idle_workers(&d);
    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill the fork server");
    for _ in 0..5 {
        let out = run(&d, &["/bin/true"]);
        assert!(
            out.status.success(),
            "a request failed after the fork server died: {}\n{}",
            text(&out.stderr),
            d.log_text()
        );
    }
    let (second, _) = fork_server_with_idle_workers(&d);
    assert_ne!(first, second, "the killed fork server is still listed");
}

/// Forked workers share their fork server's address-space layout: after
/// its share of workers (256) a fork server is replaced by a freshly
/// exec'd one, so that no layout serves more requests than that.
#[test]
fn a_fork_server_is_replaced_after_its_share_of_workers() {
    let d = daemon("fork-rotate");
    let (first, _) = fork_server_with_idle_workers(&d);
    for _ in 0..260 {
        let out = run(&d, &["/bin/true"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let (second, _) = fork_server_with_idle_workers(&d);
    assert_ne!(first, second, "one fork server forked over 256 workers");
}

/// A worker that crashed (as a wrong guess at the stack canary or a pointer
/// ends) makes the fork server be replaced before it forks again, so its
/// siblings' layout cannot be learnt one crash at a time; a worker that
/// was merely told to stop does not.
#[test]
fn a_crashed_worker_gets_its_fork_server_replaced() {
    let d = daemon("fork-crash");
    let served = |d: &Daemon| {
        for _ in 0..3 {
            let out = run(d, &["/bin/true"]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
    };
    let (first, idle) = fork_server_with_idle_workers(&d);
    kill(Pid::from_raw(idle[0]), Signal::SIGTERM).expect("stop an idle worker");
    served(&d);
    let (same, idle) = fork_server_with_idle_workers(&d);
    assert_eq!(first, same, "a stopped worker replaced the fork server");
    kill(Pid::from_raw(idle[0]), Signal::SIGABRT).expect("crash an idle worker");
    // A job sent to a worker as it crashes is lost with it (its client is
    // told): the requests come once it is gone.
    let crashed = poll_until(WAIT, || {
        (!PathBuf::from(format!("/proc/{}", idle[0])).exists()).then_some(())
    });
    assert!(crashed.is_some(), "the crashed worker {} lives on", idle[0]);
    served(&d);
    let replaced = poll_until(WAIT, || d.fork_server().filter(|pid| *pid != first));
    assert!(
        replaced.is_some(),
        "the fork server of a crashed worker forked again\n{}",
        d.log_text()
    );
}

/// A stop signal (`SIGTERM`, as an administrator or a service manager
/// sends) that reaches an idle worker together with its job loses no
/// request: the job came first and is served. Here the idle workers are
/// frozen, told to stop, given the request, and thawed: each finds the stop
/// and, in one of them, the job.
#[test]
fn a_worker_stopped_as_its_job_comes_serves_the_job() {
    let d = daemon("fork-stop-race");
    let (_, idle) = fork_server_with_idle_workers(&d);
    signal_all(&idle, Signal::SIGSTOP);
    signal_all(&idle, Signal::SIGTERM);
    let client = Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(["-n", "/bin/true"])
        .env("JITSUDO_SOCKET", &d.socket)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run jitsudo");
    // Time for the daemon to hand the job over (were it later, the thawed
    // worker would refuse it and the daemon give it to another: the request
    // is served either way).
    std::thread::sleep(Duration::from_millis(500));
    signal_all(&idle, Signal::SIGCONT);
    let out = client.wait_with_output().expect("wait for jitsudo");
    assert!(
        out.status.success(),
        "a request was lost with the worker stopped as it came: {}\n{}",
        text(&out.stderr),
        d.log_text()
    );
    let gone = poll_until(WAIT, || {
        idle.iter()
            .all(|pid| !PathBuf::from(format!("/proc/{pid}")).exists())
            .then_some(())
    });
    assert!(gone.is_some(), "a stopped worker lives on: {idle:?}");
}

/// Sends `signal` to each of `pids`.
fn signal_all(pids: &[i32], signal: Signal) {
    for pid in pids {
        kill(Pid::from_raw(*pid), signal).expect("signal a worker");
    }
}

/// Clients that hang up right after sending their request (a hostile user
/// looping on it) leave nothing behind: the worker each was handed to
/// ends (once its command did, if it had started it: a command whose
/// client vanishes without a terminal runs on, as sudo's does), and the
/// pool is back to idle workers only.
#[test]
fn clients_that_hang_up_after_their_request_leave_no_worker_behind() {
    use jitsudo_proto::{send_frame, FrameReader};
    use jitsudo_tests::crafted::{hello_and_run, run_request};
    use std::os::fd::{AsFd, AsRawFd};
    let d = daemon("fork-hangup");
    let frames = hello_and_run(run_request(&[b"/bin/true"]));
    let cwd = fs::File::open("/").expect("open /");
    for _ in 0..20 {
        let conn = std::os::unix::net::UnixStream::connect(&d.socket).expect("connect");
        send_frame(conn.as_fd(), &frames, &[cwd.as_raw_fd()]).expect("send");
        // Hanging up only after the welcome: the request is decided and
        // handed over, not refused for a client gone at the hello.
        let mut reader = FrameReader::new(jitsudo_proto::MAX_MESSAGE_LEN);
        let welcome = reader.read_frame(conn.as_fd()).expect("welcome");
        assert!(welcome.is_some(), "no welcome");
        drop(conn);
    }
    let settled = poll_until(WAIT, || {
        let workers = d.workers();
        workers
            .iter()
            .all(|(_, title)| title == "jitsudod: worker [idle]")
            .then_some(workers)
    });
    assert!(
        settled.is_some(),
        "workers of vanished clients still run: {:?}",
        d.workers()
    );
    let out = run(&d, &["/bin/true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
