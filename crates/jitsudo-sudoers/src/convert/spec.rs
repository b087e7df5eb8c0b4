//! User specifications: each `hosts = specs` part of a line into rules,
//! commands that share run-as list, tags and options grouped into one
//! rule, and denials that a later entry of the line overrides dropped.

use std::collections::BTreeMap;

use super::super::ast::{AliasKind, CmndSpec, Member, Privilege, Runas};
use super::super::emit::{CommandOut, RuleOut, WhenOut};
use super::super::Kind;
use super::aliases::Flat;
use super::command::convert_command;
use super::sets::SetDefn;
use super::tags::{Options, SetenvTag, Tags};
use super::Converter;

/// One converted command entry, before entries are grouped into rules.
#[derive(Debug, Clone)]
struct Entry {
    /// The rule it belongs in, without id and commands.
    template: RuleOut,
    /// The command.
    command: CommandOut,
}

/// Whether the allow entry `later` matches everything `earlier` does
/// (command sets looked up in `sets`).
fn covers(later: &CommandOut, earlier: &CommandOut, sets: &BTreeMap<String, SetDefn>) -> bool {
    let contents = |name: &String| sets.get(name).map(|set| set.commands.as_slice());
    match (later, earlier) {
        (CommandOut::All, _) => true,
        (CommandOut::Set(a), CommandOut::Set(b)) if a == b => true,
        (_, CommandOut::Set(name)) => {
            contents(name).is_some_and(|commands| commands.iter().all(|c| covers(later, c, sets)))
        }
        (CommandOut::Set(name), _) => {
            contents(name).is_some_and(|commands| commands.iter().any(|c| covers(c, earlier, sets)))
        }
        (
            CommandOut::Program {
                path,
                args: None,
                sha256: None,
            },
            CommandOut::Program { path: other, .. },
        ) => path == other,
        _ => later == earlier,
    }
}

/// A command entry as sudoers would write it, for notes.
fn command_text(command: &CommandOut) -> String {
    match command {
        CommandOut::All => "ALL".to_owned(),
        CommandOut::Set(name) => name.clone(),
        CommandOut::Program { path, args, .. } => match args {
            None => path.clone(),
            Some(args) if args.is_empty() => format!("{path} \"\""),
            Some(args) => format!("{path} {}", args.join(" ")),
        },
        CommandOut::Edit(file) => format!("sudoedit {file}"),
    }
}

