#![forbid(unsafe_code)]
#![warn(missing_docs)]

//! The jitsudo policy engine: pure functions from policy text and a request
//! to a decision, and from a decision to the command's environment.
//!
//! This crate does no I/O at all: the daemon reads the files, resolves paths,
//! hashes executables, reads the clock and looks up users and groups, then
//! hands the data in. The one exception is the optional module `files`
//! (feature `files`): how the daemon and `jitsudoctl` read the policy files
//! from disk, with their ownership checks.
//!
//! # Use
//!
//! 1. [`parse`] the main file and its drop-ins (as [`Source`]s, in order) into
//!    a [`Policy`], or get every [`PolicyError`] as `file:line:column: message`
//!    ([`parse_with_warnings`] also returns the warnings of files with
//!    `[compat] unknown_keys = "warn"`).
//! 2. For each request, open the executable once and describe it as an
//!    [`Executable`] (its [`FileId`], its real path, and a function giving the
//!    identity of the file a rule path names now): an allow entry matches when
//!    its base name is the command's and it names that very file; a deny
//!    entry when it names that file under any name (see `docs/policy.md`).
//! 3. Compute the executable's SHA-256 from that open file if
//!    [`Policy::needs_digest`] says so, then [`Policy::decide`] a [`Request`]
//!    (with its [`Context`]: time, terminal, origin, host) into a
//!    [`Decision`]: [`Allowed`] (rule id, [`Auth`], setenv, env_keep, umask,
//!    timeout) or a [`Refusal`] with a [`Reason`].
//! 4. Build the command's environment with [`env::build_env`].
//!
//! [`Policy::explain`] tells why a request is allowed or refused, rule by
//! rule; [`entitlement_diff`] compares what two policies grant. Both
//! serialize to JSON.
//!
//! **Precedence: a matching deny rule beats every allow; otherwise the last
//! matching allow rule in file order decides** (as in sudoers, so later
//! drop-ins override earlier ones).
//!
//! # Policy language
//!
//! The whole schema, with examples and the safety notes on wildcards, is in
//! `docs/policy.md`. In short:
//!
//! ```toml
//! [compat]
//! unknown_keys = "error"           # or "warn": unknown keys of this file are warnings
//!
//! [defaults]
//! secure_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
//! env_keep = ["COLORTERM", "DISPLAY", "LANG", "LANGUAGE", "LC_*", "XAUTHORITY"]
//! umask = "0022"       # octal; OR-ed with the caller's umask
//! passwd_tries = 3     # 1..=100
//! timestamp_timeout = 5  # minutes a password is remembered per terminal session; 0 = always ask
//! passwd_timeout = 5     # minutes a password prompt waits; 0 = the longest (60)
//! max_connections = 1024          # daemon-wide limits: connections held at once,
//! max_connections_per_user = 256  # ... by one user,
//! max_pending_auth = 64           # requests waiting at a password prompt,
//! max_pending_auth_per_user = 8   # ... for one user
//!
//! [command_sets]
//! web = ["/usr/bin/systemctl restart nginx", "/usr/bin/systemctl reload nginx"]
//!
//! [[rule]]
//! id = "admins"                    # default: "rule-N", N its position in the whole policy
//! effect = "allow"                 # or "deny"
//! who = ["%sudo", "alice", "#1001", "%#27"]
//! run_as = ["ALL"]                 # users: name, #uid, ALL, SELF; default ["root"]
//! run_as_groups = ["ALL"]          # groups for -g: name, #gid, ALL; default []
//! commands = ["ALL", "/usr/bin/systemctl restart *.service", "/usr/bin/whoami \"\"",
//!             { path = "/usr/bin/x", args = ["a b"] }, "@web", "/usr/lib/tools/*",
//!             "sha256:<64 hex digits> /usr/local/bin/tool"]
//! auth = "password"                # or "none"
//! setenv = false                   # -E, --preserve-env, VAR=value; implied by ALL
//! cwd = "*"                        # -D anywhere; or one absolute dir; absent: no -D
//! env_keep = ["EDITOR"]            # kept on top of the defaults' env_keep
//! umask = "0077"                   # replaces the default umask
//! timeout = "30m"                  # kill the command after this long
//! when = { hours = "Mon-Fri 08:00-18:00", dates = "2026-01-01..2026-12-31",
//!          tz = "local", tty = true, origin = ["local", "ssh"], hosts = ["web-*"] }
//! ```
//!
//! * `who` (required, non-empty): `name`, `#uid`, `%group`, `%#gid`, or `ALL`.
//!   Groups are matched against every group of the caller, primary included.
//! * `run_as` may be empty: the rule then only allows `-g` without `-u`.
//!   `SELF` allows only the caller's own user.
//! * Commands follow sudoers: `ALL`; `/path` (any arguments); `/path a b`
//!   (exactly these, split on ASCII whitespace); `/path ""` (no arguments).
//!   Arguments and paths may hold `fnmatch(3)` wildcards, matched per
//!   argument (and never across `/` in a path). The table form takes
//!   arguments with spaces and a `sha256` digest. Paths must be absolute.
//! * Run-as follows sudoers: without `-g` the target user must be in `run_as`;
//!   with `-g` only the command runs as the caller and the group must be in
//!   `run_as_groups`; with both, both must match; a `-g` naming the target
//!   user's own primary group is allowed whenever `run_as` matches.
//! * A rule whose `when` does not hold does not match.
//! * The deciding rule then checks `setenv` and `cwd`; failing them refuses
//!   the request rather than falling back to an earlier rule.
//! * Rule ids must be unique across all sources; deny rules take no options.

pub mod env;
#[cfg(feature = "files")]
pub mod files;

mod audit;
mod command;
mod decide;
mod diff;
mod error;
mod explain;
mod glob;
mod grant;
mod index;
mod load;
mod model;
mod principal;
#[cfg(test)]
mod proptests;
mod request;
mod schema;
mod suggest;
#[cfg(test)]
mod test_support;
mod when;

pub use audit::{
    AuditFailure, AuditGuard, AuditSink, Checkpoints, Recording, DEFAULT_AUDIT_LOG,
    DEFAULT_AUDIT_SINKS, DEFAULT_RECORD_MAX_BYTES,
};
pub use command::{Args, CommandMatch, CommandPattern, Program, Subject, SUDOEDIT};
pub use decide::{Allowed, Decision, Mismatch, Reason, Refusal};
pub use diff::{entitlement_diff, Change, ChangeKind, Entitlement};
pub use error::PolicyError;
pub use explain::{Explanation, Grant, Precedence, RuleExplanation, RuleRole};
pub use glob::Glob;
pub use grant::{
    ActiveGrant, Approval, Asked, BreakGlass, Capability, GrantKind, Grantable, Privilege,
    RequestRefusal, Start, Terms, Timing, AUTO_HARD_MAX, DEFAULT_APPROVAL_DEADLINE,
};
pub use load::{parse, parse_with_warnings, Parsed, Source};
pub use model::{
    Auth, Cwd, Defaults, Effect, Limits, Policy, Rule, DEFAULT_ENV_KEEP, DEFAULT_PASSPROMPT,
    DEFAULT_SECURE_PATH,
};
pub use principal::{IdPattern, WhoPattern};
pub use request::{Caller, Executable, FileId, GroupRef, Request, TargetUser};
pub use when::{Context, DateRange, Origin, TimeZone, Timestamp, WeeklyWindow, When, WhenPart};
