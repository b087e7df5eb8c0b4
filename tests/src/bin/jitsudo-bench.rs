//! The measuring half of the benchmark (tests/bench/sudo-vs-jitsudo.sh):
//! whole-process timings of sudo and jitsudo taken in turn, a concurrent
//! load, and the daemon's memory while a user holds idle connections.
//! The script sets the stage (policies, daemon, user) and prints the table;
//! this prints `key value` lines for it.
//!
//! Usage (as the benchmark user unless said otherwise):
//! * `jitsudo-bench latency RUNS WARMUP JITSUDO`: `sudo -n /bin/true` and
//!   `JITSUDO -n /bin/true` in turn, in blocks of ten runs of one tool
//!   (A-block B-block B-block A-block ...), about RUNS runs each: medians
//!   in ms and the median of the blocks' ratios.
//! * `jitsudo-bench load CLIENTS RUNS PID JITSUDO`: CLIENTS concurrent
//!   clients running the command RUNS times each, sudo then jitsudo:
//!   runs/s and failures for each, and the daemon's (PID) peak VmRSS while
//!   the jitsudo load runs.
//! * `jitsudo-bench idle N PID SOCKET`: opens N connections to SOCKET and
//!   holds them: how many the daemon kept, its VmRSS while they are held
//!   and once they are closed.
//! * `jitsudo-bench time RUNS WARMUP CMD [ARG...]` (any user): the median
//!   wall time of CMD in ms.
//! * `jitsudo-bench services` (root): makes sure systemd-journald and
//!   rsyslogd run as on a Debian 12 host booted with systemd (`/dev/log`
//!   journald's, journald forwarding to rsyslogd), so both tools log where
//!   they would (sudo to syslog, through journald; jitsudo to journald,
//!   syslog and its trail): a sink that is down costs an error path
//!   instead of a write.

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// How often the daemon's memory is sampled under load.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long the daemon is given to take in (or let go of) connections
/// before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let done = match words.as_slice() {
        ["latency", runs, warmup, jitsudo] => number(runs)
            .zip(number(warmup))
            .map(|(runs, warmup)| latency(runs, warmup, jitsudo)),
        ["load", clients, runs, pid, jitsudo] => number(clients)
            .zip(number(runs))
            .map(|(clients, runs)| load(clients, runs, pid, jitsudo)),
        ["idle", n, pid, socket] => number(n).map(|n| idle(n, pid, socket)),
        ["time", runs, warmup, command @ ..] if !command.is_empty() => number(runs)
            .zip(number(warmup))
            .map(|(runs, warmup)| time(runs, warmup, command)),
        ["services"] => {
            jitsudo_tests::services::ensure_journald();
            jitsudo_tests::services::ensure_rsyslog();
            Some(())
        }
        _ => None,
    };
    if done.is_none() {
        eprintln!("usage: see the comment at the top of tests/src/bin/jitsudo-bench.rs");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn number(word: &str) -> Option<usize> {
    word.parse().ok()
}

/// Runs `command` once, its output discarded: wall time and success.
fn run(command: &[&str]) -> (Duration, bool) {
    let (took, failure) = run_keeping_error(command);
    (took, failure.is_none())
}

/// Runs `command` once: wall time, and what it said on stderr if it
/// failed.
fn run_keeping_error(command: &[&str]) -> (Duration, Option<String>) {
    let started = Instant::now();
    let output = Command::new(command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let took = started.elapsed();
    let failure = match output {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "{}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(e.to_string()),
    };
    (took, failure)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn latency(runs: usize, warmup: usize, jitsudo: &str) {
    let sudo = ["sudo", "-n", "/bin/true"];
    let ours = [jitsudo, "-n", "/bin/true"];
    for _ in 0..warmup {
        run(&sudo);
        run(&ours);
    }
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = 0;
    for round in 0..runs.div_ceil(BLOCK) {
        let mut block = |command: &[&str], into: &mut Vec<f64>| {
            let (times, failed) = timed_block(command);
            failures += failed;
            into.extend_from_slice(&times);
            median(times)
        };
        // Which tool goes first alternates from round to round.
        let (s, j) = if round % 2 == 0 {
            let s = block(&sudo, &mut a);
            (s, block(&ours, &mut b))
        } else {
            let j = block(&ours, &mut b);
            (block(&sudo, &mut a), j)
        };
        ratios.push(j / s);
    }
    println!("sudo_ms {:.3}", median(a));
    println!("jitsudo_ms {:.3}", median(b));
    println!("ratio {:.3}", median(ratios));
    println!("failures {failures}");
}

/// Runs of one tool in a row in [`latency`]: a run right after the other
/// tool pays for what that one left behind (on this VM a process that kept
/// a CPU busy for 90 ms doubled the next jitsudo run, whose request wakes
/// several processes in turn), so each block's first run is not counted.
const BLOCK: usize = 10;

/// One block of [`BLOCK`] counted runs of `command`, after one uncounted:
/// the times in ms, and how many runs failed.
fn timed_block(command: &[&str]) -> (Vec<f64>, usize) {
    let (_, first_ok) = run(command);
    let mut failed = usize::from(!first_ok);
    let times = (0..BLOCK)
        .map(|_| {
            let (took, ok) = run(command);
            failed += usize::from(!ok);
            ms(took)
        })
        .collect();
    (times, failed)
}

/// A field of /proc/PID/status in KiB (0 if unreadable).
fn memory_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        })
        .unwrap_or(0)
}

