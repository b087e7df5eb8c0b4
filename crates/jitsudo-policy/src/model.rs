//! The checked policy: defaults and rules, ready for matching.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::command::CommandPattern;
use crate::grant::Grantable;
use crate::index::Index;
use crate::principal::{IdPattern, WhoPattern};
use crate::request::Request;
use crate::when::When;

/// The `secure_path` used when no source sets one.
pub const DEFAULT_SECURE_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `env_keep` list used when no source sets one.
pub const DEFAULT_ENV_KEEP: [&str; 6] = [
    "COLORTERM",
    "DISPLAY",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "XAUTHORITY",
];

/// A parsed, validated policy.
///
/// It keeps an index of its rules (by command path, by subject and by id) so that
/// a decision does not scan them all. After changing `rules` by hand, call
/// [`Policy::reindex`]; until then, a change in the number of rules makes
/// decisions scan every rule, and any other change may be missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Settings that apply to every command.
    pub defaults: Defaults,
    /// The rules, main file first, then the drop-ins, each in file order.
    pub rules: Vec<Rule>,
    /// The rules by command path and by subject.
    pub(crate) index: Index,
}

/// The `[defaults]` table, with the built-in values filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `PATH` given to every command.
    pub secure_path: String,
    /// Names of caller variables kept in the command's environment; a
    /// trailing `*` matches any name with that prefix.
    pub env_keep: Vec<String>,
    /// Umask bits, OR-ed with the caller's umask by the daemon.
    pub umask: u32,
    /// How many password attempts the caller gets.
    pub passwd_tries: u32,
    /// How long a successful authentication is remembered (zero: always
    /// ask).
    pub timestamp_timeout: std::time::Duration,
    /// How long one password prompt waits for its answer (sudo's
    /// `passwd_timeout`; never unbounded).
    pub passwd_timeout: std::time::Duration,
    /// What callers may make the daemon hold at once.
    pub limits: Limits,
    /// The password prompt when the caller gives none (`-p`,
    /// `SUDO_PROMPT`), with sudo's `%` escapes.
    pub passprompt: String,
    /// Whether callers may choose a command timeout with `-T` (sudoers'
    /// `user_command_timeouts`).
    pub user_command_timeouts: bool,
    /// Whether callers may choose the first descriptor closed with `-C`
    /// (sudoers' `closefrom_override`).
    pub closefrom_override: bool,
    /// The warning ahead of a grant's end, the grace from SIGTERM to
    /// SIGKILL and the furthest `--start at:` (`grant_warn`, `grant_grace`,
    /// `grant_start_within`), for rules that set none of their own.
    pub grant_timing: crate::grant::Timing,
    /// What a command does when its `exec.accept` event did not reach
    /// every sink of [`Defaults::audit_sinks`].
    pub audit_failure: crate::AuditFailure,
    /// The sinks every `exec.accept` event must reach.
    pub audit_sinks: Vec<crate::AuditSink>,
    /// The sinks events are written to at all; holds every sink of
    /// [`Defaults::audit_sinks`].
    pub audit_log: Vec<crate::AuditSink>,
    /// How often the daemon writes an `audit.checkpoint` of the trail.
    pub audit_checkpoint: crate::Checkpoints,
    /// The size cap of one session recording, in bytes.
    pub record_max_bytes: u64,
    /// How long session recordings are kept (`None`: for ever).
    pub record_retention: Option<std::time::Duration>,
    /// How many bytes the session recordings may hold together.
    pub record_max_total: Option<u64>,
}

/// Daemon-wide bounds on connections and on authentications waiting at a
/// password prompt (`[defaults]` keys of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections the daemon holds at once, all callers together.
    pub max_connections: u32,
    /// Connections one non-root caller may hold at once.
    pub max_connections_per_user: u32,
    /// Requests waiting at a password prompt, all callers together.
    pub max_pending_auth: u32,
    /// Requests one caller may have waiting at a password prompt.
    pub max_pending_auth_per_user: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_connections_per_user: 256,
            max_pending_auth: 64,
            max_pending_auth_per_user: 8,
        }
    }
}

