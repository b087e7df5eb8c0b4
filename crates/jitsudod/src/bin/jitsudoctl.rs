//! `jitsudoctl`: jitsudo administration. Today: `policy check` (validate
//! the installed policy or candidate files, like `visudo -c`/`-cf`) and
//! `policy reload` (make the daemon re-read its policy and report errors).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use jitsudo_policy::{parse, PolicyError};
use jitsudo_proto::{
    decode, encode, send_frame, Action, ClientMessage, Exit, FrameReader, Hello, PreserveEnv,
    Request, ServerMessage, ShellMode, MAX_MESSAGE_LEN,
};
use jitsudod::policy_store;

/// Default location of the installed policy.
const POLICY: &str = "/etc/jitsudo/policy.toml";
/// Default daemon socket.
const SOCKET: &str = "/run/jitsudo/jitsudod.sock";

#[derive(Parser)]
#[command(name = "jitsudoctl", version, about = "Administer jitsudo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate policy files without installing them; exit 1 on errors.
    Check {
        /// Files to check, in order (main file first); default: the
        /// installed policy and its drop-ins.
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Make jitsudod re-read its policy now (root only); an invalid policy
    /// is refused, its errors printed, and the old one stays in force.
    Reload {
        /// The daemon's socket.
        #[arg(long, default_value = SOCKET)]
        socket: PathBuf,
    },
}

/// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON document for tools.
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Policy(PolicyCommand::Check { files, format }) => check(&files, format),
        Command::Policy(PolicyCommand::Reload { socket }) => reload(&socket),
    }
}

fn check(files: &[PathBuf], format: Format) -> ExitCode {
    let names: Vec<String> = if files.is_empty() {
        vec![POLICY.to_string()]
    } else {
        files.iter().map(|f| f.display().to_string()).collect()
    };
    let sources = if files.is_empty() {
        policy_store::installed_sources(std::path::Path::new(POLICY))
    } else {
        policy_store::candidate_sources(files)
    };
    let errors: Vec<PolicyError> = match sources {
        Err(message) => vec![PolicyError {
            file: names.join(", "),
            line: 0,
            column: 0,
            message,
        }],
        Ok(sources) => parse(&sources).err().unwrap_or_default(),
    };
    report(&names, &errors, format);
    if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn report(names: &[String], errors: &[PolicyError], format: Format) {
    let out = match format {
        Format::Json => serde_json::json!({
            "ok": errors.is_empty(),
            "files": names,
            "errors": errors.iter().map(|e| serde_json::json!({
                "file": e.file, "line": e.line, "column": e.column, "message": e.message,
            })).collect::<Vec<_>>(),
        })
        .to_string(),
        Format::Text if errors.is_empty() => names
            .iter()
            .map(|n| format!("{n}: parsed OK"))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Text => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    // Errors in text form go to stderr, like visudo's; JSON always to stdout.
    if errors.is_empty() || format == Format::Json {
        println!("{out}");
    } else {
        eprintln!("{out}");
    }
}

fn reload(socket: &std::path::Path) -> ExitCode {
    match ask_daemon(socket, Action::ReloadPolicy) {
        Ok(ServerMessage::Exited(Exit::Code(0))) => {
            println!("policy reloaded");
            ExitCode::SUCCESS
        }
        Ok(ServerMessage::Error(failure)) => {
            let _ = std::io::stderr().write_all(&failure.message);
            eprintln!();
            ExitCode::FAILURE
        }
        Ok(other) => {
            eprintln!("jitsudoctl: unexpected answer from jitsudod: {other:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("jitsudoctl: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

/// Sends an action to the daemon and returns its first substantive answer.
fn ask_daemon(socket: &std::path::Path, action: Action) -> Result<ServerMessage, String> {
    let conn = UnixStream::connect(socket).map_err(|e| e.to_string())?;
    let cwd = std::fs::File::open(".").map_err(|e| e.to_string())?;
    let request = Request {
        action,
        argv: Vec::new(),
        env: Vec::new(),
        assignments: Vec::new(),
        user: None,
        group: None,
        shell: ShellMode::Direct,
        preserve_env: PreserveEnv::None,
        chdir: None,
        non_interactive: true,
        background: false,
        reset_timestamp: false,
        prompt: None,
        stdin_password: false,
        list_user: None,
        ignored_signals: 0,
        stdio: [false; 3],
    };
    let mut frames = encode(&ClientMessage::Hello(Hello::current())).map_err(|e| e.to_string())?;
    frames.extend(encode(&ClientMessage::Request(Box::new(request))).map_err(|e| e.to_string())?);
    send_frame(conn.as_fd(), &frames, &[cwd.as_raw_fd()]).map_err(|e| e.to_string())?;
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    loop {
        let frame = reader
            .read_frame(conn.as_fd())
            .map_err(|e| e.to_string())?
            .ok_or("jitsudod closed the connection")?;
        match decode::<ServerMessage>(&frame).map_err(|e| e.to_string())? {
            ServerMessage::Welcome { .. } => continue,
            answer => return Ok(answer),
        }
    }
}
