//! Helpers shared by the unit tests: policies from text and requests by
//! alice (uid 1000, groups alice=1000 and sudo=27).

use std::ffi::OsString;
use std::path::PathBuf;

use crate::request::{Caller, GroupRef, Request, TargetUser};
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
        }
    }

    /// The request.
    pub(crate) fn request(&self) -> Request<'_> {
        Request {
            caller: self.caller,
            run_as_user: self.target,
            run_as_group: None,
            command: &self.command,
            args: &self.args,
            wants_setenv: false,
            chdir: None,
            command_digest: self.digest,
            context: self.context,
        }
    }
}
