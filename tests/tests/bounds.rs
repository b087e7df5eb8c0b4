//! What one local user can make the daemon hold (jitsudo only): floods of
//! connections, password prompts nobody answers, idle half-sent frames,
//! and clients that never read. Each test runs a daemon of its own, with
//! limits small enough to reach quickly.

use std::fs;
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::cmsg_space;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use jitsudo_tests::daemon::{children, Daemon, FORK_SERVER_TITLE};
use jitsudo_tests::util::{poll_until, write_atomic};
use jitsudo_tests::*;

/// The daemon's deadline for a request (`REQUEST_TIMEOUT`), plus slack.
const REQUEST_DEADLINE: Duration = Duration::from_secs(30 + 15);
/// The daemon's deadline for a client to read its replies
/// (`SEND_TIMEOUT`), plus slack.
const SEND_DEADLINE: Duration = Duration::from_secs(10 + 15);

/// `false` (with a note) when JITSUDO_TESTS_ONLY excludes jitsudo.
fn jitsudo_enabled() -> bool {
    let on = Impl::Jitsudo.enabled();
    if !on {
        eprintln!("skipped: jitsudo disabled by JITSUDO_TESTS_ONLY");
    }
    on
}

/// A daemon of its own named `name`: the fixture policy with `defaults`
/// added to its `[defaults]` and `rules` appended. Unknown keys are only
/// warnings, so the same policy runs on a daemon without these limits.
fn daemon(name: &str, defaults: &str, rules: &str) -> Daemon {
    let base = fixtures::config().to_toml();
    let policy = format!("[compat]\nunknown_keys = \"warn\"\n\n{base}\n{rules}").replacen(
        "[defaults]\n",
        &format!("[defaults]\n{defaults}\n"),
        1,
    );
    let path = world().root.join(format!("policy-{name}.toml"));
    write_atomic(&path, policy.as_bytes(), 0o644);
    Daemon::start(world(), name, &path)
}

fn uid_of(user: &str) -> u32 {
    fixtures::account(user).uid
}

/// Lets this test process hold thousands of connections.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
}

/// Opens up to `n` connections to `socket` as `uid`: from a thread whose
/// effective uid is `uid`, so the kernel credits them to that user.
fn connect_as(uid: u32, socket: &Path, n: usize) -> Vec<UnixStream> {
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        // SAFETY: the raw system call changes this thread's credentials
        // only (glibc's wrapper would change every thread's); the thread
        // ends right after.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_setresuid,
                -1 as libc::c_long,
                libc::c_long::from(uid),
                -1 as libc::c_long,
            )
        };
        assert_eq!(rc, 0, "setresuid: {}", std::io::Error::last_os_error());
        (0..n)
            .map_while(|_| UnixStream::connect(&socket).ok())
            .collect::<Vec<_>>()
    })
    .join()
    .expect("connecting thread")
}

/// What the daemon sent before closing `s`, or `None` if it is still
/// open after `timeout`.
fn said_before_closing(s: &mut UnixStream, timeout: Duration) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let deadline = Instant::now() + timeout;
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&said).into_owned()),
            Ok(n) => said.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // Reset: closed too.
            Err(_) => return Some(String::from_utf8_lossy(&said).into_owned()),
        }
    }
    None
}

/// Whether the daemon closed `s` (its end hung up) within `timeout`,
/// without reading anything from it.
fn hung_up(s: &UnixStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut fds = [PollFd::new(s.as_fd(), PollFlags::empty())];
        let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, wait) {
            Ok(0) => return false,
            Ok(_) => {
                let events = fds[0].revents().unwrap_or(PollFlags::empty());
                if events.contains(PollFlags::POLLHUP) {
                    return true;
                }
            }
            Err(_) => {}
        }
        if left.is_zero() {
            return false;
        }
    }
}

/// The daemon's resident memory in KiB (`field` of /proc/<pid>/status).
fn memory_kib(daemon: &Daemon, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{}/status", daemon.pid())).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc status"))
}

