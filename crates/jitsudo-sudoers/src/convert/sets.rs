//! Command sets: each `Cmnd_Alias` whose commands all convert becomes a
//! `[command_sets]` entry, used as `"@NAME"`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::super::ast::AliasKind;
use super::super::emit::{comment_safe, CommandOut};
use super::super::Kind;
use super::command::convert_command;
use super::{unique, Converter, Note};

/// A `Cmnd_Alias` converted into a command set.
pub(super) struct SetDefn {
    /// The index of the statement defining it.
    pub(super) index: usize,
    /// Its commands.
    pub(super) commands: Vec<CommandOut>,
    /// Whether an argument of one of them has a wildcard.
    pub(super) wildcard_args: bool,
}

impl Converter<'_> {
    /// Turns each `Cmnd_Alias` whose commands all convert (none negated,
    /// none `ALL`, nothing dropped) into a command set.
    pub(super) fn collect_sets(&mut self) {
        let mut names: Vec<&String> = self
            .aliases
            .keys()
            .filter(|(kind, _)| *kind == AliasKind::Cmnd)
            .map(|(_, name)| name)
            .collect();
        names.sort();
        let mut sets = BTreeMap::new();
        let mut all_notes = Vec::new();
        for name in names {
            if let Some((set, notes)) = self.command_set(name) {
                all_notes.push((set.index, notes));
                sets.insert(name.clone(), set);
            }
        }
        self.sets = sets;
        let mut sets_toml = String::new();
        self.sets_section(&mut sets_toml);
        self.sets_toml = sets_toml;
        for (index, notes) in all_notes {
            for (kind, construct, reason) in notes {
                self.note(index, kind, &construct, reason);
            }
        }
    }

    /// The command set of `Cmnd_Alias name` and the notes about its
    /// commands, or `None` when one of them does not convert.
    fn command_set(&self, name: &str) -> Option<(SetDefn, Vec<Note>)> {
        let def = &self.aliases[&(AliasKind::Cmnd, name.to_owned())];
        let mut flats = Vec::new();
        let mut stack = vec![name.to_owned()];
        self.expand_into(
            AliasKind::Cmnd,
            def.members,
            false,
            None,
            false,
            &mut stack,
            &mut flats,
        );
        let mut commands = Vec::new();
        let mut notes = Vec::new();
        let mut ok = true;
        for flat in &flats {
            let (converted, flat_notes) = convert_command(flat);
            ok &= !flat.negated
                && flat_notes.iter().all(|(kind, _, _)| *kind != Kind::Dropped)
                && converted
                    .as_ref()
                    .is_some_and(|c| !c.contains(&CommandOut::All));
            commands.extend(converted.into_iter().flatten());
            notes.extend(flat_notes);
        }
        if !ok || commands.is_empty() {
            return None;
        }
        let commands = unique(commands);
        let wildcard_args = commands.iter().any(|command| match command {
            CommandOut::Program {
                args: Some(args), ..
            } => args.iter().any(|arg| arg.contains(['*', '?', '[', '\\'])),
            _ => false,
        });
        let set = SetDefn {
            index: def.index,
            commands,
            wildcard_args,
        };
        Some((set, notes))
    }

    /// Writes the `[command_sets]` table, each set after a comment naming
    /// the alias it comes from.
    fn sets_section(&self, out: &mut String) {
        if self.sets.is_empty() {
            return;
        }
        out.push_str("\n[command_sets]\n");
        for (name, set) in &self.sets {
            let located = &self.statements[set.index];
            let _ = writeln!(
                out,
                "# Cmnd_Alias {name}, {}:{}",
                comment_safe(&located.file),
                located.stmt.line
            );
            let commands: Vec<String> = set.commands.iter().map(CommandOut::to_toml).collect();
            let line = format!("{name} = [{}]", commands.join(", "));
            if line.len() <= 100 {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "{name} = [");
                for command in commands {
                    let _ = writeln!(out, "    {command},");
                }
                out.push_str("]\n");
            }
        }
    }
}
