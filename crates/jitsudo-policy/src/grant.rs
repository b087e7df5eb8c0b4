//! Grantable rules: a rule with a `grant` table is inactive until a grant
//! for it is active. The table says how one is requested and approved; the
//! daemon keeps the requests and grants and passes the active ones to
//! [`crate::Policy::decide_with_grants`].

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::glob::Glob;
use crate::model::{Policy, Rule};
use crate::principal::{IdPattern, WhoPattern};
use crate::request::Caller;

mod caps;
mod privilege;

pub use caps::Capability;
pub use privilege::Privilege;

/// The hard maximum of an auto-approved grant, whatever `max` says.
pub const AUTO_HARD_MAX: Duration = Duration::from_secs(8 * 3600);

/// The approval deadline when the policy gives none.
pub const DEFAULT_APPROVAL_DEADLINE: Duration = Duration::from_secs(3600);

/// The bounds of `warn`/`grant_warn`: how long before a grant's end its
/// holder is warned.
pub const WARN_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));

/// The bounds of `grace`/`grant_grace`: SIGTERM to SIGKILL at the end.
pub const GRACE_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// The bounds of `start_within`/`grant_start_within`: how far ahead
/// `--start at:TIME` may be.
pub const START_WITHIN_BOUNDS: (Duration, Duration) = (
    Duration::from_secs(60),
    Duration::from_secs(365 * 24 * 3600),
);

/// A grant's clockwork: the warning ahead of its end, the grace after
/// SIGTERM, the furthest start time that may be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long before the end the holder's terminals are warned.
    pub warn: Duration,
    /// SIGTERM to SIGKILL when the grant ends.
    pub grace: Duration,
    /// How far ahead `--start at:TIME` may be.
    pub start_within: Duration,
}

impl Default for Timing {
    /// 60 s, 2 s and 7 days.
    fn default() -> Self {
        Timing {
            warn: Duration::from_secs(60),
            grace: Duration::from_secs(2),
            start_within: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// A rule's `grant` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantable {
    /// What a grant of the rule lets its holder do.
    pub kind: GrantKind,
    /// The longest grant that may be requested.
    pub max: Duration,
    /// The duration of a request that names none.
    pub default: Duration,
    /// When the grant's clock starts.
    pub start: Start,
    /// How many commands a grant allows; `None`: any number.
    pub max_uses: Option<u32>,
    /// Whether a request must give a reason.
    pub reason_required: bool,
    /// The pattern a ticket must match; when set, a ticket is required.
    pub ticket: Option<Glob>,
    /// Who decides.
    pub approval: Approval,
    /// The rule's own `warn`, `grace` and `start_within` (`None`: the
    /// `[defaults]`' `grant_*`).
    pub warn: Option<Duration>,
    /// See [`Grantable::warn`].
    pub grace: Option<Duration>,
    /// See [`Grantable::warn`].
    pub start_within: Option<Duration>,
    /// The holder may extend their own grant without a new approval, as
    /// long as it lasts no longer than this in total (`self_extend`).
    pub self_extend: Option<Duration>,
    /// Members may approve a short grant themselves in an emergency.
    pub break_glass: Option<BreakGlass>,
    /// A group grant's groups (one is asked for at a time).
    pub groups: Vec<IdPattern>,
    /// A caps grant's capabilities (a request asks for some of them).
    pub caps: Vec<Capability>,
}

/// The longest a `break_glass` grant may be, whatever the rule says.
pub const BREAK_GLASS_HARD_MAX: Duration = Duration::from_secs(3600);

/// The bounds of `break_glass.follow_up`.
pub const FOLLOW_UP_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(7 * 24 * 3600));

/// A rule's `break_glass`: a member may approve their own grant (`jitsudoctl
/// request --break-glass`), logged at `crit`; unless an approver approves
/// it after the fact or the holder justifies it within `follow_up`, the
/// holder's further requests are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlass {
    /// The longest such grant.
    pub max: Duration,
    /// How long after the request it must be cleared.
    pub follow_up: Duration,
}