/// Workers of the daemon that are serving a request (titled with it).
fn busy_workers(daemon: &Daemon) -> usize {
    workers(daemon, true)
}

/// Workers waiting in the daemon's pool for a job.
fn idle_workers(daemon: &Daemon) -> usize {
    workers(daemon, false)
}

/// The daemon's workers that are busy or idle.
fn workers(daemon: &Daemon, busy: bool) -> usize {
    daemon
        .workers()
        .iter()
        .filter(|(_, title)| (title != IDLE_WORKER) == busy)
        .count()
}

/// A worker's title while it waits for a job.
const IDLE_WORKER: &str = "jitsudod: worker [idle]";

/// Lines of the daemon's log that contain `text`.
fn log_lines(daemon: &Daemon, text: &str) -> usize {
    daemon
        .log_text()
        .lines()
        .filter(|l| l.contains(text))
        .count()
}

/// The hello and request frames the real client sends for `args` with
/// /dev/null as its stdio, captured on a socket of our own.
fn recorded_request(args: &[&str]) -> Vec<u8> {
    let path: PathBuf = world().scratch_dir("record").join("fake.sock");
    let listener = UnixListener::bind(&path).expect("bind the recording socket");
    let mut client = Command::new(world().jitsudo_bin().join("jitsudo"))
        .args(args)
        .env("JITSUDO_SOCKET", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jitsudo");
    let (conn, _) = listener.accept().expect("the client connects");
    let mut bytes = Vec::new();
    while frames_in(&bytes) < 2 {
        let mut buf = [0u8; 65536];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = cmsg_space!([RawFd; 8]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .expect("recvmsg");
        for cmsg in msg.cmsgs().expect("cmsgs") {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                // SAFETY: just received; nothing else owns them.
                fds.into_iter()
                    .for_each(|fd| drop(unsafe { OwnedFd::from_raw_fd(fd) }));
            }
        }
        let n = msg.bytes;
        assert!(n > 0, "the client closed before sending its request");
        bytes.extend_from_slice(&buf[..n]);
    }
    let _ = client.kill();
    let _ = client.wait();
    bytes
}

/// How many whole frames `bytes` holds.
fn frames_in(mut bytes: &[u8]) -> usize {
    let mut n = 0;
    while let Some(len) = bytes.get(..4) {
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if bytes.len() < 4 + len {
            break;
        }
        bytes = &bytes[4 + len..];
        n += 1;
    }
    n
}

/// Sends a recorded request on `s`, with /dev/null as stdio and / as the
/// working directory.
fn replay(s: &UnixStream, request: &[u8]) {
    let null = || fs::File::open("/dev/null").expect("/dev/null");
    let cwd = fs::File::open("/").expect("/");
    let files = [null(), null(), null(), cwd];
    let fds: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(request)];
    let sent = sendmsg::<()>(s.as_raw_fd(), &iov, &rights, MsgFlags::empty(), None)
        .expect("send the request");
    assert_eq!(sent, request.len());
}