/// sudo's default prompt (Debian's build): scripts wait for it.
pub const DEFAULT_PASSPROMPT: &str = "[sudo] password for %p: ";

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            secure_path: DEFAULT_SECURE_PATH.to_owned(),
            env_keep: DEFAULT_ENV_KEEP
                .iter()
                .map(|&name| name.to_owned())
                .collect(),
            umask: 0o022,
            passwd_tries: 3,
            timestamp_timeout: std::time::Duration::from_secs(5 * 60),
            passwd_timeout: std::time::Duration::from_secs(5 * 60),
            limits: Limits::default(),
            passprompt: DEFAULT_PASSPROMPT.to_owned(),
            user_command_timeouts: false,
            closefrom_override: false,
            grant_timing: crate::grant::Timing::default(),
            audit_failure: crate::AuditFailure::Deny,
            audit_sinks: crate::DEFAULT_AUDIT_SINKS.to_vec(),
            audit_log: crate::DEFAULT_AUDIT_LOG.to_vec(),
            audit_checkpoint: crate::Checkpoints::default(),
            record_max_bytes: crate::DEFAULT_RECORD_MAX_BYTES,
            record_retention: None,
            record_max_total: None,
        }
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's `id`, or `rule-N` (N its 1-based position in the whole policy).
    pub id: String,
    /// Name of the source the rule came from (shared by the rules of one
    /// source).
    pub file: Arc<str>,
    /// 1-based line of the rule's `[[rule]]` header.
    pub line: usize,
    /// Callers the rule applies to.
    pub who: Vec<WhoPattern>,
    /// Users the command may run as (`-u`).
    pub run_as: Vec<IdPattern>,
    /// Groups the command may run with (`-g`).
    pub run_as_groups: Vec<IdPattern>,
    /// Commands the rule allows.
    pub commands: Vec<CommandPattern>,
    /// Whether the caller must authenticate.
    pub auth: Auth,
    /// Whether the caller may pass or set environment variables.
    pub setenv: bool,
    /// Where `-D`/`--chdir` may go; `None` refuses `-D`.
    pub cwd: Option<Cwd>,
    /// Whether a match allows the request or forbids it.
    pub effect: Effect,
    /// Variable names kept for this rule's commands, on top of
    /// [`Defaults::env_keep`] (a trailing `*` matches a prefix).
    pub env_keep: Vec<String>,
    /// The umask for this rule's commands, replacing [`Defaults::umask`].
    pub umask: Option<u32>,
    /// How long the command may run before it is killed.
    pub timeout: Option<Duration>,
    /// The context the rule is limited to; `None`: always. (Boxed, as
    /// [`Rule::grant`]: few rules have one, and every rule would otherwise
    /// carry its room.)
    pub when: Option<Box<When>>,
    /// The `grant` table: the rule applies only under an active grant.
    pub grant: Option<Box<Grantable>>,
    /// The rule's `audit_failure`, replacing [`Defaults::audit_failure`].
    pub audit_failure: Option<crate::AuditFailure>,
    /// Whether the command's terminal session is recorded (`record`).
    pub record: bool,
    /// Whether the recording keeps what the caller types (`record_input`).
    pub record_input: bool,
}

impl Rule {
    /// Whether the caller may pass or set environment variables under this
    /// rule: `setenv = true`, or a command entry of `ALL` (as in sudoers).
    pub fn allows_setenv(&self) -> bool {
        self.setenv || self.commands.contains(&CommandPattern::All)
    }

    /// Whether `-D dir` is allowed under this rule.
    pub fn allows_chdir(&self, dir: &Path) -> bool {
        match &self.cwd {
            Some(Cwd::Any) => true,
            Some(Cwd::Exact(allowed)) => dir == allowed,
            None => false,
        }
    }

