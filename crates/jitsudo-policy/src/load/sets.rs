//! Named command sets: `[command_sets]` defines them, a rule's `commands`
//! refers to one as `"@name"`.

use std::collections::{BTreeMap, HashMap};

use toml::Spanned;

use super::Checker;
use crate::command::CommandPattern;
use crate::schema::RawCommand;
use crate::suggest;

/// A defined set: its commands and where it was defined (`file:line:column`).
#[derive(Debug, Clone)]
pub(super) struct CommandSet {
    commands: Vec<CommandPattern>,
    site: String,
}

/// Every set of the policy, by name.
pub(super) type CommandSets = HashMap<String, CommandSet>;

/// Adds the sets of one source, reporting bad names, duplicates, empty sets,
/// invalid commands and references to other sets.
pub(super) fn define(
    raw: &BTreeMap<String, Spanned<Vec<Spanned<RawCommand>>>>,
    sets: &mut CommandSets,
    check: &mut Checker<'_>,
) {
    for (name, entries) in raw {
        let (line, column) = check.map.position(entries.span().start);
        let site = format!("{}:{line}:{column}", check.map.name());
        if let Err(message) = set_name(name) {
            check.report(entries.span(), message);
            continue;
        }
        if let Some(first) = sets.get(name) {
            check.report(
                entries.span(),
                format!("command set `{name}` is already defined at {}", first.site),
            );
            continue;
        }
        if entries.get_ref().is_empty() {
            check.report(
                entries.span(),
                format!("command set `{name}` must list at least one command"),
            );
        }
        let commands = check.check_all(entries.get_ref(), |entry: &RawCommand| {
            if let Some(inner) = reference(entry) {
                return Err(format!(
                    "a command set cannot include another set (`@{inner}`): list its commands"
                ));
            }
            CommandPattern::parse(entry)
        });
        sets.insert(name.clone(), CommandSet { commands, site });
    }
}

/// The set name a `"@name"` entry refers to.
pub(super) fn reference(entry: &RawCommand) -> Option<&str> {
    match entry {
        RawCommand::Line(line) => line.trim().strip_prefix('@'),
        RawCommand::Table(_) => None,
    }
}

/// The commands of set `name` (none if there is no such set).
pub(super) fn len(name: &str, sets: &CommandSets) -> usize {
    sets.get(name).map_or(0, |set| set.commands.len())
}

/// The commands the reference to set `name` stands for, or why there are none.
pub(super) fn expand<'s>(
    name: &str,
    sets: &'s CommandSets,
) -> Result<&'s [CommandPattern], String> {
    if let Some(set) = sets.get(name) {
        return Ok(&set.commands);
    }
    let hint = suggest::closest(name, sets.keys().map(String::as_str))
        .map(|known| format!("; did you mean `@{known}`?"))
        .unwrap_or_default();
    Err(format!(
        "unknown command set `@{name}` (define it under [command_sets]){hint}"
    ))
}

/// A set name: letters, digits, `_`, `-` and `.`.
fn set_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "command set name `{name}` may only contain letters, digits, `_`, `-` and `.`"
        ))
    }
}
