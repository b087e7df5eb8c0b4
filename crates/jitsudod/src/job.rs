//! What the daemon hands a worker: everything needed to run one command,
//! decided and resolved. The worker trusts it (it comes from the daemon over
//! a private socketpair) and does no policy work of its own.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::audit::AuditRecord;

/// One command to run. It travels with these descriptors, in order: the
/// client connection, the caller's stdio descriptors that are present, and
/// the caller's working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Executable to run (absolute path).
    pub path: ByteBuf,
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
    /// The umask to run with.
    pub umask: u32,
    /// Directory to change to (as the target); `None` means the caller's
    /// working directory, whose descriptor comes with the job.
    pub chdir: Option<ByteBuf>,
    /// Which of the caller's fds 0-2 come with the job (see
    /// [`jitsudo_proto::Request::stdio`]).
    pub stdio: [bool; 3],
    /// Signals that stay ignored in the command (bit n-1 for signal n).
    pub ignored_signals: u64,
    /// `-b`: report success at once and let the command run on.
    pub background: bool,
    /// The caller's uid, owner of the command's pty.
    pub caller_uid: u32,
    /// What to log when the command ends.
    pub audit: AuditRecord,
}

impl Job {
    /// The audit record with its argv restored from the job's own.
    pub fn audit_record(&self) -> AuditRecord {
        AuditRecord {
            argv: self.argv.clone(),
            ..self.audit.clone()
        }
    }

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
