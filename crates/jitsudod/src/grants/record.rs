//! One request (and the grant it becomes), as stored and as shown.

use jitsudo_proto::{GrantRecord, ReviewRecord};

/// Where a request or grant is in its life:
/// `pending → approved | denied | expired | cancelled`,
/// `approved → active → ended | revoked | expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for approvals.
    Pending,
    /// Approved, its clock not started yet (first use, or a later start).
    Approved,
    /// In force.
    Active,
    /// Denied by a reviewer.
    Denied,
    /// Not approved (or not used) in time, or its time is up.
    Expired,
    /// Withdrawn by the requester.
    Cancelled,
    /// Ended early by its holder (`done`).
    Ended,
    /// Ended by an approver, root, or a policy reload.
    Revoked,
}

impl State {
    const ALL: [State; 8] = [
        State::Pending,
        State::Approved,
        State::Active,
        State::Denied,
        State::Expired,
        State::Cancelled,
        State::Ended,
        State::Revoked,
    ];

    /// Its name in the store and in `jitsudoctl`'s output.
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Approved => "approved",
            State::Active => "active",
            State::Denied => "denied",
            State::Expired => "expired",
            State::Cancelled => "cancelled",
            State::Ended => "ended",
            State::Revoked => "revoked",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Approved or active: the grant may still (come to) allow something.
    pub fn is_live(self) -> bool {
        matches!(self, State::Approved | State::Active)
    }
}

/// One review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The reviewer's uid.
    pub reviewer_uid: u32,
    /// The reviewer's name.
    pub reviewer: String,
    /// `approve` or `deny`.
    pub decision: String,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// When (seconds since the epoch).
    pub at: i64,
}

/// One request and the grant it became. Times are seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Short, unique, never reused.
    pub id: String,
    /// Where it is.
    pub state: State,
    /// Who asked.
    pub requester_uid: u32,
    /// The requester's name.
    pub requester: String,
    /// The grantable rule.
    pub rule_id: String,
    /// `rule`, `command`, `group`, `caps` or `shell`.
    pub kind: String,
    /// A command grant's absolute path and arguments; a group grant's
    /// group; a caps grant's capability names (the store's `command`
    /// column holds what the grant gives).
    pub command: Option<Vec<String>>,
    /// A command or shell grant's target user.
    pub run_as: Option<String>,
    /// Seconds the grant lasts once started.
    pub duration: i64,
    /// Why it was asked for.
    pub reason: Option<String>,
    /// The ticket.
    pub ticket: Option<String>,
    /// `on-approval`, `first-use` or `at`.
    pub start: String,
    /// With `at`: when to start.
    pub start_at: Option<i64>,
    /// Uses allowed.
    pub max_uses: Option<u32>,
    /// Uses so far.
    pub uses: u32,
    /// Approvals needed.
    pub quorum: u32,
    /// When it was asked for.
    pub created_at: i64,
    /// Pending: approvals must come before; approved first-use: the first
    /// use must.
    pub deadline_at: i64,
    /// When the grant started.
    pub starts_at: Option<i64>,
    /// When it ends.
    pub expires_at: Option<i64>,
    /// Whether the holder was warned of the end.
    pub warned: bool,
    /// When it ended.
    pub ended_at: Option<i64>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// Processes killed when it ended.
    pub killed: Option<u32>,
    /// Its reviews, oldest first.
    pub reviews: Vec<Review>,
}

impl Record {
    /// The command as stored (JSON array).
    pub fn command_json(&self) -> Option<String> {
        self.command
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok())
    }

    /// Approvals so far.
    pub fn approvals(&self) -> u32 {
        let n = self
            .reviews
            .iter()
            .filter(|r| r.decision == "approve")
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The names of those who approved it.
    pub fn approvers(&self) -> String {
        let names: Vec<&str> = self
            .reviews
            .iter()
            .filter(|r| r.decision == "approve")
            .map(|r| r.reviewer.as_str())
            .collect();
        names.join(",")
    }

    /// The `command` column, for a grant of kind `kind`.
    fn words_of(&self, kind: &str) -> Option<Vec<String>> {
        self.command.clone().filter(|_| self.kind == kind)
    }

    /// What `jitsudoctl` shows.
    pub fn to_wire(&self) -> GrantRecord {
        GrantRecord {
            id: self.id.clone(),
            state: self.state.name().to_owned(),
            requester: self.requester.clone(),
            rule: self.rule_id.clone(),
            kind: self.kind.clone(),
            command: self.words_of("command"),
            run_as: self.run_as.clone(),
            group: self
                .words_of("group")
                .and_then(|words| words.into_iter().next()),
            caps: self.words_of("caps"),
            duration: u64::try_from(self.duration).unwrap_or(0),
            reason: self.reason.clone(),
            ticket: self.ticket.clone(),
            start: self.start.clone(),
            created_at: self.created_at,
            deadline_at: self.deadline_at,
            quorum: self.quorum,
            reviews: self
                .reviews
                .iter()
                .map(|r| ReviewRecord {
                    reviewer: r.reviewer.clone(),
                    decision: r.decision.clone(),
                    reason: r.reason.clone(),
                    at: r.at,
                })
                .collect(),
            starts_at: self.starts_at,
            expires_at: self.expires_at,
            uses: self.uses,
            max_uses: self.max_uses,
            ended_at: self.ended_at,
            end_reason: self.end_reason.clone(),
        }
    }
}
