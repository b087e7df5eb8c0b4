//! Benchmark (not a test) of writing audit events through the real sinks:
//! the system's journald, its syslog daemon (`/dev/log`) and a trail file.
//!
//! `jitsudo-audit-bench [EVENTS] [REQUESTS] [TRAIL]` (as root) prints, for
//! each sink, the mean µs of wall time and of this process's CPU time:
//! * `request SINK`: per request as a worker makes it, in a process of its
//!   own forked from this one (as the fork server forks workers): fresh
//!   sinks, then `exec.accept` and `exec.exit` (REQUESTS requests, 200
//!   unless told);
//! * `steady SINK`: per event through one long-lived sink, as the daemon
//!   writes (EVENTS events, 2000 unless told).
//!
//! The trail is TRAIL (`/var/log/jitsudo-bench/audit.jsonl` unless told),
//! removed first. Timings vary with the machine's load: compare builds on
//! the same machine, in turn.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use jitsudo_audit::{Event, EventKind, ExitStatus, Journald, Sink, Syslog, Trail};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe, ForkResult};

/// The sinks, in the order their times are printed.
const SINKS: [&str; 3] = ["journald", "syslog", "file"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).map_or(Some(default), |a| a.parse().ok());
    let (Some(events), Some(requests)) = (number(0, 2000), number(1, 200)) else {
        eprintln!("usage: jitsudo-audit-bench [EVENTS] [REQUESTS] [TRAIL]");
        return ExitCode::from(2);
    };
    let trail = args.get(2).map_or_else(
        || PathBuf::from("/var/log/jitsudo-bench/audit.jsonl"),
        PathBuf::from,
    );
    let _ = std::fs::remove_file(&trail);
    let _ = std::fs::remove_file(jitsudo_audit::head_path(&trail));
    match run(events, requests, &trail) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudo-audit-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(events: usize, requests: usize, trail: &Path) -> std::io::Result<()> {
    // What the fork server does once before it forks workers.
    jitsudo_audit::prepare();
    println!("what sink wall_us cpu_us");
    let mut total = [0u128; 6];
    for _ in 0..requests {
        for (sum, ns) in total.iter_mut().zip(one_request(trail)?) {
            *sum += u128::from(ns);
        }
    }
    for (name, ns) in SINKS.iter().zip(total.chunks_exact(2)) {
        let (wall, cpu) = (micros(ns[0], requests), micros(ns[1], requests));
        println!("request {name} {wall:.1} {cpu:.1}");
    }
    let sinks = sinks(trail);
    for (name, sink) in SINKS.iter().zip(&sinks) {
        let started = Clocks::now();
        for _ in 0..events {
            sink.emit(&accept())?;
        }
        let [wall, cpu] = started.elapsed();
        let (wall, cpu) = (micros(wall.into(), events), micros(cpu.into(), events));
        println!("steady {name} {wall:.1} {cpu:.1}");
    }
    Ok(())
}

/// Wall and CPU clocks at one moment.
struct Clocks {
    wall: Instant,
    cpu: u64,
}

impl Clocks {
    fn now() -> Self {
        Clocks {
            wall: Instant::now(),
            cpu: cpu_ns(),
        }
    }

    /// Ns of wall and of CPU time since.
    fn elapsed(&self) -> [u64; 2] {
        let wall = u64::try_from(self.wall.elapsed().as_nanos()).unwrap_or(u64::MAX);
        [wall, cpu_ns().saturating_sub(self.cpu)]
    }
}

/// This process's CPU time in ns.
fn cpu_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(0, |t| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_nsec()).unwrap_or(0)
    })
}

/// Mean µs of `ns` over `count`.
fn micros(ns: u128, count: usize) -> f64 {
    ns as f64 / 1000.0 / count.max(1) as f64
}

/// The three sinks, new.
fn sinks(trail: &Path) -> [Box<dyn Sink>; 3] {
    [
        Box::new(Journald::new()),
        Box::new(Syslog::new()),
        Box::new(Trail::new(trail)),
    ]
}

/// A request's `exec.accept`, as a worker logs it.
fn accept() -> Event {
    Event::new(EventKind::ExecAccept)
        .user("jt_bench")
        .uid(1001)
        .pid(4242)
        .tty(None::<&str>)
        .cwd("/home/jt_bench")
        .run_as("root")
        .command("/bin/true")
        .argv(["/bin/true"])
        .rule("bench")
        .policy_hash(Some(
            "102ed6d03e334f6a0f4b1b0f6f1a7b0c9f2e4a5d6c7b8a9e0f1d2c3b4a596877",
        ))
}

/// Ns of wall and CPU time each sink took for one request's two events, in
/// a process of its own.
fn one_request(trail: &Path) -> std::io::Result<[u64; 6]> {
    let (read, write) = pipe()?;
    // SAFETY: this program is single-threaded; the child only builds sinks,
    // writes to them and to the pipe, and exits.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(read);
            child(trail, write)
        }
        ForkResult::Parent { child } => {
            drop(write);
            let mut bytes = [0u8; 48];
            std::fs::File::from(read).read_exact(&mut bytes)?;
            waitpid(child, None)?;
            let mut ns = [0u64; 6];
            for (slot, chunk) in ns.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                *slot = u64::from_le_bytes(word);
            }
            Ok(ns)
        }
    }
}

/// The forked request: times each sink's two events and reports them.
fn child(trail: &Path, report: OwnedFd) -> ! {
    let sinks = sinks(trail);
    let mut bytes = Vec::with_capacity(48);
    let mut failed = false;
    for sink in &sinks {
        let started = Clocks::now();
        failed |= sink.emit(&accept()).is_err();
        let exit = Event::new(EventKind::ExecExit)
            .user("jt_bench")
            .command("/bin/true")
            .exit_status(ExitStatus::Code(0));
        failed |= sink.emit(&exit).is_err();
        for ns in started.elapsed() {
            bytes.extend_from_slice(&ns.to_le_bytes());
        }
    }
    let sent = std::fs::File::from(report).write_all(&bytes).is_ok();
    // No destructors or atexit handlers of the parent's copy run twice.
    std::process::exit(if sent && !failed { 0 } else { 1 })
}
