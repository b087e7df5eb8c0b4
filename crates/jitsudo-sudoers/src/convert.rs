//! From parsed sudoers statements to policy text and the list of what was
//! not converted faithfully.
//!
//! Aliases and `Defaults` apply to the whole sudoers tree whatever their
//! position (as in sudo), so they are collected first; user specifications
//! are then converted in file order, each into zero or more rules.

mod defaults;
mod period;
mod spec;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::ast::{AliasKind, Item, Member, Stmt, StmtKind};
use super::emit::{comment_safe, CommandOut, RuleOut};
use super::{Included, Kind, Located, Unconverted};
use jitsudo_policy::{parse as parse_policy, Source};

use defaults::DefaultsState;

/// Converts the statements of every file into the policy text and notes.
pub(crate) fn convert(statements: &[Located], files: &[String]) -> (String, Vec<Unconverted>) {
    let mut converter = Converter::new(statements);
    converter.collect_aliases();
    converter.collect_sets();
    converter.collect_defaults();
    let mut body = String::new();
    for index in 0..statements.len() {
        converter.statement(index, &mut body);
    }
    let mut toml = header(files);
    converter.defaults_section(&mut toml);
    toml.push_str(&converter.sets_toml);
    toml.push_str(&body);
    converter.check_whole(&toml);
    let notes = converter.notes.into_iter().flatten().collect();
    (toml, notes)
}

/// The comment at the top of the policy.
fn header(files: &[String]) -> String {
    let mut out = String::from(
        "# jitsudo policy converted from sudoers (jitsudoctl policy import-sudoers).\n",
    );
    let _ = writeln!(out, "# Sources: {}", comment_safe(&files.join(", ")));
    out.push_str(
        "# Each rule quotes the sudoers lines it comes from. Review every NOT CONVERTED\n\
         # and APPROXIMATED note before installing this policy.\n",
    );
    out
}

/// An alias definition and where it is.
struct AliasDefn<'a> {
    /// Its members.
    members: &'a [Member],
    /// The index of the statement defining it.
    index: usize,
}

/// A `Cmnd_Alias` converted into a command set.
struct SetDefn {
    /// The index of the statement defining it.
    index: usize,
    /// Its commands.
    commands: Vec<CommandOut>,
    /// Whether an argument of one of them has a wildcard.
    wildcard_args: bool,
}

/// A list entry after alias expansion.
#[derive(Debug, Clone)]
struct Flat {
    /// Negated (an odd number of `!`, counting those of the aliases).
    negated: bool,
    /// What it names.
    item: Item,
    /// How to quote it: as written, with the alias it came from.
    text: String,
    /// For an [`Item::Alias`]: true when it names a command set.
    set: bool,
    /// For an [`Item::Alias`]: true when it was left unexpanded because it
    /// refers to itself (else it is undefined).
    looped: bool,
}

impl Flat {
    /// Why an alias left in a list is not converted: it is undefined or it
    /// refers to itself.
    fn unexpanded(&self, keyword: &str, name: &str) -> String {
        if self.looped {
            format!("{keyword} {name} refers to itself")
        } else {
            format!("{keyword} {name} is not defined")
        }
    }
}

/// Converts statements one by one, with the aliases and defaults of the
/// whole tree.
struct Converter<'a> {
    statements: &'a [Located],
    aliases: HashMap<(AliasKind, String), AliasDefn<'a>>,
    /// The `Cmnd_Alias`es written as command sets, by name.
    sets: BTreeMap<String, SetDefn>,
    defaults: DefaultsState,
    /// Rule ids already given.
    ids: HashSet<String>,
    /// The notes of each statement, by statement index.
    notes: Vec<Vec<Unconverted>>,
    /// Further comment lines for each statement, by statement index.
    comments: Vec<Vec<String>>,
    /// The `[command_sets]` section, once the sets are known.
    sets_toml: String,
}

impl<'a> Converter<'a> {
    /// A converter for these statements.
    fn new(statements: &'a [Located]) -> Self {
        Converter {
            statements,
            aliases: HashMap::new(),
            sets: BTreeMap::new(),
            defaults: DefaultsState::default(),
            ids: HashSet::new(),
            notes: vec![Vec::new(); statements.len()],
            comments: vec![Vec::new(); statements.len()],
            sets_toml: String::new(),
        }
    }

    /// Records a note about statement `index` (once per construct and reason).
    fn note(&mut self, index: usize, kind: Kind, construct: &str, reason: impl Into<String>) {
        let located = &self.statements[index];
        let note = Unconverted {
            file: located.file.clone(),
            line: located.stmt.line,
            construct: construct.to_owned(),
            reason: reason.into(),
            kind,
        };
        if !self.notes[index].contains(&note) {
            self.notes[index].push(note);
        }
    }

