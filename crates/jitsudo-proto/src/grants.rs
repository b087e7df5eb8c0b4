//! The just-in-time grant verbs of `jitsudoctl`: what they ask and the
//! records the daemon answers with. Records serialize to the JSON of
//! `jitsudoctl --format json` (field names are stable; see docs/grants.md).

use serde::{Deserialize, Serialize};

/// `jitsudoctl request`: ask for a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantAsk {
    /// What the grant allows.
    pub what: GrantWhat,
    /// `--for`, in seconds; `None`: the rule's default.
    pub duration: Option<u64>,
    /// `--reason`.
    pub reason: Option<String>,
    /// `--ticket`.
    pub ticket: Option<String>,
    /// `--start`; `None`: the rule's.
    pub start: Option<StartAsk>,
    /// `--uses`; `None`: the rule's `max_uses`.
    pub uses: Option<u32>,
    /// `--break-glass`: approved by the requester at once (the rule must
    /// allow it; approvers clear it afterwards).
    pub break_glass: bool,
}

/// `jitsudoctl shell ID` / `jitsudoctl run ID -- CMD ARGS...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSession {
    /// The grant (the caller's own).
    pub id: String,
    /// The command (`argv` empty: the shell), the caller's environment,
    /// descriptors and signals. The daemon decides the target, the shell
    /// and the credentials from the grant; the options of `jitsudo` that
    /// would choose them are ignored.
    pub request: crate::RunRequest,
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantWhat {
    /// `--rule ID`: a grantable rule as a whole.
    Rule(String),
    /// `[-u USER] -- CMD ARGS...`: exactly this command.
    Command {
        /// `-u`: the target user; default root.
        user: Option<String>,
        /// The command (a name looked up in `secure_path`, or absolute)
        /// and its arguments.
        argv: Vec<String>,
    },
    /// `--group NAME`: an extra supplementary group.
    Group(String),
    /// `--caps CAP[,CAP...]`: ambient capabilities, by name.
    Caps(Vec<String>),
    /// `--shell [-u USER]`: a shell as USER (`None`: root).
    Shell(Option<String>),
}

/// When the grant's clock is to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartAsk {
    /// `on-approval`.
    OnApproval,
    /// `first-use`.
    FirstUse,
    /// `at:TIME`, in seconds since the epoch.
    At(i64),
}

/// `approve`, `deny`, `revoke`: an id and a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// The request or grant.
    pub id: String,
    /// Why.
    pub reason: Option<String>,
}

/// `extend ID --by D`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendAsk {
    /// The grant.
    pub id: String,
    /// Seconds to add to its end.
    pub by: u64,
    /// Why.
    pub reason: Option<String>,
}

/// `requests` and `grants`: which records to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantQuery {
    /// `requests`: pending requests; `grants`: grants.
    pub what: Listing,
    /// `--all`: everyone's (root and approvers see others').
    pub all: bool,
    /// `--since`, seconds since the epoch (history only).
    pub since: Option<i64>,
    /// `--user NAME` (history only).
    pub user: Option<String>,
}

/// Which records a [`GrantQuery`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Listing {
    /// Pending requests: mine and those I may review.
    Requests,
    /// Approved and active grants.
    Grants,
    /// Every ended grant (`grants --history`).
    History,
}

/// One request or grant, as `jitsudoctl` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    /// Short, unique, never reused.
    pub id: String,
    /// `pending`, `approved`, `active`, `denied`, `expired`, `cancelled`,
    /// `ended` or `revoked`.
    pub state: String,
    /// Who asked.
    pub requester: String,
    /// The grantable rule.
    pub rule: String,
    /// `rule`, `command`, `group`, `caps` or `shell`.
    pub kind: String,
    /// For a command grant: the command's path and arguments.
    pub command: Option<Vec<String>>,
    /// The target user of a command or shell grant.
    pub run_as: Option<String>,
    /// A group grant's group.
    pub group: Option<String>,
    /// A caps grant's capabilities.
    pub caps: Option<Vec<String>>,
    /// Seconds the grant lasts once started.
    pub duration: u64,
    /// The requester's reason.
    pub reason: Option<String>,
    /// The requester's ticket.
    pub ticket: Option<String>,
    /// `on-approval`, `first-use` or `at`.
    pub start: String,
    /// When it was requested (seconds since the epoch).
    pub created_at: i64,
    /// Until when approvals (or, for a first-use grant, the first use) may come.
    pub deadline_at: i64,
    /// Approvals needed.
    pub quorum: u32,
    /// Every review so far.
    pub reviews: Vec<ReviewRecord>,
    /// When the grant started.
    pub starts_at: Option<i64>,
    /// When it ends (or ended).
    pub expires_at: Option<i64>,
    /// Commands run under it.
    pub uses: u32,
    /// Commands it allows; `None`: any number.
    pub max_uses: Option<u32>,
    /// When it ended, and why.
    pub ended_at: Option<i64>,
    /// Why it ended (the revoker's reason, `done`, `expired`, ...).
    pub end_reason: Option<String>,
}

/// One approval or denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// The reviewer's user name.
    pub reviewer: String,
    /// `approve` or `deny`.
    pub decision: String,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// When (seconds since the epoch).
    pub at: i64,
}