/// CLIENTS threads each running `command` RUNS times: runs/s, failures
/// and the first failure's words.
fn hammer(clients: usize, runs: usize, command: &[&str]) -> (f64, usize, Option<String>) {
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let command: Vec<String> = command.iter().map(|w| (*w).to_owned()).collect();
            thread::spawn(move || {
                let words: Vec<&str> = command.iter().map(String::as_str).collect();
                let errors: Vec<String> = (0..runs)
                    .filter_map(|_| run_keeping_error(&words).1)
                    .collect();
                (errors.len(), errors.into_iter().next())
            })
        })
        .collect();
    let (mut failures, mut first) = (0, None);
    for thread in threads {
        let (failed, error) = thread
            .join()
            .unwrap_or((runs, Some("a client thread panicked".into())));
        failures += failed;
        first = first.or(error);
    }
    let rate = (clients * runs) as f64 / started.elapsed().as_secs_f64();
    (rate, failures, first)
}

/// Prints one implementation's load figures.
fn report_load(name: &str, (rate, failures, first): (f64, usize, Option<String>)) {
    println!("{name}_runs_per_s {rate:.1}");
    println!("{name}_failures {failures}");
    if let Some(error) = first {
        eprintln!("{name}, first failure under load: {error}");
    }
}

fn load(clients: usize, runs: usize, pid: &str, jitsudo: &str) {
    report_load("sudo", hammer(clients, runs, &["sudo", "-n", "/bin/true"]));
    let peak = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, running, pid) = (peak.clone(), running.clone(), pid.to_owned());
        thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                peak.fetch_max(memory_kib(&pid, "VmRSS"), Ordering::Relaxed);
                thread::sleep(SAMPLE_EVERY);
            }
        })
    };
    let figures = hammer(clients, runs, &[jitsudo, "-n", "/bin/true"]);
    running.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    report_load("jitsudo", figures);
    println!("load_rss_kib {}", peak.load(Ordering::Relaxed));
    println!("load_hwm_kib {}", memory_kib(pid, "VmHWM"));
}

/// Whether the daemon has answered or hung up `stream` (refused it).
fn refused(stream: &UnixStream) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO) != Ok(0)
}

/// Lets this process hold as many descriptors as its hard limit allows.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

fn idle(n: usize, pid: &str, socket: &str) {
    raise_fd_limit();
    let held: Vec<UnixStream> = (0..n)
        .filter_map(|_| UnixStream::connect(socket).ok())
        .collect();
    thread::sleep(SETTLE);
    let kept = held.iter().filter(|s| !refused(s)).count();
    println!("idle_connected {}", held.len());
    println!("idle_kept {kept}");
    println!("idle_rss_kib {}", memory_kib(pid, "VmRSS"));
    println!("idle_hwm_kib {}", memory_kib(pid, "VmHWM"));
    drop(held);
    thread::sleep(SETTLE);
    println!("after_idle_rss_kib {}", memory_kib(pid, "VmRSS"));
}

fn time(runs: usize, warmup: usize, command: &[&str]) {
    for _ in 0..warmup {
        run(command);
    }
    let (times, failures): (Vec<f64>, usize) =
        (0..runs).fold((Vec::new(), 0), |(mut times, failures), _| {
            let (t, ok) = run(command);
            times.push(ms(t));
            (times, failures + usize::from(!ok))
        });
    println!("median_ms {:.3}", median(times));
    println!("failures {failures}");
}
