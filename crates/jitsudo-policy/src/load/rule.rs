//! Validation of one `[[rule]]` table.

use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::Checker;
use crate::command::CommandPattern;
use crate::model::{Cwd, Rule};
use crate::principal::{IdPattern, WhoPattern};
use crate::schema::RawRule;

/// Builds the rule at 1-based `position` in the policy, recording every
/// problem; also returns the span to blame if its id turns out to be a duplicate.
pub(super) fn build(
    raw: &Spanned<RawRule>,
    position: usize,
    check: &mut Checker<'_>,
) -> (Rule, Range<usize>) {
    let span = raw.span();
    let body = raw.get_ref();
    let (id, id_span) = match &body.id {
        Some(id) => (
            check
                .check(id, rule_id)
                .unwrap_or_else(|| id.get_ref().clone()),
            id.span(),
        ),
        None => (format!("rule-{position}"), span.clone()),
    };
    let built = Rule {
        id,
        file: check.map.name().to_owned(),
        line: check.map.position(span.start).0,
        who: who(body, check),
        run_as: run_as(body, check),
        run_as_groups: body
            .run_as_groups
            .as_ref()
            .map(|groups| check.check_all(groups, IdPattern::parse_group))
            .unwrap_or_default(),
        commands: commands(body, check),
        auth: body.auth,
        setenv: body.setenv,
        cwd: body
            .cwd
            .as_ref()
            .and_then(|cwd| check.check(cwd, parse_cwd)),
    };
    (built, id_span)
}

/// The `who` list, which must not be empty.
fn who(body: &RawRule, check: &mut Checker<'_>) -> Vec<WhoPattern> {
    if body.who.get_ref().is_empty() {
        check.report(
            body.who.span(),
            "`who` must name at least one user or %group",
        );
    }
    check.check_all(body.who.get_ref(), WhoPattern::parse)
}

/// The `run_as` list, `["root"]` when absent.
fn run_as(body: &RawRule, check: &mut Checker<'_>) -> Vec<IdPattern> {
    match &body.run_as {
        Some(users) => check.check_all(users, IdPattern::parse_user),
        None => vec![IdPattern::Name("root".to_owned())],
    }
}

/// The `commands` list, which must not be empty.
fn commands(body: &RawRule, check: &mut Checker<'_>) -> Vec<CommandPattern> {
    if body.commands.get_ref().is_empty() {
        check.report(
            body.commands.span(),
            "`commands` must list at least one command (or \"ALL\")",
        );
    }
    check.check_all(body.commands.get_ref(), CommandPattern::parse)
}

/// An explicit rule id: non-empty, printable, no spaces (it goes into logs).
fn rule_id(id: &str) -> Result<String, String> {
    if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "rule id `{id}` must be non-empty and contain no spaces or control characters"
        ));
    }
    Ok(id.to_owned())
}

/// The `cwd` option: `"*"` or an absolute directory.
fn parse_cwd(cwd: &str) -> Result<Cwd, String> {
    match cwd {
        "*" => Ok(Cwd::Any),
        dir if dir.starts_with('/') && !dir.contains('\0') => Ok(Cwd::Exact(PathBuf::from(dir))),
        _ => Err(format!(
            "cwd `{cwd}` must be \"*\" (any directory) or an absolute directory"
        )),
    }
}
