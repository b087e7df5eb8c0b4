//! The checked policy: defaults and rules, ready for matching.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::command::CommandPattern;
use crate::principal::{IdPattern, WhoPattern};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Settings that apply to every command.
    pub defaults: Defaults,
    /// The rules, main file first, then the drop-ins, each in file order.
    pub rules: Vec<Rule>,
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
}

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
        }
    }
}

/// One `[[rule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's `id`, or `rule-N` (N its 1-based position in the whole policy).
    pub id: String,
    /// Name of the source the rule came from.
    pub file: String,
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
}

/// How the caller proves who he is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// PAM authentication (the caller's own password).
    #[default]
    Password,
    /// No authentication.
    None,
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
    /// Lets the daemon canonicalize every rule's command path (it resolves
    /// symlinks with real I/O); the original text stays for display.
    ///
    /// `resolve` always receives the path as written in the policy, so calling
    /// this again (after a reload of the file system, say) is safe.
    pub fn resolve_command_paths(&mut self, mut resolve: impl FnMut(&Path) -> PathBuf) {
        for rule in &mut self.rules {
            for command in &mut rule.commands {
                command.resolve_path(&mut resolve);
            }
        }
    }
}
