//! Helpers shared by the unit tests: policies from text and requests by
//! alice (uid 1000, groups alice=1000 and sudo=27).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::request::{Caller, Executable, FileId, GroupRef, Request, TargetUser};
use crate::when::{Context, Origin, Timestamp};
use crate::{parse, Policy, Source};

/// 2026-03-02 09:30 UTC, a Monday.
pub(crate) const MONDAY_0930: i64 = 1_772_443_800;

/// Monday 2026-03-02 09:30 UTC, on a local terminal of `web-1`.
pub(crate) const CONTEXT: Context<'static> = Context {
    now: Timestamp {
        unix_seconds: MONDAY_0930,
        local_utc_offset: 0,
    },
    has_tty: true,
    origin: Origin::Local,
    host: "web-1",
};

/// Alice's groups.
pub(crate) const ALICE_GROUPS: [GroupRef<'static>; 2] = [
    GroupRef {
        gid: 1000,
        name: Some("alice"),
    },
    GroupRef {
        gid: 27,
        name: Some("sudo"),
    },
];

/// Root as the target.
pub(crate) const ROOT: TargetUser<'static> = TargetUser {
    uid: 0,
    name: Some("root"),
    primary_gid: 0,
    is_caller_by_default: false,
};

/// Parses one source named `p.toml`, panicking on errors.
pub(crate) fn policy(text: &str) -> Policy {
    let source = Source {
        name: "p.toml".into(),
        text: text.into(),
    };
    parse(&[source]).unwrap_or_else(|e| panic!("{e:?}"))
}

/// An owned request, turned into a [`Request`] on demand.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub caller: Caller<'static>,
    pub target: TargetUser<'static>,
    pub command: PathBuf,
    pub args: Vec<OsString>,
    pub digest: Option<[u8; 32]>,
    pub context: Context<'static>,
    /// The opened file: its real path and identity.
    pub opened: Option<(PathBuf, FileId)>,
}

/// bash, which `/usr/bin/rbash` links to.
pub(crate) const BASH: FileId = FileId { dev: 1, ino: 1 };

/// A file system where `/usr/bin/rbash` is a link to `/usr/bin/bash`, and
/// every other absolute path is a file of its own.
pub(crate) fn identify(path: &Path) -> Option<FileId> {
    match path.to_str()? {
        "/usr/bin/bash" | "/usr/bin/rbash" => Some(BASH),
        other if other.starts_with('/') => Some(FileId {
            dev: 1,
            ino: other.bytes().map(u64::from).sum::<u64>() + 2,
        }),
        _ => None,
    }
}

impl Ask {
    /// Alice runs `command args…` as root.
    pub(crate) fn run(command: &str, args: &[&str]) -> Ask {
        Ask {
            caller: Caller {
                uid: 1000,
                name: Some("alice"),
                groups: &ALICE_GROUPS,
                deny_groups: &[],
            },
            target: ROOT,
            command: PathBuf::from(command),
            args: args.iter().map(OsString::from).collect(),
            digest: None,
            context: CONTEXT,
            opened: None,
        }
    }

    /// The file found at `self.command` was opened: it is `real`.
    pub(crate) fn opened(mut self, real: &str) -> Ask {
        let id = identify(Path::new(real));
        self.opened = id.map(|id| (PathBuf::from(real), id));
        self
    }

    /// The request.
    pub(crate) fn request(&self) -> Request<'_> {
        Request {
            caller: self.caller,
            run_as_user: self.target,
            run_as_group: None,
            command: &self.command,
            executable: self.opened.as_ref().map(|(real_path, id)| Executable {
                id: *id,
                real_path,
                identify,
            }),
            args: &self.args,
            wants_setenv: false,
            chdir: None,
            command_digest: self.digest,
            context: self.context,
        }
    }
}