    /// Whether the rule looks at the caller's groups: a `%group` among
    /// who it names, or among its grant's approvers.
    pub(crate) fn names_caller_groups(&self) -> bool {
        self.who.iter().any(WhoPattern::is_group)
            || self
                .grant
                .as_deref()
                .is_some_and(|grant| grant.approval.names_group())
    }
}

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The rule allows what it matches (the default).
    #[default]
    Allow,
    /// The rule forbids what it matches, whatever any allow rule says.
    Deny,
}

impl std::fmt::Display for Effect {
    /// `allow` or `deny`, as written in a policy.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        })
    }
}

/// How the caller proves who he is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// PAM authentication (the caller's own password).
    #[default]
    Password,
    /// No authentication.
    None,
}

impl std::fmt::Display for Auth {
    /// `password` or `none`, as written in a policy.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Password => "password",
            Auth::None => "none",
        })
    }
}

/// The `cwd` option of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cwd {
    /// `"*"`: `-D` may name any directory.
    Any,
    /// An absolute path: `-D` may name exactly this directory.
    Exact(PathBuf),
}

impl Policy {
    /// A policy of these defaults and rules (already validated, such as
    /// those of another policy), indexed.
    pub fn new(defaults: Defaults, rules: Vec<Rule>) -> Policy {
        let index = Index::new(&rules);
        Policy {
            defaults,
            rules,
            index,
        }
    }

    /// A copy that shares no allocation with this policy (`clone` shares
    /// the rules' file names): what the daemon keeps of a policy it read.
    pub fn detached(&self) -> Policy {
        let mut copy = self.clone();
        let mut last: Option<(Arc<str>, Arc<str>)> = None;
        for rule in &mut copy.rules {
            let name = match &last {
                Some((old, new)) if Arc::ptr_eq(old, &rule.file) => Arc::clone(new),
                _ => {
                    let new: Arc<str> = Arc::from(&*rule.file);
                    last = Some((Arc::clone(&rule.file), Arc::clone(&new)));
                    new
                }
            };
            rule.file = name;
        }
        copy
    }

    /// Rebuilds the index after `rules` was changed by hand.
    pub fn reindex(&mut self) {
        self.index = Index::new(&self.rules);
    }

    /// Whether some rule has a `when.origin` condition: the daemon only
    /// works out where a caller comes from (a walk over /proc) when one
    /// does. Read from the index (asked on every request), or a scan of
    /// the rules if they were changed without [`Policy::reindex`].
    pub fn uses_origin(&self) -> bool {
        if self.index.usable(self.rules.len()) {
            return self.index.uses_origin();
        }
        self.rules.iter().any(|rule| {
            rule.when
                .as_ref()
                .is_some_and(|when| !when.origin.is_empty())
        })
    }

    /// Whether any rule or approver list names a `%group`: only then does
    /// a decision, a listing or a grant check look at the caller's groups,
    /// and the daemon looks them up (a group database lookup may cost
    /// dozens of system calls). Read from the index, or a scan of the
    /// rules if they were changed without [`Policy::reindex`].
    pub fn uses_caller_groups(&self) -> bool {
        if self.index.usable(self.rules.len()) {
            return self.index.uses_caller_groups();
        }
        self.rules.iter().any(Rule::names_caller_groups)
    }

    /// The rule with this id: looked up in the index, or searched for if
    /// the rules were changed without [`Policy::reindex`].
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        if self.index.usable(self.rules.len()) {
            return self
                .index
                .position_of(id, &self.rules)
                .and_then(|position| self.rules.get(position))
                .filter(|rule| rule.id == id);
        }
        self.rules.iter().find(|rule| rule.id == id)
    }

    /// Whether some rule pins the digest of the request's command: the
    /// daemon then computes the SHA-256 of the file it opened (reading that
    /// descriptor) and passes it in [`crate::Request::command_digest`].
    pub fn needs_digest(&self, request: &Request<'_>) -> bool {
        let command = request.subject();
        if self.index.usable(self.rules.len()) {
            return self.index.needs_digest(&command);
        }
        self.rules
            .iter()
            .flat_map(|rule| &rule.commands)
            .any(|entry| entry.needs_digest(&command))
    }
}