/// What a grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// The whole rule, while the grant is active (`--rule ID`).
    Rule,
    /// Exactly one command the rule allows, as requested (`-- CMD ...`).
    Command,
    /// An extra supplementary group in the processes started under the
    /// grant (`--group NAME`).
    Group,
    /// Ambient capabilities in the processes started under the grant
    /// (`--caps CAP,...`).
    Caps,
    /// A shell as one of the rule's `run_as` users (`--shell -u USER`).
    Shell,
}

impl GrantKind {
    /// Every kind.
    pub const ALL: [GrantKind; 5] = [
        GrantKind::Rule,
        GrantKind::Command,
        GrantKind::Group,
        GrantKind::Caps,
        GrantKind::Shell,
    ];

    /// Its name in policies, the store and `jitsudoctl`'s output.
    pub fn name(self) -> &'static str {
        match self {
            GrantKind::Rule => "rule",
            GrantKind::Command => "command",
            GrantKind::Group => "group",
            GrantKind::Caps => "caps",
            GrantKind::Shell => "shell",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<GrantKind, String> {
        GrantKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                format!(
                    "grant kind `{name}` must be \"rule\", \"command\", \"group\", \"caps\" or \"shell\""
                )
            })
    }

    /// Whether a grant of this kind is used through `jitsudoctl shell`/`run`
    /// (it gives a privilege to the processes started under it) rather than
    /// by `jitsudo` (it makes its rule apply).
    pub fn is_privilege(self) -> bool {
        matches!(self, GrantKind::Group | GrantKind::Caps | GrantKind::Shell)
    }

    /// How a request asks for it.
    fn option(self) -> &'static str {
        match self {
            GrantKind::Rule => "--rule ID",
            GrantKind::Command => "-- COMMAND [ARGS...]",
            GrantKind::Group => "--group NAME",
            GrantKind::Caps => "--caps CAP[,CAP...]",
            GrantKind::Shell => "--shell [-u USER]",
        }
    }
}

/// When a grant's clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// When the last approval needed arrives.
    OnApproval,
    /// At the first use (which must come within the approval deadline
    /// after the approval).
    FirstUse,
    /// At a time the requester names (or at approval, if later).
    At,
}

impl Start {
    /// The name used in policies and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Start::OnApproval => "on-approval",
            Start::FirstUse => "first-use",
            Start::At => "at",
        }
    }

    /// The clock named `text` (`on-approval`, `first-use`, `at`).
    pub fn parse(text: &str) -> Result<Start, String> {
        match text {
            "on-approval" => Ok(Start::OnApproval),
            "first-use" => Ok(Start::FirstUse),
            "at" => Ok(Start::At),
            _ => Err(format!(
                "start `{text}` must be \"on-approval\", \"first-use\" or \"at\""
            )),
        }
    }
}

/// How a request is approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// At once by the daemon (a reason is always required and the grant
    /// never lasts longer than [`AUTO_HARD_MAX`]).
    Auto,
    /// By `quorum` different approvers, none of them the requester, before
    /// `deadline` has passed since the request.
    Approvers {
        /// Who may approve or deny.
        approvers: Vec<WhoPattern>,
        /// How many approvals are needed.
        quorum: u32,
        /// How long a request may wait for them.
        deadline: Duration,
    },
}

impl Approval {
    /// Whether `caller` may review requests for the rule.
    pub fn may_review(&self, caller: &Caller<'_>) -> bool {
        match self {
            Approval::Auto => false,
            Approval::Approvers { approvers, .. } => approvers.iter().any(|a| a.matches(caller)),
        }
    }

    /// Whether an approver is named by group.
    pub(crate) fn names_group(&self) -> bool {
        match self {
            Approval::Auto => false,
            Approval::Approvers { approvers, .. } => approvers.iter().any(WhoPattern::is_group),
        }
    }

