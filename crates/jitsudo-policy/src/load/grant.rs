//! Validation of a rule's `grant` table.

use toml::Spanned;

use super::rule::parse_timeout;
use super::Checker;
use crate::glob::Glob;
use crate::grant::{
    Approval, BreakGlass, Capability, GrantKind, Grantable, Start, BREAK_GLASS_HARD_MAX,
    DEFAULT_APPROVAL_DEADLINE, FOLLOW_UP_BOUNDS, GRACE_BOUNDS, START_WITHIN_BOUNDS, WARN_BOUNDS,
};
use crate::model::Effect;
use crate::principal::{IdPattern, WhoPattern};
use crate::schema::{RawBreakGlass, RawGrant};

/// The most approvals a quorum may ask for.
const MAX_QUORUM: i64 = 16;

/// The most uses a grant may allow (beyond that: leave `max_uses` out).
const MAX_USES: i64 = 1_000_000;

/// Builds the `grant` table of a rule with this `effect`, recording every
/// problem; `None` if it is invalid.
pub(super) fn build(
    raw: &Spanned<RawGrant>,
    effect: Effect,
    check: &mut Checker<'_>,
) -> Option<Grantable> {
    let errors_before = check.errors.len();
    if effect == Effect::Deny {
        check.report(
            raw.span(),
            "a deny rule cannot be grantable: remove its `grant` table",
        );
    }
    let body = raw.get_ref();
    let kind = body
        .kind
        .as_ref()
        .and_then(|k| check.check(k, GrantKind::parse))
        .unwrap_or(GrantKind::Rule);
    let max = check.check(&body.max, parse_timeout);
    let default = body
        .default
        .as_ref()
        .and_then(|d| check.check(d, parse_timeout));
    if let (Some(max), Some(default), Some(span)) =
        (max, default, body.default.as_ref().map(Spanned::span))
    {
        if default > max {
            check.report(span, "`default` must not be longer than `max`");
        }
    }
    let start = body
        .start
        .as_ref()
        .and_then(|s| check.check(s, Start::parse))
        .unwrap_or(Start::OnApproval);
    let max_uses = body
        .max_uses
        .as_ref()
        .and_then(|u| check.check(u, |n: &i64| bounded(*n, MAX_USES, "max_uses")));
    let ticket = body
        .ticket
        .as_ref()
        .and_then(|t| check.check(t, |p: &str| Glob::new(p)));
    let approval = approval(raw, check);
    let bounded_duration =
        |value: &Option<Spanned<String>>, key, bounds, check: &mut Checker<'_>| {
            value
                .as_ref()
                .and_then(|v| check.check(v, |t: &str| within(t, key, bounds)))
        };
    let warn = bounded_duration(&body.warn, "warn", WARN_BOUNDS, check);
    let grace = bounded_duration(&body.grace, "grace", GRACE_BOUNDS, check);
    let start_within = bounded_duration(
        &body.start_within,
        "start_within",
        START_WITHIN_BOUNDS,
        check,
    );
    let self_extend = body
        .self_extend
        .as_ref()
        .and_then(|s| check.check(s, parse_timeout));
    if let (Some(max), Some(cap), Some(span)) = (
        max,
        self_extend,
        body.self_extend.as_ref().map(Spanned::span),
    ) {
        if cap > max {
            check.report(span, "`self_extend` must not be longer than `max`");
        }
    }
    let break_glass = body
        .break_glass
        .as_ref()
        .and_then(|b| break_glass(b, max, &body.approvers, check));
    let groups = list(raw, &body.groups, kind, GrantKind::Group, check, group);
    let caps = list(
        raw,
        &body.caps,
        kind,
        GrantKind::Caps,
        check,
        Capability::parse,
    );
    let max = max?;
    if check.errors.len() > errors_before {
        return None;
    }
    Some(Grantable {
        kind,
        max,
        default: default.unwrap_or(max),
        start,
        max_uses,
        reason_required: body.reason.unwrap_or(false),
        ticket,
        approval: approval?,
        warn,
        grace,
        start_within,
        self_extend,
        break_glass,
        groups,
        caps,
    })
}

/// `break_glass = { max, follow_up }`: a short grant (at most the rule's
/// `max` and [`BREAK_GLASS_HARD_MAX`]) that approvers clear afterwards, so
/// the rule must have approvers.
fn break_glass(
    raw: &Spanned<RawBreakGlass>,
    rule_max: Option<std::time::Duration>,
    approvers: &Option<Spanned<Vec<Spanned<String>>>>,
    check: &mut Checker<'_>,
) -> Option<BreakGlass> {
    let body = raw.get_ref();
    if approvers.is_none() {
        check.report(
            raw.span(),
            "`break_glass` needs `approvers`: they clear a break-glass grant afterwards",
        );
    }
    let cap = rule_max.map_or(BREAK_GLASS_HARD_MAX, |m| m.min(BREAK_GLASS_HARD_MAX));
    let max = check.check(&body.max, |t: &str| {
        within(
            t,
            "break_glass.max",
            (std::time::Duration::from_secs(1), cap),
        )
    });
    let follow_up = check.check(&body.follow_up, |t: &str| {
        within(t, "break_glass.follow_up", FOLLOW_UP_BOUNDS)
    });
    Some(BreakGlass {
        max: max?,
        follow_up: follow_up?,
    })
}