/// Finding 5: one user opening connections until refused gets a clear
/// error, root and other users are still served, and the log has one
/// refusal line for the burst.
#[test]
fn a_connection_flood_by_one_user_is_capped_and_others_are_served() {
    if !jitsudo_enabled() {
        return;
    }
    raise_fd_limit();
    let d = daemon("flood", "max_connections_per_user = 16", "");
    let uid = uid_of(LIMITED);
    let mut flood = connect_as(uid, &d.socket, 200);
    assert_eq!(flood.len(), 200, "the kernel refused connections");
    // Root is served, and after every connection before it was admitted
    // or refused (the daemon accepts in order).
    Case::new(ROOT, "$SUDO -n true")
        .socket(&d.socket)
        .status(0)
        .stderr_empty()
        .assert_jitsudo();
    let refusal = "too many connections from your user; try again later";
    let (mut admitted, mut refused, mut other) = (Vec::new(), 0, Vec::new());
    for mut s in flood.drain(..) {
        match said_before_closing(&mut s, Duration::from_millis(300)) {
            Some(said) if said.contains(refusal) => refused += 1,
            Some(said) => other.push(said),
            None => admitted.push(s),
        }
    }
    assert_eq!(
        (admitted.len(), refused, other.len()),
        (16, 184, 0),
        "held, refused, closed otherwise: {other:?}"
    );
    Case::new(ADMIN, "$SUDO -n id -un")
        .socket(&d.socket)
        .status(0)
        .stdout_is("root\n")
        .assert_jitsudo();
    Case::new(LIMITED, "$SUDO -n id -un")
        .socket(&d.socket)
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: too many connections from your user; try again later\n")
        .assert_jitsudo();
    let logged = log_lines(&d, &format!("refusing connections from uid {uid}"));
    assert_eq!(logged, 1, "refusals logged:\n{}", d.log_text());
    drop(admitted);
}

/// Finding 5: several users together cannot take the connections kept
/// for root.
#[test]
fn a_flood_by_several_users_leaves_root_its_reserve() {
    if !jitsudo_enabled() {
        return;
    }
    raise_fd_limit();
    // 64 in total, of which 16 are root's: 48 for everyone else.
    let d = daemon(
        "reserve",
        "max_connections = 64\nmax_connections_per_user = 32",
        "",
    );
    let first = connect_as(uid_of(LIMITED), &d.socket, 32);
    let mut second = connect_as(uid_of(UIDUSER), &d.socket, 32);
    // Served after every connection before it was admitted or refused.
    Case::new(ROOT, "$SUDO -n true")
        .socket(&d.socket)
        .status(0)
        .stderr_empty()
        .assert_jitsudo();
    let refused: Vec<String> = second
        .iter_mut()
        .filter_map(|s| said_before_closing(s, Duration::from_millis(300)))
        .collect();
    // Users hold at most 48 (fewer while one of root's own connections,
    // such as the harness's readiness check, is still being closed).
    assert_eq!(first.len(), 32);
    assert!(
        refused.len() >= 16,
        "only {} of the second user's 32 refused",
        refused.len()
    );
    assert!(refused
        .iter()
        .all(|r| r.contains("too many connections to jitsudod; try again later")));
    drop((first, second));
}

/// Finding 4: a user no rule names cannot hold more than
/// `max_pending_auth_per_user` root workers at a password prompt, and a
/// prompt nobody answers ends after `passwd_timeout` with sudo's words,
/// its worker gone.
#[test]
fn unanswered_prompts_are_capped_and_time_out() {
    if !jitsudo_enabled() {
        return;
    }
    // 0.1 minute: six seconds.
    let d = daemon(
        "prompts",
        "passwd_timeout = 0.1\nmax_pending_auth_per_user = 3",
        "",
    );
    let socket = d.socket.clone();
    let runs: Vec<_> = (0..5)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                Case::new(NOBODY, "$SUDO true")
                    .socket(&socket)
                    .pty(PtySpec::default())
                    .timeout(Duration::from_secs(40))
                    .output(Impl::Jitsudo)
            })
        })
        .collect();
    let at_prompt = poll_until(Duration::from_secs(5), || {
        (busy_workers(&d) == 3).then_some(())
    });
    let outputs: Vec<Output> = runs.into_iter().map(|r| r.join().expect("run")).collect();
    assert!(at_prompt.is_some(), "never saw three workers at a prompt");
    let text = |o: &Output| format!("{}{}", o.stdout_text(), o.stderr_text());
    let timed_out = outputs
        .iter()
        .filter(|o| {
            let t = text(o);
            o.status == 1
                && t.contains("password for jt_nobody:")
                && t.contains("jitsudo: timed out reading password\n")
                && t.contains("jitsudo: a password is required\n")
        })
        .count();
    let refused = outputs
        .iter()
        .filter(|o| {
            o.status == 1
                && text(o).contains(
                    "jitsudo: too many of your requests are waiting for a password; \
                     answer or cancel them, then try again",
                )
        })
        .count();
    let shown: Vec<String> = outputs.iter().map(text).collect();
    assert_eq!((timed_out, refused), (3, 2), "{shown:#?}");
    let idle = poll_until(Duration::from_secs(10), || {
        (busy_workers(&d) == 0).then_some(())
    });
    assert!(idle.is_some(), "{} workers still busy", busy_workers(&d));
    let logged = log_lines(
        &d,
        &format!("refusing password prompts from uid {}", uid_of(NOBODY)),
    );
    assert_eq!(logged, 1, "refusals logged:\n{}", d.log_text());
}

