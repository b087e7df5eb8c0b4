//! From parsed sudoers statements to policy text and the list of what was
//! not converted faithfully.
//!
//! Aliases and `Defaults` apply to the whole sudoers tree whatever their
//! position (as in sudo), so they are collected first; user specifications
//! are then converted in file order, each into zero or more rules.

mod aliases;
mod check;
mod command;
mod conditions;
mod defaults;
mod duration;
mod period;
mod principals;
mod sets;
mod spec;
mod tags;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use super::ast::{AliasKind, Stmt, StmtKind};
use super::emit::comment_safe;
use super::{Included, Kind, Located, Unconverted};

use aliases::AliasDefn;
use defaults::DefaultsState;
use sets::SetDefn;

/// A note made while converting: kind, construct, reason.
type Note = (Kind, String, String);

/// `items` in order, each only once.
fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

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
