//! `jitsudoctl replay ID`: plays a session recording (`record = true`)
//! back with its timing, like sudoreplay: terminal output and standard
//! output on standard output, standard error on standard error, and what a
//! `-e` edit changed ([`edit`]); `--list` names the recordings.
//! Recordings are root's alone (docs/audit.md).

mod edit;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use jitsudo_audit::recording::{path_of, valid_id, Chunk, DEFAULT_SESSION_DIR, FORMAT_VERSION};
use serde_json::Value;

/// `jitsudoctl replay`'s arguments.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The session's id (`JITSUDO_RECORDING` in its exec events).
    #[arg(required_unless_present = "list")]
    id: Option<String>,
    /// Play back this many times faster (0.5: half as fast).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Never wait more than this many seconds between two outputs.
    #[arg(long, value_name = "SECONDS")]
    max_wait: Option<f64>,
    /// List the recordings (id, start, user, run-as user, command).
    #[arg(long, conflicts_with = "id")]
    list: bool,
    /// Where the recordings are (jitsudod's `--session-dir`).
    #[arg(long, default_value = DEFAULT_SESSION_DIR)]
    dir: PathBuf,
}

/// Runs `jitsudoctl replay`.
pub fn run(args: &ReplayArgs) -> ExitCode {
    let done = match &args.id {
        Some(id) => replay(args, id),
        None => list(&args.dir),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("jitsudoctl: {message}");
            ExitCode::FAILURE
        }
    }
}

fn replay(args: &ReplayArgs, id: &str) -> Result<(), String> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(format!("--speed {}: must be a number above 0", args.speed));
    }
    let max_wait = match args.max_wait {
        Some(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
        Some(s) => return Err(format!("--max-wait {s}: must be 0 or more seconds")),
        None => Duration::MAX,
    };
    let (header, lines) = open(&args.dir, id)?;
    let max_bytes = header.get("max_bytes").and_then(Value::as_u64);
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let mut last = 0.0;
    for line in lines {
        let line = line.map_err(|e| format!("session {id}: {e}"))?;
        let (at, chunk) =
            Chunk::parse(&line).ok_or_else(|| format!("session {id}: damaged recording"))?;
        let (to, bytes): (&mut dyn Write, _) = match chunk {
            Chunk::Output(bytes) => (&mut out, bytes),
            Chunk::Error(bytes) => (&mut err, bytes),
            Chunk::Edit(file) => (&mut out, edit::describe(&file)),
            Chunk::Truncated => {
                let _ = writeln!(
                    err,
                    "jitsudoctl: session {id} was recorded up to its size cap ({} bytes) only",
                    max_bytes.unwrap_or(0)
                );
                continue;
            }
            Chunk::Input(_) | Chunk::Resize(..) => continue,
        };
        let wait = Duration::from_secs_f64(((at - last) / args.speed).max(0.0));
        std::thread::sleep(wait.min(max_wait));
        last = at;
        to.write_all(&bytes)
            .and_then(|()| to.flush())
            .map_err(|e| format!("writing the replay: {e}"))?;
    }
    Ok(())
}

/// Opens recording `id`: its header and the lines after it.
fn open(dir: &Path, id: &str) -> Result<(Value, std::io::Lines<BufReader<File>>), String> {
    if !valid_id(id) {
        return Err(format!(
            "{id}: not a session id (16 hexadecimal digits, the JITSUDO_RECORDING of \
             the command's exec events)"
        ));
    }
    let path = path_of(dir, id);
    let file = File::open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no session {id} in {}", dir.display()),
        std::io::ErrorKind::PermissionDenied => format!(
            "{}: {e}: session recordings are readable by root only",
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })?;
    let mut lines = BufReader::new(file).lines();
    let header = lines
        .next()
        .and_then(Result::ok)
        .and_then(|line| serde_json::from_str::<Value>(&line).ok())
        .filter(|h| h.get("version").and_then(Value::as_u64) == Some(FORMAT_VERSION))
        .ok_or_else(|| {
            format!(
                "{}: not a session recording jitsudo can read",
                path.display()
            )
        })?;
    Ok((header, lines))
}

/// Prints one line per recording in `dir`, oldest first.
fn list(dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut found: Vec<(f64, String)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".jsonl").filter(|id| valid_id(id)) else {
            continue;
        };
        if let Ok((header, _)) = open(dir, id) {
            let start = header.get("start").and_then(Value::as_f64).unwrap_or(0.0);
            found.push((start, describe(id, start, &header)));
        }
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (_, line) in found {
        println!("{line}");
    }
    Ok(())
}

fn describe(id: &str, start: f64, header: &Value) -> String {
    let text = |key: &str| header.get(key).and_then(Value::as_str).unwrap_or("?");
    let when = UNIX_EPOCH + Duration::from_secs_f64(start.max(0.0));
    format!(
        "{id}  {}  {} -> {}  {}",
        humantime::format_rfc3339_seconds(when),
        text("user"),
        text("run_as"),
        text("command")
    )
}