/// Finding 6 and issue 12: 1,000 connections that sent three bytes of a
/// frame prefix cost a few KiB each (the daemon's anonymous memory, what
/// connections cost, stays under 16 MiB while they are open and under
/// 10 MiB after; resident code pages of a debug build are not theirs),
/// and are dropped at the request deadline.
#[test]
fn half_sent_frames_cost_little_and_are_dropped_at_the_deadline() {
    if !jitsudo_enabled() {
        return;
    }
    raise_fd_limit();
    let d = daemon("idle", "max_connections = 4096", "");
    let fresh = memory_kib(&d, "RssAnon");
    let idle: Vec<UnixStream> = (0..1000)
        .map(|_| {
            let mut s = UnixStream::connect(&d.socket).expect("connect");
            std::io::Write::write_all(&mut s, &[0, 0, 0]).expect("three bytes");
            s
        })
        .collect();
    // Served in turn after all of them were accepted.
    Case::new(ROOT, "$SUDO -n true")
        .socket(&d.socket)
        .status(0)
        .assert_jitsudo();
    let during = memory_kib(&d, "RssAnon");
    assert!(
        during < 16 * 1024,
        "{during} KiB with 1,000 idle connections"
    );
    let all_closed = idle.iter().all(|s| hung_up(s, REQUEST_DEADLINE));
    assert!(all_closed, "idle connections outlived the request deadline");
    drop(idle);
    let peak = memory_kib(&d, "VmHWM");
    assert!(peak < 40 * 1024, "peak {peak} KiB");
    let after = poll_until(Duration::from_secs(10), || {
        let rss = memory_kib(&d, "RssAnon");
        (rss < 10 * 1024).then_some(rss)
    });
    assert!(
        after.is_some(),
        "{} KiB after the connections closed",
        memory_kib(&d, "RssAnon")
    );
    eprintln!(
        "daemon anonymous memory fresh {fresh} KiB; with 1,000 half-sent frames {during} KiB, peak {peak} KiB; after {} KiB",
        after.unwrap_or_default()
    );
}

/// Finding 6: a client that sends a request and never reads the reply
/// does not hold the daemon: others are served meanwhile, and the
/// daemon gives up on it at its send deadline.
#[test]
fn clients_that_never_read_are_dropped() {
    if !jitsudo_enabled() {
        return;
    }
    // A listing far larger than a socket buffer.
    let commands: Vec<String> = (0..12_000)
        .map(|i| format!("\"/usr/local/bin/bulk-tool-with-a-rather-long-name-{i:06}\""))
        .collect();
    let rule = format!(
        "[[rule]]\nid = \"bulk\"\nwho = [\"{LIMITED}\"]\nauth = \"none\"\ncommands = [{}]\n",
        commands.join(", ")
    );
    let d = daemon("unread", "", &rule);
    let request = recorded_request(&["-l"]);
    let silent = connect_as(uid_of(LIMITED), &d.socket, 5);
    for s in &silent {
        replay(s, &request);
    }
    Case::new(ROOT, "$SUDO -n true")
        .socket(&d.socket)
        .status(0)
        .stderr_empty()
        .assert_jitsudo();
    Case::new(ADMIN, "$SUDO -n id -un")
        .socket(&d.socket)
        .status(0)
        .stdout_is("root\n")
        .assert_jitsudo();
    for s in &silent {
        assert!(
            hung_up(s, SEND_DEADLINE),
            "the daemon still holds a client that does not read"
        );
    }
}

