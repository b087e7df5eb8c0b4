#![warn(missing_docs)]

//! The jitsudo policy engine: pure functions from policy text and a request
//! to a decision, and from a decision to the command's environment.
//!
//! This crate does no I/O at all: the daemon reads the files, resolves paths
//! and looks up users and groups, then hands the data in.
//!
//! # Use
//!
//! 1. [`parse`] the main file and its drop-ins (as [`Source`]s, in order) into
//!    a [`Policy`], or get every [`PolicyError`] as `file:line:column: message`.
//! 2. [`Policy::resolve_command_paths`] with a function that canonicalizes a
//!    path (symlinks resolved), so rules compare with canonical request paths.
//! 3. For each request, [`Policy::decide`] a [`Request`] into a [`Decision`]:
//!    [`Allowed`] (rule id, [`Auth`], setenv) or a [`Refusal`] with a [`Reason`].
//! 4. Build the command's environment with [`env::build_env`].
//!
//! **Precedence: among the rules that match a request, the last one in file
//! order decides (as in sudoers), so later drop-ins override earlier ones.**
//!
//! # Policy language
//!
//! ```toml
//! [defaults]
//! secure_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
//! env_keep = ["COLORTERM", "DISPLAY", "LANG", "LANGUAGE", "LC_*", "XAUTHORITY"]
//! umask = "0022"       # octal; OR-ed with the caller's umask
//! passwd_tries = 3     # 1..=100
//! timestamp_timeout = 5  # minutes a password is remembered per terminal session; 0 = always ask
//!
//! [[rule]]
//! id = "admins"                    # default: "rule-N", N its position in the whole policy
//! who = ["%sudo", "alice", "#1001", "%#27"]
//! run_as = ["ALL"]                 # users: name, #uid, ALL; default ["root"]
//! run_as_groups = ["ALL"]          # groups for -g: name, #gid, ALL; default []
//! commands = ["ALL", "/usr/bin/systemctl restart nginx", "/usr/bin/whoami \"\"",
//!             { path = "/usr/bin/x", args = ["a b"] }]
//! auth = "password"                # or "none"
//! setenv = false                   # -E, --preserve-env, VAR=value; implied by ALL
//! cwd = "*"                        # -D anywhere; or one absolute dir; absent: no -D
//! ```
//!
//! The values above are the defaults where a default exists. Unknown keys are
//! errors, with a "did you mean" hint for near misses.
//!
//! * `who` (required, non-empty): `name`, `#uid`, `%group`, `%#gid`, or `ALL`.
//!   Groups are matched against every group of the caller, primary included.
//! * `run_as` may be empty: the rule then only allows `-g` without `-u`.
//! * Commands follow sudoers: `ALL`; `/path` (any arguments); `/path a b`
//!   (exactly these, split on ASCII whitespace); `/path ""` (no arguments).
//!   The table form takes arguments with spaces; without `args` any are
//!   allowed, `args = []` allows none. Paths must be absolute.
//! * Run-as follows sudoers: without `-g` the target user must be in `run_as`;
//!   with `-g` only the command runs as the caller and the group must be in
//!   `run_as_groups`; with both, both must match; a `-g` naming the target
//!   user's own primary group is allowed whenever `run_as` matches.
//! * The deciding rule then checks `setenv` and `cwd`; failing them refuses
//!   the request rather than falling back to an earlier rule.
//! * Rule ids must be unique across all sources.

pub mod env;

mod command;
mod decide;
mod error;
mod load;
mod model;
mod principal;
mod request;
mod schema;
mod suggest;

pub use command::{Args, CommandPattern, Program};
pub use decide::{Allowed, Decision, Reason, Refusal};
pub use error::PolicyError;
pub use load::{parse, Source};
pub use model::{Auth, Cwd, Defaults, Policy, Rule, DEFAULT_ENV_KEEP, DEFAULT_SECURE_PATH};
pub use principal::{IdPattern, WhoPattern};
pub use request::{Caller, GroupRef, Request, TargetUser};