/// The kind of the grant table of a rule, if it is valid (to tell whether
/// the rule must list `commands`).
pub(super) fn kind_of(raw: &Spanned<RawGrant>) -> Option<GrantKind> {
    raw.get_ref()
        .kind
        .as_ref()
        .map_or(Ok(GrantKind::Rule), |k| GrantKind::parse(k.get_ref()))
        .ok()
}

/// `groups` (kind `group`) or `caps` (kind `caps`): required, non-empty and
/// valid for that kind, refused with any other.
fn list<T>(
    raw: &Spanned<RawGrant>,
    value: &Option<Spanned<Vec<Spanned<String>>>>,
    kind: GrantKind,
    wanted: GrantKind,
    check: &mut Checker<'_>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let key = match wanted {
        GrantKind::Caps => "caps",
        _ => "groups",
    };
    match value {
        Some(entries) if kind != wanted => {
            check.report(
                entries.span(),
                format!(
                    "`{key}` belongs to a grant of kind \"{}\" (this one is \"{}\")",
                    wanted.name(),
                    kind.name()
                ),
            );
            Vec::new()
        }
        Some(entries) if entries.get_ref().is_empty() => {
            check.report(entries.span(), format!("`{key}` must list at least one"));
            Vec::new()
        }
        Some(entries) => check.check_all(entries.get_ref(), parse),
        None if kind == wanted => {
            check.report(
                raw.span(),
                format!("a grant of kind \"{}\" needs `{key}`", wanted.name()),
            );
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// A group of a group grant: a name or `#gid` (not `ALL`: list the groups).
fn group(text: &str) -> Result<IdPattern, String> {
    match IdPattern::parse_group(text)? {
        IdPattern::All => Err("a group grant lists its groups: `ALL` is not allowed".to_owned()),
        pattern => Ok(pattern),
    }
}

/// `approval = "auto"`, or `approvers` with `quorum` and `deadline`.
fn approval(raw: &Spanned<RawGrant>, check: &mut Checker<'_>) -> Option<Approval> {
    let body = raw.get_ref();
    let auto = match &body.approval {
        None => false,
        Some(value) if value.get_ref() == "auto" => true,
        Some(value) => {
            check.report(
                value.span(),
                "`approval` must be \"auto\" (or leave it out and list `approvers`)",
            );
            return None;
        }
    };
    match (&body.approvers, auto) {
        (Some(list), true) => {
            check.report(
                list.span(),
                "`approvers` and `approval = \"auto\"` exclude each other",
            );
            None
        }
        (None, true) => Some(Approval::Auto),
        (None, false) => {
            check.report(
                raw.span(),
                "a grant needs `approvers` (users or %groups) or `approval = \"auto\"`",
            );
            None
        }
        (Some(list), false) => {
            let approvers = check.check_all(list.get_ref(), WhoPattern::parse);
            if list.get_ref().is_empty() {
                check.report(
                    list.span(),
                    "`approvers` must name at least one user or %group",
                );
            }
            let quorum = body
                .quorum
                .as_ref()
                .and_then(|q| check.check(q, |n: &i64| bounded(*n, MAX_QUORUM, "quorum")))
                .unwrap_or(1);
            let deadline = body
                .deadline
                .as_ref()
                .and_then(|d| check.check(d, parse_timeout))
                .unwrap_or(DEFAULT_APPROVAL_DEADLINE);
            Some(Approval::Approvers {
                approvers,
                quorum,
                deadline,
            })
        }
    }
}

/// A count from 1 to `max`.
fn bounded(n: i64, max: i64, key: &str) -> Result<u32, String> {
    if (1..=max).contains(&n) {
        u32::try_from(n).map_err(|_| format!("`{key}` must be from 1 to {max}"))
    } else {
        Err(format!("`{key}` must be from 1 to {max}"))
    }
}

/// A duration within `bounds` (inclusive), for the key `key`.
pub(super) fn within(
    text: &str,
    key: &str,
    (low, high): (std::time::Duration, std::time::Duration),
) -> Result<std::time::Duration, String> {
    let duration = parse_timeout(text)?;
    if (low..=high).contains(&duration) {
        Ok(duration)
    } else {
        Err(format!(
            "`{key}` must be from {}s to {}s",
            low.as_secs(),
            high.as_secs()
        ))
    }
}