/// Issue 12: a burst grows the pool of ready workers (a request that found
/// none ready doubles how many are kept), so that the burst is served by
/// ready workers, but never past its bound (16): each refill reserves its
/// slot under the pool's lock before starting a worker, so concurrent
/// refills do not each start the missing ones.
#[test]
fn a_burst_leaves_the_worker_pool_at_its_bound() {
    if !jitsudo_enabled() {
        return;
    }
    const MIN_READY: usize = 2;
    const MAX_READY: usize = 16;
    let d = daemon("pool", "", "");
    let socket = d.socket.clone();
    let burst: Vec<_> = (0..40)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                Case::new(PREC, "$SUDO true")
                    .socket(&socket)
                    .timeout(Duration::from_secs(60))
                    .output(Impl::Jitsudo)
            })
        })
        .collect();
    let failed: Vec<String> = burst
        .into_iter()
        .map(|run| run.join().expect("run"))
        .filter(|o| o.status != 0)
        .map(|o| format!("status {}: {}", o.status, o.stderr_text()))
        .collect();
    assert!(
        failed.is_empty(),
        "requests of the burst failed: {failed:#?}"
    );
    // Watched once the burst is over: until then, a worker started for a
    // request looks idle until its job reaches it. Watch until no worker
    // is busy and the pool has grown, then a little longer.
    let mut most_idle = 0;
    let settled = poll_until(Duration::from_secs(20), || {
        most_idle = most_idle.max(idle_workers(&d));
        (busy_workers(&d) == 0 && idle_workers(&d) > MIN_READY).then_some(())
    });
    assert!(settled.is_some(), "the pool did not grow past {MIN_READY}");
    let watch_until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < watch_until {
        most_idle = most_idle.max(idle_workers(&d));
    }
    assert!(
        most_idle <= MAX_READY,
        "{most_idle} idle workers (bound {MAX_READY})"
    );
    let fork_servers = children(d.pid().as_raw())
        .into_iter()
        .filter(|(_, title)| title == FORK_SERVER_TITLE)
        .count();
    assert_eq!(
        fork_servers, 1,
        "the burst started more than one fork server"
    );
}

/// A policy of `rules` rules shaped like the benchmark's
/// (jitsudo-test-policy): each for another user, with two commands.
fn large_policy(rules: usize) -> String {
    use jitsudo_tests::policy::{Config, Defaults, Rule};
    Config {
        defaults: Defaults::default(),
        rules: (0..rules).map(Rule::filler).collect(),
    }
    .to_toml()
}

/// Issue 12: reloading a large policy must not leave the parser's
/// temporaries (several times the policy's size) or the replaced policy
/// resident. Before the policy was read in allocation regions, three
/// 10,000-rule reloads left 24 MiB of anonymous memory resident (now
/// about 10, most of it the policy); the bound is not a speed target.
#[test]
fn a_large_reload_leaves_little_resident() {
    if !jitsudo_enabled() {
        return;
    }
    let d = daemon("large-reload", "", "");
    let path = world().root.join("policy-large-reload.toml");
    write_atomic(&path, large_policy(10_000).as_bytes(), 0o644);
    let socket = d.socket.to_str().expect("socket path");
    for _ in 0..3 {
        let out = Command::new(world().jitsudo_bin().join("jitsudoctl"))
            .args(["policy", "reload", "--socket", socket])
            .output()
            .expect("run jitsudoctl");
        assert!(
            out.status.success(),
            "reload refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let anon = memory_kib(&d, "RssAnon");
    assert!(
        anon < 16 * 1024,
        "{anon} KiB of anonymous memory resident after three 10,000-rule reloads"
    );
}