    /// Records every alias definition; a second definition of a name is
    /// reported and ignored (sudo refuses such a file).
    fn collect_aliases(&mut self) {
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
    fn expand(&self, kind: AliasKind, members: &[Member]) -> Vec<Flat> {
        let mut out = Vec::new();
        self.expand_into(kind, members, false, None, true, &mut Vec::new(), &mut out);
        out
    }

    /// Expands `members` into `out` (`sets`: stop at command sets);
    /// `stack` holds the aliases being expanded (a loop leaves the alias
    /// unexpanded, reported as undefined).
    #[allow(clippy::too_many_arguments)]
    fn expand_into(
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
            let name = match &member.item {
                Item::Alias(name) => name,
                Item::Command(command) => match &command.kind {
                    super::ast::CommandKind::Alias(name) => name,
                    _ => {
                        out.push(Flat {
                            negated,
                            item: member.item.clone(),
                            text,
                            set: false,
                            looped: false,
                        });
                        continue;
                    }
                },
                _ => {
                    out.push(Flat {
                        negated,
                        item: member.item.clone(),
                        text,
                        set: false,
                        looped: false,
                    });
                    continue;
                }
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

    /// Turns each `Cmnd_Alias` whose commands all convert (none negated,
    /// none `ALL`, nothing dropped) into a command set.
    fn collect_sets(&mut self) {
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
            let def = &self.aliases[&(AliasKind::Cmnd, name.clone())];
            let mut flats = Vec::new();
            let mut stack = vec![name.clone()];
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
                let (converted, flat_notes) = spec::convert_command(flat);
                ok &= !flat.negated
                    && flat_notes.iter().all(|(kind, _, _)| *kind != Kind::Dropped)
                    && converted
                        .as_ref()
                        .is_some_and(|c| !c.contains(&CommandOut::All));
                commands.extend(converted.into_iter().flatten());
                notes.extend(flat_notes);
            }
            if ok && !commands.is_empty() {
                let mut unique = Vec::new();
                for command in commands {
                    if !unique.contains(&command) {
                        unique.push(command);
                    }
                }
                all_notes.push((def.index, notes));
                let wildcard_args = unique.iter().any(|command| match command {
                    CommandOut::Program {
                        args: Some(args), ..
                    } => args.iter().any(|arg| arg.contains(['*', '?', '[', '\\'])),
                    _ => false,
                });
                sets.insert(
                    name.clone(),
                    SetDefn {
                        index: def.index,
                        commands: unique,
                        wildcard_args,
                    },
                );
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

    /// Applies every global `Defaults` line in order, then reports the
    /// bound ones (whose notes depend on the global settings).
    fn collect_defaults(&mut self) {
        for global in [true, false] {
            for index in 0..self.statements.len() {
                let located = &self.statements[index];
                let StmtKind::Defaults { binding, settings } = &located.stmt.kind else {
                    continue;
                };
                if binding.is_none() != global {
                    continue;
                }
                let origin = (located.file.clone(), located.stmt.line);
                for setting in settings {
                    let notes = match binding {
                        None => self.defaults.apply(setting, &origin),
                        Some(binding) => {
                            defaults::bound(binding, setting, self.defaults.requiretty)
                        }
                    };
                    if global && notes.is_empty() {
                        if let Some(comment) = defaults::per_rule(setting) {
                            self.comments[index].push(comment);
                        }
                    }
                    for (kind, construct, reason) in notes {
                        self.note(index, kind, &construct, reason);
                    }
                }
            }
        }
    }

    /// Writes the `[defaults]` table: each `Defaults` line quoted with its
    /// notes, then the resulting keys.
    fn defaults_section(&self, out: &mut String) {
        let lines: Vec<usize> = (0..self.statements.len())
            .filter(|&i| matches!(self.statements[i].stmt.kind, StmtKind::Defaults { .. }))
            .collect();
        if lines.is_empty() {
            return;
        }
        out.push_str("\n[defaults]\n");
        for index in lines {
            self.quote_statement(index, out);
        }
        self.defaults.write_keys(out);
    }

    /// Writes the comment that quotes statement `index` and its notes.
    fn quote_statement(&self, index: usize, out: &mut String) {
        let located = &self.statements[index];
        let stmt: &Stmt = &located.stmt;
        let mut lines = stmt.raw_lines.iter();
        let first = lines.next().map(String::as_str).unwrap_or_default();
        let _ = writeln!(
            out,
            "# {}:{}: {}",
            comment_safe(&located.file),
            stmt.line,
            comment_safe(first.trim_end())
        );
        for line in lines {
            let _ = writeln!(out, "#     {}", comment_safe(line.trim_end()));
        }
        for note in &self.notes[index] {
            let _ = writeln!(
                out,
                "#   {}: {}: {}",
                note.kind.label(),
                comment_safe(&note.construct),
                comment_safe(&note.reason)
            );
        }
        for comment in &self.comments[index] {
            let _ = writeln!(out, "#   ({})", comment_safe(comment));
        }
    }

    /// Converts statement `index` into the body of the policy.
    fn statement(&mut self, index: usize, body: &mut String) {
        let located = &self.statements[index];
        let rules = match &located.stmt.kind {
            StmtKind::Defaults { .. } => return,
            StmtKind::Alias { .. } => Vec::new(),
            StmtKind::Include { .. } => {
                self.include(index);
                Vec::new()
            }
            StmtKind::Error(message) => {
                let reason = format!(
                    "syntax error: {message} (sudo refuses to run with such a file; visudo -c shows it)"
                );
                let construct = located.stmt.text.clone();
                self.note(index, Kind::Dropped, &construct, reason);
                Vec::new()
            }
            StmtKind::UserSpec { users, privileges } => self.user_spec(index, users, privileges),
        };
        let rules = self.validated(index, rules);
        match &located.stmt.kind {
            StmtKind::Alias { kind, defs } => {
                for def in defs {
                    let comment = if *kind == AliasKind::Cmnd && self.sets.contains_key(&def.name) {
                        format!(
                            "{} is the command set @{} under [command_sets]",
                            def.name, def.name
                        )
                    } else {
                        format!("{} is expanded where it is used", def.name)
                    };
                    self.comments[index].push(comment);
                }
            }
            StmtKind::Include { .. } => {
                if let Some(Included::Read { files, .. }) = &located.included {
                    let list = if files.is_empty() {
                        "no file".to_owned()
                    } else {
                        files.join(", ")
                    };
                    self.comments[index].push(format!("reads {list}"));
                }
            }
            _ => {}
        }
        body.push('\n');
        self.quote_statement(index, body);
        for rule in rules {
            body.push_str(&rule.to_toml());
        }
    }

    /// Reports what an include directive could not read.
    fn include(&mut self, index: usize) {
        let located = &self.statements[index];
        let construct = located.stmt.text.clone();
        match located.included.clone() {
            Some(Included::Failed(message)) => {
                let reason = format!("could not be read: {message}");
                self.note(index, Kind::Dropped, &construct, reason);
            }
            Some(Included::Read { skipped, .. }) => {
                for (file, why) in skipped {
                    let reason = format!("{file} is not converted again: {why}");
                    self.note(index, Kind::Dropped, &construct, reason);
                }
            }
            None => {}
        }
    }

    /// Keeps the rules that the policy parser accepts; any other is
    /// reported (a safety net: the converter should not produce one).
    fn validated(&mut self, index: usize, rules: Vec<RuleOut>) -> Vec<RuleOut> {
        let mut kept = Vec::new();
        for rule in rules {
            let mut text = self.sets_toml.clone();
            text.push_str(&rule.to_toml());
            let source = Source {
                name: "converted rule".to_owned(),
                text,
            };
            match parse_policy(&[source]) {
                Ok(_) => kept.push(rule),
                Err(errors) => {
                    let messages: Vec<String> =
                        errors.into_iter().map(|error| error.message).collect();
                    let construct = self.statements[index].stmt.text.clone();
                    let reason = format!(
                        "the converted rule {} is not valid: {}",
                        rule.id,
                        messages.join("; ")
                    );
                    self.note(index, Kind::Dropped, &construct, reason);
                }
            }
        }
        kept
    }

    /// Reports any error of the whole policy (a safety net, like
    /// [`Converter::validated`]).
    fn check_whole(&mut self, toml: &str) {
        let source = Source {
            name: "converted policy".to_owned(),
            text: toml.to_owned(),
        };
        if let Err(errors) = parse_policy(&[source]) {
            self.notes.push(
                errors
                    .into_iter()
                    .map(|error| Unconverted {
                        file: error.file.clone(),
                        line: error.line,
                        construct: "(the converted policy)".to_owned(),
                        reason: format!("the converted policy is not valid: {error}"),
                        kind: Kind::Dropped,
                    })
                    .collect(),
            );
        }
    }

    /// A new rule id for the statement at `line` of `file`: the file's base
    /// name, `-L` and the line, then `-2`, `-3`… for further rules.
    fn rule_id(&mut self, file: &str, line: usize) -> String {
        let base = file.rsplit('/').next().unwrap_or(file);
        let mut stem: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if stem.is_empty() {
            stem = "sudoers".to_owned();
        }
        let first = format!("{stem}-L{line}");
        let mut id = first.clone();
        let mut n = 1;
        while self.ids.contains(&id) {
            n += 1;
            id = format!("{first}-{n}");
        }
        self.ids.insert(id.clone());
        id
    }
}