    /// Approvals needed (zero for auto).
    pub fn quorum(&self) -> u32 {
        match self {
            Approval::Auto => 0,
            Approval::Approvers { quorum, .. } => *quorum,
        }
    }

    /// How long a request may wait for its approvals.
    pub fn deadline(&self) -> Duration {
        match self {
            Approval::Auto => DEFAULT_APPROVAL_DEADLINE,
            Approval::Approvers { deadline, .. } => *deadline,
        }
    }
}

impl std::fmt::Display for Grantable {
    /// How a grant is obtained: `grant approved by jt_appr1, %sre (2 of
    /// them), up to 3600s`, or `group grant (groups: adm) approved
    /// automatically, up to 600s` (a group or caps grant names what it
    /// may give).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let listed = |items: Vec<String>| items.join(", ");
        let kind = match self.kind {
            GrantKind::Rule => "grant".to_owned(),
            GrantKind::Command => "single-command grant".to_owned(),
            GrantKind::Group => format!(
                "group grant (groups: {})",
                listed(self.groups.iter().map(ToString::to_string).collect())
            ),
            GrantKind::Caps => format!(
                "capability grant (caps: {})",
                listed(self.caps.iter().map(ToString::to_string).collect())
            ),
            GrantKind::Shell => "shell grant".to_owned(),
        };
        match &self.approval {
            Approval::Auto => write!(f, "{kind} approved automatically")?,
            Approval::Approvers {
                approvers, quorum, ..
            } => {
                let names: Vec<String> = approvers.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{kind} approved by {} ({quorum} of them)",
                    names.join(", ")
                )?;
            }
        }
        write!(f, ", up to {}s", self.effective_max().as_secs())?;
        if let Some(glass) = self.break_glass {
            write!(
                f,
                ", break-glass up to {}s (cleared within {}s)",
                glass.max.as_secs(),
                glass.follow_up.as_secs()
            )?;
        }
        if let Some(cap) = self.self_extend {
            write!(
                f,
                ", self-extensible up to {}s",
                cap.min(self.effective_max()).as_secs()
            )?;
        }
        Ok(())
    }
}

/// A grant the daemon holds active for the caller of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveGrant<'a> {
    /// The grant's id.
    pub id: &'a str,
    /// The rule it activates.
    pub rule_id: &'a str,
    /// For a command grant: the command's absolute path and its arguments,
    /// which a request must match exactly.
    pub command: Option<(&'a Path, &'a [OsString])>,
}

/// Why a grant may not be requested as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestRefusal {
    /// No grantable rule has this id, or it does not name the caller.
    NoSuchRule(String),
    /// The rule grants another kind than requested.
    WrongKind(GrantKind),
    /// Over the rule's `max`.
    TooLong(Duration),
    /// More uses than `max_uses`.
    TooManyUses(u32),
    /// The rule requires a reason.
    ReasonRequired,
    /// The rule requires a ticket matching this pattern.
    TicketRequired(String),
    /// Another clock than the rule's.
    WrongStart(Start),
    /// `--start at:` a time that has passed.
    StartInPast,
    /// `--start at:` further ahead than the rule's `start_within`.
    StartTooFar(Duration),
    /// `--break-glass` for a rule without `break_glass`.
    NoBreakGlass,
    /// A break-glass grant over `break_glass.max`.
    BreakGlassTooLong(Duration),
    /// No grantable rule of the caller's gives this group, these
    /// capabilities or this shell; what they do give.
    NotOffered {
        /// What was asked for.
        asked: String,
        /// What the caller may ask for of that kind (may be empty).
        offered: Vec<String>,
    },
}

