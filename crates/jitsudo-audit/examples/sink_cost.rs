//! The cost of each sink per event: `cargo run --release -p jitsudo-audit
//! --example sink_cost [EVENTS] [TRAIL]` (as root, with journald and a
//! syslog daemon running). Sends a typical `exec.accept` EVENTS times
//! (2,000 by default) to journald, syslog and the JSON trail (at TRAIL,
//! default a fresh file under /var/tmp) in turn, and prints the p50 and p99
//! of each. A command costs two events (`exec.accept`, `exec.exit`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jitsudo_audit::{Event, EventKind, Journald, Sink, Syslog, Trail};

fn event(n: usize) -> Event {
    Event::new(EventKind::ExecAccept)
        .user("alice")
        .uid(1000)
        .pid(4242)
        .tty(Some("pts/0"))
        .cwd("/home/alice")
        .run_as("root")
        .command("/usr/bin/systemctl")
        .argv(["systemctl", "restart", &format!("nginx{n}.service")])
        .rule("web-ops")
        .policy_hash(Some("5d41402abc4b2a76b9719d911017c592"))
        .session(Some(3))
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn time(name: &str, sink: &dyn Sink, events: usize) {
    let mut took = Vec::with_capacity(events);
    for n in 0..events {
        let ev = event(n);
        let start = Instant::now();
        if let Err(e) = sink.emit(&ev) {
            eprintln!("{name}: {e}");
            return;
        }
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "{name:<8} p50 {:>7.1} µs  p99 {:>7.1} µs",
        percentile(&took, 50).as_secs_f64() * 1e6,
        percentile(&took, 99).as_secs_f64() * 1e6
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let trail = args.next().map_or_else(
        || {
            PathBuf::from(format!(
                "/var/tmp/jitsudo-sink-cost-{}/audit.jsonl",
                std::process::id()
            ))
        },
        PathBuf::from,
    );
    time("journald", &Journald::new(), events);
    time("syslog", &Syslog::new(), events);
    time("file", &Trail::new(&trail), events);
    if let Some(dir) = trail.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
