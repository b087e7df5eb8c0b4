//! `jitsudoctl`: jitsudo administration.
//!
//! * `policy check` validates the installed policy or candidate files
//!   (like `visudo -c`/`-cf`);
//! * `policy explain` says what the policy decides for a request and why
//!   (like `doas -C`);
//! * `policy diff` lists who gains or loses which command as whom;
//! * `policy import-sudoers` converts a sudoers file;
//! * `policy reload` makes the daemon re-read its policy and reports errors.

mod explain;

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
    /// What the policy decides for a request, and why; exit 0 if allowed.
    Explain(explain::ExplainArgs),
    /// Entitlement diff: who gains and who loses which command as whom.
    /// Exit 0 when nothing changes, 1 when something does.
    Diff {
        /// The policy before (one file).
        old: PathBuf,
        /// The policy after (one file).
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Convert a sudoers file (and what it includes) to a jitsudo policy on
    /// stdout; what could not be converted faithfully goes to stderr.
    ImportSudoers {
        /// The sudoers file.
        #[arg(default_value = "/etc/sudoers")]
        file: PathBuf,
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
pub enum Format {
    /// Lines for people.
    Text,
    /// One JSON document for tools.
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Policy(PolicyCommand::Check { files, format }) => check(&files, format),
        Command::Policy(PolicyCommand::Explain(args)) => explain::run(&args),
        Command::Policy(PolicyCommand::Diff { old, new, format }) => diff(&old, &new, format),
        Command::Policy(PolicyCommand::ImportSudoers { file }) => import_sudoers(&file),
        Command::Policy(PolicyCommand::Reload { socket }) => reload(&socket),
    }
}

/// Parses candidate files into a policy, printing errors.
pub fn load_candidates(files: &[PathBuf]) -> Option<jitsudo_policy::Policy> {
    let parsed = policy_store::candidate_sources(files)
        .map_err(|e| vec![e])
        .and_then(|sources| {
            parse(&sources).map_err(|errors| errors.iter().map(ToString::to_string).collect())
        });
    match parsed {
        Ok(policy) => Some(policy),
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
            }
            None
        }
    }
}

fn diff(old: &std::path::Path, new: &std::path::Path, format: Format) -> ExitCode {
    let (Some(old), Some(new)) = (
        load_candidates(&[old.to_path_buf()]),
        load_candidates(&[new.to_path_buf()]),
    ) else {
        return ExitCode::from(2);
    };
    let changes = jitsudo_policy::entitlement_diff(&old, &new);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&changes).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        Format::Text => {
            for change in &changes {
                println!("{change}");
            }
        }
    }
    if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn import_sudoers(file: &std::path::Path) -> ExitCode {
    let main = match std::fs::read_to_string(file) {
        Ok(text) => jitsudo_policy::Source {
            name: file.display().to_string(),
            text,
        },
        Err(e) => {
            eprintln!("jitsudoctl: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let conversion = jitsudo_policy::sudoers::import(&main, &mut read_include);
    print!("{}", conversion.toml);
    for note in &conversion.unconverted {
        eprintln!("{note}");
    }
    ExitCode::SUCCESS
}

/// Reads what an `@include`/`@includedir` names, as sudo would.
fn read_include(
    include: &jitsudo_policy::sudoers::Include,
) -> Result<Vec<jitsudo_policy::Source>, String> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .map(|text| jitsudo_policy::Source {
                name: path.display().to_string(),
                text,
            })
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    if !include.dir {
        return read(PathBuf::from(&include.path)).map(|s| vec![s]);
    }
    let Ok(entries) = std::fs::read_dir(&include.path) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(jitsudo_policy::sudoers::includedir_reads)
        })
        .collect();
    paths.sort();
    paths.into_iter().map(read).collect()
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