impl std::fmt::Display for RequestRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestRefusal::NoSuchRule(id) => {
                write!(f, "no grantable rule `{id}` lets you request it")
            }
            RequestRefusal::WrongKind(kind) => write!(
                f,
                "the rule grants {}; request it with {}",
                match kind {
                    GrantKind::Rule => "the whole rule",
                    GrantKind::Command => "single commands",
                    GrantKind::Group => "a group",
                    GrantKind::Caps => "capabilities",
                    GrantKind::Shell => "a shell",
                },
                kind.option()
            ),
            RequestRefusal::NotOffered { asked, offered } if offered.is_empty() => {
                write!(f, "no grantable rule lets you request {asked}")
            }
            RequestRefusal::NotOffered { asked, offered } => write!(
                f,
                "no grantable rule lets you request {asked}; you may request: {}",
                offered.join(", ")
            ),
            RequestRefusal::TooLong(max) => write!(
                f,
                "the duration asked for is over the rule's maximum of {}",
                humantime_secs(*max)
            ),
            RequestRefusal::TooManyUses(max) => {
                write!(f, "the rule allows at most {max} uses per grant")
            }
            RequestRefusal::ReasonRequired => f.write_str("the rule requires a reason (--reason)"),
            RequestRefusal::TicketRequired(pattern) => {
                write!(
                    f,
                    "the rule requires a ticket matching `{pattern}` (--ticket)"
                )
            }
            RequestRefusal::WrongStart(start) => write!(
                f,
                "the rule's grants start {}; use --start {}",
                start.name(),
                start.name()
            ),
            RequestRefusal::StartInPast => {
                f.write_str("the start time has passed; give a time to come (--start at:TIME)")
            }
            RequestRefusal::NoBreakGlass => f.write_str(
                "the rule has no break-glass; request it for approval (leave out --break-glass)",
            ),
            RequestRefusal::BreakGlassTooLong(max) => write!(
                f,
                "the duration asked for is over the rule's break-glass maximum of {}",
                humantime_secs(*max)
            ),
            RequestRefusal::StartTooFar(cap) => write!(
                f,
                "the start time is more than {} ahead, the rule's cap \
                 (start_within); ask again closer to it",
                humantime_secs(*cap)
            ),
        }
    }
}

/// A duration in seconds, as `90s` (exact and unambiguous).
fn humantime_secs(duration: Duration) -> String {
    format!("{}s", duration.as_secs())
}

/// What a request asks, to be checked against a grantable rule.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The kind requested.
    pub kind: GrantKind,
    /// The duration asked for; `None`: the rule's default.
    pub duration: Option<Duration>,
    /// Uses asked for; `None`: the rule's `max_uses`.
    pub uses: Option<u32>,
    /// The reason given.
    pub reason: Option<&'a str>,
    /// The ticket given.
    pub ticket: Option<&'a str>,
    /// The clock asked for; `None`: the rule's.
    pub start: Option<Start>,
    /// `--break-glass`: approved by the requester, at once.
    pub break_glass: bool,
}

/// The terms of an accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// How long the grant lasts once started.
    pub duration: Duration,
    /// Uses allowed; `None`: any number.
    pub uses: Option<u32>,
    /// When its clock starts.
    pub start: Start,
}