impl Converter<'_> {
    /// Converts a user specification into rules.
    pub(super) fn user_spec(
        &mut self,
        index: usize,
        users: &[Member],
        privileges: &[Privilege],
    ) -> Vec<RuleOut> {
        let Some(who) = self.who(index, users) else {
            return Vec::new();
        };
        let file = self.statements[index].file.clone();
        let line = self.statements[index].stmt.line;
        let mut rules = Vec::new();
        for privilege in privileges {
            let Some(hosts) = self.hosts(index, &privilege.hosts) else {
                continue;
            };
            let entries = self.entries(index, &who, &hosts, &privilege.specs);
            let entries = self.drop_overridden_denials(index, entries);
            let mut current: Option<RuleOut> = None;
            for entry in entries {
                let same = current.as_ref().is_some_and(|rule| {
                    let mut template = rule.clone();
                    template.id.clear();
                    template.commands.clear();
                    template == entry.template
                        && matches!(rule.commands[0], CommandOut::All)
                            == matches!(entry.command, CommandOut::All)
                });
                if same {
                    if let Some(rule) = current.as_mut() {
                        if !rule.commands.contains(&entry.command) {
                            rule.commands.push(entry.command);
                        }
                    }
                    continue;
                }
                rules.extend(current.take());
                let mut rule = entry.template;
                rule.id = self.rule_id(&file, line);
                rule.commands.push(entry.command);
                current = Some(rule);
            }
            rules.extend(current);
        }
        rules
    }

    /// The command entries of one `hosts = specs` part, in order, with
    /// runas, tags and options inherited along the list.
    fn entries(
        &mut self,
        index: usize,
        who: &[String],
        hosts: &[String],
        specs: &[CmndSpec],
    ) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut runas: Option<&Runas> = None;
        let mut tags = Tags::default();
        let mut options = Options::default();
        for spec in specs {
            if spec.runas.is_some() {
                runas = spec.runas.as_ref();
            }
            tags = Tags::of(spec, &tags);
            options = Options::of(spec, &options);
            let Some((run_as, run_as_groups)) = self.run_as(index, runas) else {
                continue;
            };
            let deny = RuleOut {
                id: String::new(),
                deny: true,
                who: who.to_vec(),
                run_as,
                run_as_groups,
                commands: Vec::new(),
                nopasswd: false,
                setenv: false,
                cwd: None,
                timeout: None,
                when: WhenOut {
                    hosts: hosts.to_vec(),
                    ..WhenOut::default()
                },
            };
            let flats = self.expand(AliasKind::Cmnd, std::slice::from_ref(&spec.command));
            // Tags and options only matter (and are only reported) for
            // allowed commands: a denial applies whatever they say.
            let allows = flats.iter().any(|flat| !flat.negated);
            let allow = if allows {
                self.allow_template(index, spec, &tags, &options, &deny)
            } else {
                None
            };
            for flat in flats {
                let template = match (&allow, flat.negated) {
                    (_, true) => &deny,
                    (Some(allow), false) => allow,
                    (None, false) => continue,
                };
                self.command_entries(index, &flat, template, &tags, &mut entries);
            }
        }
        entries
    }

    /// The rule an allowed command of `spec` goes in (without id and
    /// commands), `deny`'s users, run-as list and hosts with the spec's
    /// tags, options and conditions; `None` when they stop it.
    fn allow_template(
        &mut self,
        index: usize,
        spec: &CmndSpec,
        tags: &Tags,
        options: &Options,
        deny: &RuleOut,
    ) -> Option<RuleOut> {
        let when = self.allow_conditions(index, spec, tags, options, &deny.when.hosts)?;
        let setenv = match tags.setenv {
            SetenvTag::Explicit(value) => value,
            SetenvTag::Implied => false,
            SetenvTag::Unspecified => self.defaults.setenv,
        };
        Some(RuleOut {
            deny: false,
            nopasswd: tags.nopasswd.unwrap_or(!self.defaults.authenticate),
            setenv,
            cwd: self.cwd(index, options),
            timeout: self.spec_timeout(index, options),
            when,
            ..deny.clone()
        })
    }

    /// Adds the entries of one expanded command, in `template`'s rule.
    fn command_entries(
        &mut self,
        index: usize,
        flat: &Flat,
        template: &RuleOut,
        tags: &Tags,
        entries: &mut Vec<Entry>,
    ) {
        let (commands, notes) = convert_command(flat);
        for (kind, construct, reason) in notes {
            self.note(index, kind, &construct, reason);
        }
        for command in commands.into_iter().flatten() {
            if command == CommandOut::All
                && !flat.negated
                && tags.setenv != SetenvTag::Implied
                && !template.setenv
            {
                self.note(
                    index,
                    Kind::Approximated,
                    &flat.text,
                    "jitsudo lets a rule with ALL set the environment (-E, VAR=value), which NOSETENV (or ALL from an alias) does not in sudo",
                );
            }
            entries.push(Entry {
                template: template.clone(),
                command,
            });
        }
    }

    /// Drops each deny entry that a later allow entry of the same list (same
    /// run-as list) covers: sudo's last match wins there, so the negation
    /// has no effect.
    fn drop_overridden_denials(&mut self, index: usize, entries: Vec<Entry>) -> Vec<Entry> {
        let mut kept = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry.template.deny {
                let later = entries[i + 1..].iter().find(|other| {
                    !other.template.deny
                        && other.template.run_as == entry.template.run_as
                        && other.template.run_as_groups == entry.template.run_as_groups
                        && other.template.when.hosts == entry.template.when.hosts
                        && other.template.when.dates.is_none()
                        && covers(&other.command, &entry.command, &self.sets)
                });
                if let Some(later) = later {
                    let construct = format!("!{}", command_text(&entry.command));
                    let reason = format!(
                        "has no effect: the later entry {} allows it again (in sudo the last match of a line wins)",
                        command_text(&later.command)
                    );
                    self.note(index, Kind::Ignored, &construct, reason);
                    continue;
                }
            }
            kept.push(entry.clone());
        }
        kept
    }
}
