//! Aliases: every definition collected (a second one of a name reported),
//! and lists expanded through them, negations carried along.

use std::collections::HashMap;

use super::super::ast::{AliasKind, Command, CommandKind, Item, Member, StmtKind};
use super::super::Kind;
use super::Converter;

/// An alias definition and where it is.
pub(super) struct AliasDefn<'a> {
    /// Its members.
    pub(super) members: &'a [Member],
    /// The index of the statement defining it.
    pub(super) index: usize,
}

/// A list entry after alias expansion.
#[derive(Debug, Clone)]
pub(super) struct Flat {
    /// Negated (an odd number of `!`, counting those of the aliases).
    pub(super) negated: bool,
    /// What it names.
    pub(super) item: Item,
    /// How to quote it: as written, with the alias it came from.
    pub(super) text: String,
    /// For an [`Item::Alias`]: true when it names a command set.
    pub(super) set: bool,
    /// For an [`Item::Alias`]: true when it was left unexpanded because it
    /// refers to itself (else it is undefined).
    pub(super) looped: bool,
}

impl Flat {
    /// Why an alias left in a list is not converted: it is undefined or it
    /// refers to itself.
    pub(super) fn unexpanded(&self, keyword: &str, name: &str) -> String {
        if self.looped {
            format!("{keyword} {name} refers to itself")
        } else {
            format!("{keyword} {name} is not defined")
        }
    }
}

/// The alias an entry names, if it names one.
fn alias_name(item: &Item) -> Option<&String> {
    match item {
        Item::Alias(name)
        | Item::Command(Command {
            kind: CommandKind::Alias(name),
            ..
        }) => Some(name),
        _ => None,
    }
}

impl Converter<'_> {
    /// Records every alias definition; a second definition of a name is
    /// reported and ignored (sudo refuses such a file).
    pub(super) fn collect_aliases(&mut self) {
        let mut first: HashMap<(AliasKind, String), (String, usize)> = HashMap::new();
        for (index, located) in self.statements.iter().enumerate() {
            let StmtKind::Alias { kind, defs } = &located.stmt.kind else {
                continue;
            };
            for def in defs {
                let key = (*kind, def.name.clone());
                if let Some((file, line)) = first.get(&key) {
                    let reason = format!(
                        "{} {} is already defined at {file}:{line}; sudo refuses a file that defines it twice, this definition is ignored",
                        kind.keyword(),
                        def.name
                    );
                    let construct = format!("{} {}", kind.keyword(), def.name);
                    self.note(index, Kind::Dropped, &construct, reason);
                    continue;
                }
                first.insert(key.clone(), (located.file.clone(), located.stmt.line));
                self.aliases.insert(
                    key,
                    AliasDefn {
                        members: &def.members,
                        index,
                    },
                );
            }
        }
    }

    /// Expands the aliases of `members`, carrying negations through; a
    /// `Cmnd_Alias` that is a command set stays a reference to it.
    pub(super) fn expand(&self, kind: AliasKind, members: &[Member]) -> Vec<Flat> {
        let mut out = Vec::new();
        self.expand_into(kind, members, false, None, true, &mut Vec::new(), &mut out);
        out
    }

    /// Expands `members` into `out` (`sets`: stop at command sets);
    /// `stack` holds the aliases being expanded (a loop leaves the alias
    /// unexpanded, reported as undefined).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expand_into(
        &self,
        kind: AliasKind,
        members: &[Member],
        negated: bool,
        via: Option<&str>,
        sets: bool,
        stack: &mut Vec<String>,
        out: &mut Vec<Flat>,
    ) {
        for member in members {
            let negated = negated ^ member.negated;
            let text = match via {
                Some(alias) => format!("{} (in {alias})", member.text),
                None => member.text.clone(),
            };
            let Some(name) = alias_name(&member.item) else {
                out.push(Flat {
                    negated,
                    item: member.item.clone(),
                    text,
                    set: false,
                    looped: false,
                });
                continue;
            };
            // A set with wildcard arguments is expanded where it is negated,
            // so that each of its denials can be widened (see spec.rs).
            let set = sets
                && kind == AliasKind::Cmnd
                && self
                    .sets
                    .get(name)
                    .is_some_and(|set| !negated || !set.wildcard_args);
            match self.aliases.get(&(kind, name.clone())) {
                Some(def) if !set && !stack.contains(name) => {
                    stack.push(name.clone());
                    self.expand_into(kind, def.members, negated, Some(name), sets, stack, out);
                    stack.pop();
                }
                _ => out.push(Flat {
                    negated,
                    item: Item::Alias(name.clone()),
                    looped: !set && stack.contains(name),
                    text,
                    set,
                }),
            }
        }
    }
}