impl Grantable {
    /// Checks a request against the rule's caps; the terms it gets.
    pub fn check(&self, asked: &Asked<'_>) -> Result<Terms, RequestRefusal> {
        if asked.kind != self.kind {
            return Err(RequestRefusal::WrongKind(self.kind));
        }
        let max = self.effective_max();
        if asked.break_glass {
            return self.check_break_glass(asked);
        }
        let duration = asked.duration.unwrap_or(self.default.min(max));
        if duration > max || duration.is_zero() {
            return Err(RequestRefusal::TooLong(max));
        }
        if let (Some(asked), Some(max)) = (asked.uses, self.max_uses) {
            if asked > max {
                return Err(RequestRefusal::TooManyUses(max));
            }
        }
        let needs_reason = self.reason_required || self.approval == Approval::Auto;
        if needs_reason && asked.reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(RequestRefusal::ReasonRequired);
        }
        if let Some(pattern) = &self.ticket {
            if !asked
                .ticket
                .is_some_and(|t| pattern.matches(t.as_bytes(), false))
            {
                return Err(RequestRefusal::TicketRequired(pattern.to_string()));
            }
        }
        let start = asked.start.unwrap_or(self.start);
        if start != self.start {
            return Err(RequestRefusal::WrongStart(self.start));
        }
        Ok(Terms {
            duration,
            uses: asked.uses.or(self.max_uses),
            start,
        })
    }

    /// A break-glass request: within `break_glass.max`, with a reason,
    /// starting at once (whatever the rule's clock).
    fn check_break_glass(&self, asked: &Asked<'_>) -> Result<Terms, RequestRefusal> {
        let glass = self.break_glass.ok_or(RequestRefusal::NoBreakGlass)?;
        let duration = asked.duration.unwrap_or(self.default.min(glass.max));
        if duration > glass.max || duration.is_zero() {
            return Err(RequestRefusal::BreakGlassTooLong(glass.max));
        }
        if asked.reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(RequestRefusal::ReasonRequired);
        }
        if asked.start.is_some_and(|s| s != Start::OnApproval) {
            return Err(RequestRefusal::WrongStart(Start::OnApproval));
        }
        let plain = Asked {
            break_glass: false,
            duration: Some(duration.min(self.effective_max())),
            start: Some(self.start),
            ..*asked
        };
        let terms = self.check(&plain)?;
        Ok(Terms {
            start: Start::OnApproval,
            ..terms
        })
    }

    /// The rule's clockwork, its own values over `defaults`.
    pub fn timing(&self, defaults: &Timing) -> Timing {
        Timing {
            warn: self.warn.unwrap_or(defaults.warn),
            grace: self.grace.unwrap_or(defaults.grace),
            start_within: self.start_within.unwrap_or(defaults.start_within),
        }
    }

    /// Checks a `--start at:` time `start` (seconds since the epoch) at
    /// `now`: not past, and within `start_within`.
    pub fn check_start_at(
        &self,
        start: i64,
        now: i64,
        defaults: &Timing,
    ) -> Result<(), RequestRefusal> {
        let cap = self.timing(defaults).start_within;
        let ahead = i64::try_from(cap.as_secs()).unwrap_or(i64::MAX);
        if start < now {
            return Err(RequestRefusal::StartInPast);
        }
        if start - now > ahead {
            return Err(RequestRefusal::StartTooFar(cap));
        }
        Ok(())
    }

    /// The longest a holder may make their own grant last without a new
    /// approval: the `self_extend` cap, or for an auto-approved rule its
    /// maximum; `None` if an approver must extend it.
    pub fn self_extension_cap(&self) -> Option<Duration> {
        match (self.self_extend, &self.approval) {
            (Some(cap), _) => Some(cap.min(self.effective_max())),
            (None, Approval::Auto) => Some(self.effective_max()),
            (None, Approval::Approvers { .. }) => None,
        }
    }

    /// `max`, capped at [`AUTO_HARD_MAX`] for auto-approved grants.
    pub fn effective_max(&self) -> Duration {
        match self.approval {
            Approval::Auto => self.max.min(AUTO_HARD_MAX),
            Approval::Approvers { .. } => self.max,
        }
    }
}

impl Policy {
    /// The grantable rule `id`, if it names `caller` (who may request it).
    pub fn grantable(&self, id: &str, caller: &Caller<'_>) -> Option<(&Rule, &Grantable)> {
        self.rule(id)
            .filter(|rule| rule.who.iter().any(|who| who.matches(caller)))
            .and_then(|rule| rule.grant.as_deref().map(|grant| (rule, grant)))
    }

    /// The grantable rule by id, whoever asks (for approvers and the daemon).
    pub fn grantable_rule(&self, id: &str) -> Option<(&Rule, &Grantable)> {
        self.rule(id)
            .and_then(|rule| rule.grant.as_deref().map(|grant| (rule, grant)))
    }
}

#[cfg(test)]
mod tests;
