//! What the daemon hands a worker: everything decided and resolved. The
//! worker trusts it (it comes from the daemon over a private socketpair)
//! and does no policy work of its own.

use jitsudo_proto::{FdLayout, ServerMessage};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::audit::AuditRecord;

/// One request for a worker. It travels with these descriptors, in order:
/// the client connection, the caller's descriptors laid out as `fds` says,
/// and with a command to run ([`Then::Run`]) the executable the daemon
/// opened and decided on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The caller's descriptors that come with the job.
    pub fds: FdLayout,
    /// The caller's uid.
    pub caller_uid: u32,
    /// The PAM transaction.
    pub pam: PamSpec,
    /// What to do once PAM agrees.
    pub then: Then,
    /// What to log.
    pub audit: AuditRecord,
}

/// The PAM side of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PamSpec {
    /// The invoking user, who authenticates.
    pub user: ByteBuf,
    /// The target user, for whom the session is opened.
    pub target: ByteBuf,
    /// The caller's terminal (`/dev/pts/3`), for `PAM_TTY`.
    pub tty: Option<String>,
    /// Ask for the caller's password first.
    pub password: Option<PasswordSpec>,
}

/// How to ask for a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSpec {
    /// The prompt shown instead of PAM's plain "Password: ".
    pub prompt: ByteBuf,
    /// Attempts before giving up.
    pub tries: u32,
    /// How long each prompt waits for its answer.
    pub timeout: std::time::Duration,
}

/// What the worker does after authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Then {
    /// Run a command.
    Run(Box<Exec>),
    /// Send these messages (a refusal, a listing, `-v`'s success) and end.
    Reply(Vec<ServerMessage>),
    /// `-e`: let the caller edit these files as the target.
    Edit(Box<EditJob>),
    /// A review (`jitsudoctl approve`/`deny`): once the reviewer
    /// authenticated (reported to the daemon), relay the daemon's replies,
    /// read from the channel, to the client.
    Review,
}

/// Files to edit (`-e`, `sudoedit`), each allowed by the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditJob {
    /// Absolute, normalised paths (no `.`, `..` or empty components).
    pub files: Vec<ByteBuf>,
    /// Target uid: the files are opened and written as this user.
    pub uid: u32,
    /// Target primary gid.
    pub gid: u32,
    /// Target supplementary groups.
    pub groups: Vec<u32>,
    /// The umask a new file is created with.
    pub umask: u32,
    /// The caller's uid and groups: a file in a directory the caller may
    /// write is refused, as sudo's `sudoedit_checkdir` does.
    pub caller_uid: u32,
    /// The caller's primary and supplementary groups.
    pub caller_groups: Vec<u32>,
}

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    /// The executable's name in messages (the worker runs the descriptor
    /// that comes with the job, never this path).
    pub path: ByteBuf,
    /// The executable starts with `#!`: its interpreter reads it through
    /// `/dev/fd/N`, so the descriptor stays open across the exec.
    pub script: bool,
    /// Its argv, `argv[0]` included.
    pub argv: Vec<ByteBuf>,
    /// Its complete environment, `NAME=value` entries.
    pub env: Vec<ByteBuf>,
    /// Target uid.
    pub uid: u32,
    /// Target primary gid.
    pub gid: u32,
    /// Target supplementary groups.
    pub groups: Vec<u32>,
    /// Capabilities (kernel numbers) raised as ambient in the command: a
    /// caps grant's. Empty: none.
    pub ambient_caps: Vec<u8>,
    /// Execute `path` as the target (the kernel checks every directory and
    /// the file as the target) rather than the file the daemon opened: for
    /// a group, caps or shell grant, which allows any command the target
    /// could run, and nothing the daemon's own access could reach.
    pub exec_by_path: bool,
    /// The umask to run with.
    pub umask: u32,
    /// Directory to change to (as the target); `None` means the caller's
    /// working directory, whose descriptor comes with the job.
    pub chdir: Option<ByteBuf>,
    /// Signals that stay ignored in the command (bit n-1 for signal n).
    pub ignored_signals: u64,
    /// `-b`: report success at once and let the command run on.
    pub background: bool,
    /// The client is in its terminal's foreground (else a command on a
    /// pty starts in the background of it).
    pub terminal_foreground: bool,
    /// The rule's `timeout`: the command is ended after this long.
    pub timeout: Option<std::time::Duration>,
    /// The cgroup of the grant the command runs under, which the command
    /// enters before it execs (ending the grant ends the command).
    pub grant_cgroup: Option<std::path::PathBuf>,
    /// The grant the command runs under: the worker reports
    /// [`Report::Admitted`] once the caller authenticated and the command's
    /// `exec.accept` reached the audit sinks, and starts the command only
    /// if the daemon's reply (the use counted) is no refusal.
    pub grant: Option<String>,
}

impl Exec {
    /// Bytes the kernel counts against `ARG_MAX` for this exec: every
    /// argv and envp string with its NUL, plus the pointer arrays.
    pub fn exec_size(&self) -> usize {
        self.argv
            .iter()
            .chain(&self.env)
            .map(|s| s.len() + 1 + std::mem::size_of::<usize>())
            .sum()
    }
}

impl Job {
    /// Whether an executable's descriptor comes with the job.
    pub fn has_executable(&self) -> bool {
        matches!(self.then, Then::Run(_))
    }

    /// The audit record, its argv restored from the command's own.
    pub fn audit_record(&self) -> AuditRecord {
        let argv = match &self.then {
            Then::Run(exec) => exec.argv.clone(),
            Then::Reply(_) | Then::Review => Vec::new(),
            Then::Edit(_) => self.audit.argv.clone(),
        };
        AuditRecord {
            argv,
            ..self.audit.clone()
        }
    }
}

/// What a worker tells the daemon on its channel (fd 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    /// The caller authenticated: remember it.
    Authenticated,
    /// One failed password attempt.
    AuthFailed,
    /// A command under a grant passed PAM (authentication and account
    /// checks) and its `exec.accept` was logged: count its use and reply.
    Admitted,
}
