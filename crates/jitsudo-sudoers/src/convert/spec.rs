//! User specifications: who, hosts, run-as lists, tags, options and
//! commands, with sudo's inheritance along a command list, into rules.

use super::super::ast::{
    AliasKind, CmndSpec, Command, CommandKind, Item, Member, Privilege, Runas,
};
use super::super::digest::sha256_hex;
use super::super::emit::{CommandOut, RuleOut, WhenOut};
use super::super::Kind;
use super::defaults::timeout;
use super::period::period;
use super::{Converter, Flat, SetDefn};
use crate::error::Error;
use std::collections::BTreeMap;

/// A note made while converting: kind, construct, reason.
pub(super) type Note = (Kind, String, String);

/// The `SETENV` state of a command spec, as sudo tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum SetenvTag {
    /// Not given.
    #[default]
    Unspecified,
    /// Implied by the command `ALL` (not inherited by later commands).
    Implied,
    /// `SETENV:` (true) or `NOSETENV:` (false).
    Explicit(bool),
}

/// The tags in force for a command spec.
#[derive(Debug, Clone, Default)]
struct Tags {
    nopasswd: Option<bool>,
    noexec: Option<bool>,
    intercept: Option<bool>,
    setenv: SetenvTag,
    log_input: Option<bool>,
    log_output: Option<bool>,
    mail: Option<bool>,
    follow: Option<bool>,
}

impl Tags {
    /// The tags of `spec`, inheriting from `previous` what it does not set.
    fn of(spec: &CmndSpec, previous: &Tags) -> Tags {
        let mut tags = Tags::default();
        for tag in &spec.tags {
            let (slot, value) = match tag.as_str() {
                "NOPASSWD" => (&mut tags.nopasswd, true),
                "PASSWD" => (&mut tags.nopasswd, false),
                "NOEXEC" => (&mut tags.noexec, true),
                "EXEC" => (&mut tags.noexec, false),
                "INTERCEPT" => (&mut tags.intercept, true),
                "NOINTERCEPT" => (&mut tags.intercept, false),
                "LOG_INPUT" => (&mut tags.log_input, true),
                "NOLOG_INPUT" => (&mut tags.log_input, false),
                "LOG_OUTPUT" => (&mut tags.log_output, true),
                "NOLOG_OUTPUT" => (&mut tags.log_output, false),
                "MAIL" => (&mut tags.mail, true),
                "NOMAIL" => (&mut tags.mail, false),
                "FOLLOW" => (&mut tags.follow, true),
                "NOFOLLOW" => (&mut tags.follow, false),
                "SETENV" => {
                    tags.setenv = SetenvTag::Explicit(true);
                    continue;
                }
                _ => {
                    tags.setenv = SetenvTag::Explicit(false);
                    continue;
                }
            };
            *slot = Some(value);
        }
        let inherit = |own: &mut Option<bool>, theirs: Option<bool>| {
            if own.is_none() {
                *own = theirs;
            }
        };
        inherit(&mut tags.nopasswd, previous.nopasswd);
        inherit(&mut tags.noexec, previous.noexec);
        inherit(&mut tags.intercept, previous.intercept);
        inherit(&mut tags.log_input, previous.log_input);
        inherit(&mut tags.log_output, previous.log_output);
        inherit(&mut tags.mail, previous.mail);
        inherit(&mut tags.follow, previous.follow);
        if tags.setenv == SetenvTag::Unspecified {
            if let SetenvTag::Explicit(value) = previous.setenv {
                tags.setenv = SetenvTag::Explicit(value);
            }
        }
        let is_all = matches!(
            &spec.command.item,
            Item::Command(Command {
                kind: CommandKind::All,
                ..
            })
        );
        if is_all && !spec.command.negated && tags.setenv == SetenvTag::Unspecified {
            tags.setenv = SetenvTag::Implied;
        }
        tags
    }
}

/// The options in force for a command spec (`CWD=`, `CHROOT=`…).
#[derive(Debug, Clone, Default)]
struct Options {
    /// Each option's value and how it was written, by name.
    values: Vec<(String, String)>,
}

impl Options {
    /// The options of `spec`, inheriting from `previous` what it does not
    /// set (ROLE and TYPE, PRIVS and LIMITPRIVS go in pairs, as in sudo).
    fn of(spec: &CmndSpec, previous: &Options) -> Options {
        let own = |name: &str| spec.options.iter().any(|o| o.name == name);
        let pair = |name: &str| match name {
            "ROLE" | "TYPE" => own("ROLE") || own("TYPE"),
            "PRIVS" | "LIMITPRIVS" => own("PRIVS") || own("LIMITPRIVS"),
            _ => own(name),
        };
        let mut values: Vec<(String, String)> = previous
            .values
            .iter()
            .filter(|(name, _)| !pair(name))
            .cloned()
            .collect();
        for option in &spec.options {
            values.retain(|(name, _)| *name != option.name);
            values.push((option.name.clone(), option.value.clone()));
        }
        Options { values }
    }

    /// The value of option `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A run-as list in policy terms: users, groups.
type RunAs = (Vec<String>, Vec<String>);

/// One converted command entry, before entries are grouped into rules.
#[derive(Debug, Clone)]
struct Entry {
    /// The rule it belongs in, without id and commands.
    template: RuleOut,
    /// The command.
    command: CommandOut,
}

/// Whether `name` can be written in a policy as a user or group name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('%')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
        && name != "ALL"
        && name != "SELF"
}

/// Whether `text` is `#N` with N a valid id.
fn valid_id(text: &str) -> bool {
    text.strip_prefix('#')
        .and_then(|digits| {
            digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<u32>().ok())
                .flatten()
        })
        .is_some_and(|id| id != u32::MAX)
}

/// A user or group as a policy writes it, or why it cannot be.
fn id_or_name(word: &str) -> Result<String, Error> {
    if word.starts_with('#') {
        if valid_id(word) {
            return Ok(word.to_owned());
        }
        return Err(Error::BadId(word.to_owned()));
    }
    if valid_name(word) {
        Ok(word.to_owned())
    } else {
        Err(Error::BadName(word.to_owned()))
    }
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

    /// Expands `list`; `None` (reported with `reason`) if an entry is
    /// negated, which a jitsudo list cannot express.
    fn expand_unnegated(
        &mut self,
        index: usize,
        kind: AliasKind,
        list: &[Member],
        reason: &str,
    ) -> Option<Vec<Flat>> {
        let flats = self.expand(kind, list);
        if let Some(negated) = flats.iter().find(|flat| flat.negated) {
            let construct = negated.text.clone();
            self.note(index, Kind::Dropped, &construct, reason);
            return None;
        }
        Some(flats)
    }

    /// The `who` list, or `None` (reported) when it cannot be expressed.
    fn who(&mut self, index: usize, users: &[Member]) -> Option<Vec<String>> {
        let flats = self.expand_unnegated(
            index,
            AliasKind::User,
            users,
            "negated users cannot be expressed (a jitsudo rule's who has no exclusions): the line is not converted",
        )?;
        let mut who = Vec::new();
        for flat in flats {
            let converted = match &flat.item {
                Item::All => Ok("ALL".to_owned()),
                Item::Word(word) => id_or_name(word).map_err(|e| e.to_string()),
                Item::Group(group) if group.starts_with(':') => Err(
                    "non-Unix groups (%:group) need sudo's group plugin; jitsudo matches Unix groups only".to_owned(),
                ),
                Item::Group(group) => id_or_name(group)
                    .map(|g| format!("%{g}"))
                    .map_err(|e| e.to_string()),
                Item::Netgroup(_) => Err("netgroups are not supported".to_owned()),
                Item::Alias(name) => Err(flat.unexpanded("User_Alias", name)),
                Item::Address(_) | Item::Command(_) => Err("not a user".to_owned()),
            };
            match converted {
                Ok(entry) => {
                    if !who.contains(&entry) {
                        who.push(entry);
                    }
                }
                Err(reason) => {
                    let reason = format!("{reason}; this user is left out of the rule");
                    self.note(index, Kind::Dropped, &flat.text, reason);
                }
            }
        }
        if who.is_empty() {
            let construct = self.statements[index].stmt.text.clone();
            self.note(
                index,
                Kind::Dropped,
                &construct,
                "no user of the line can be expressed: the line is not converted",
            );
            return None;
        }
        Some(who)
    }

    /// The `when.hosts` patterns of a host list (empty: every host), or
    /// `None` (reported) when it cannot be expressed.
    fn hosts(&mut self, index: usize, hosts: &[Member]) -> Option<Vec<String>> {
        let flats = self.expand_unnegated(
            index,
            AliasKind::Host,
            hosts,
            "negated hosts cannot be expressed (a rule's when.hosts has no exclusions): the commands for this host list are not converted",
        )?;
        if flats.iter().any(|flat| flat.item == Item::All) {
            return Some(Vec::new());
        }
        let mut patterns = Vec::new();
        for flat in &flats {
            let converted = match &flat.item {
                Item::Word(name) if valid_host(name) => Ok(name.to_ascii_lowercase()),
                Item::Word(name) => Err(format!("`{name}` cannot be written as a host pattern")),
                Item::Address(_) => {
                    Err("jitsudo matches hosts by name, not by address or network".to_owned())
                }
                Item::Netgroup(_) => Err("netgroups are not supported".to_owned()),
                Item::Alias(name) => Err(flat.unexpanded("Host_Alias", name)),
                _ => Err("not a host".to_owned()),
            };
            match converted {
                Ok(pattern) => {
                    if pattern.contains('.') {
                        self.note(
                            index,
                            Kind::Approximated,
                            &flat.text,
                            "jitsudo compares host patterns with the host name the machine reports (gethostname), which may be short where sudo would compare a fully qualified name",
                        );
                    }
                    if !patterns.contains(&pattern) {
                        patterns.push(pattern);
                    }
                }
                Err(reason) => {
                    let reason = format!("{reason}; the host is left out of the rule");
                    self.note(index, Kind::Dropped, &flat.text, reason);
                }
            }
        }
        if patterns.is_empty() {
            let construct = hosts
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            self.note(
                index,
                Kind::Dropped,
                &construct,
                "no host of the list can be expressed: the commands for it are not converted",
            );
            return None;
        }
        Some(patterns)
    }

    /// The run-as list of a spec, or `None` (reported) when it cannot be
    /// expressed.
    fn run_as(&mut self, index: usize, runas: Option<&Runas>) -> Option<RunAs> {
        let Some(runas) = runas else {
            return Some((vec![self.defaults.runas_default.clone()], Vec::new()));
        };
        let users = match &runas.users {
            None => vec!["SELF".to_owned()],
            Some(list) => self.run_as_list(index, list, false)?,
        };
        let groups = match &runas.groups {
            None => Vec::new(),
            Some(list) => self.run_as_list(index, list, true)?,
        };
        if users.is_empty() {
            self.note(
                index,
                Kind::Dropped,
                &runas.text,
                "no run-as user of the list can be expressed: its commands are not converted",
            );
            return None;
        }
        Some((users, groups))
    }

    /// The users or groups of a run-as list; `None` (reported) if one is
    /// negated.
    fn run_as_list(&mut self, index: usize, list: &[Member], groups: bool) -> Option<Vec<String>> {
        let flats = self.expand_unnegated(
            index,
            AliasKind::Runas,
            list,
            "negated run-as entries cannot be expressed: the commands with this run-as list are not converted",
        )?;
        let mut out = Vec::new();
        for flat in flats {
            let converted = match &flat.item {
                Item::All => Ok("ALL".to_owned()),
                Item::Word(word) => id_or_name(word).map_err(|e| e.to_string()),
                Item::Group(_) if !groups => Err(
                    "a %group as run-as user (any member of the group) cannot be expressed"
                        .to_owned(),
                ),
                Item::Group(_) => Err("a run-as group is written without `%`".to_owned()),
                Item::Netgroup(_) => Err("netgroups are not supported".to_owned()),
                Item::Alias(name) => Err(flat.unexpanded("Runas_Alias", name)),
                Item::Address(_) | Item::Command(_) => Err("not a user or group".to_owned()),
            };
            match converted {
                Ok(entry) => {
                    if !out.contains(&entry) {
                        out.push(entry);
                    }
                }
                Err(reason) => {
                    let reason = format!("{reason}; it is left out of the run-as list");
                    self.note(index, Kind::Dropped, &flat.text, reason);
                }
            }
        }
        Some(out)
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
            let flats = self.expand(AliasKind::Cmnd, std::slice::from_ref(&spec.command));
            // Tags and options only matter (and are only reported) for
            // allowed commands: a denial applies whatever they say.
            let allows = flats.iter().any(|flat| !flat.negated);
            let allow_when = if allows {
                self.allow_conditions(index, spec, &tags, &options, hosts)
            } else {
                None
            };
            let deny_when = WhenOut {
                hosts: hosts.to_vec(),
                ..WhenOut::default()
            };
            let setenv = match tags.setenv {
                SetenvTag::Explicit(value) => value,
                SetenvTag::Implied => false,
                SetenvTag::Unspecified => self.defaults.setenv,
            };
            let (cwd, timeout) = if allow_when.is_some() {
                (
                    self.cwd(index, &options),
                    self.spec_timeout(index, &options),
                )
            } else {
                (None, None)
            };
            for flat in flats {
                if !flat.negated && allow_when.is_none() {
                    continue;
                }
                let (commands, notes) = convert_command(&flat);
                for (kind, construct, reason) in notes {
                    self.note(index, kind, &construct, reason);
                }
                let Some(commands) = commands else {
                    continue;
                };
                let template = if flat.negated {
                    RuleOut {
                        id: String::new(),
                        deny: true,
                        who: who.to_vec(),
                        run_as: run_as.clone(),
                        run_as_groups: run_as_groups.clone(),
                        commands: Vec::new(),
                        nopasswd: false,
                        setenv: false,
                        cwd: None,
                        timeout: None,
                        when: deny_when.clone(),
                    }
                } else {
                    RuleOut {
                        id: String::new(),
                        deny: false,
                        who: who.to_vec(),
                        run_as: run_as.clone(),
                        run_as_groups: run_as_groups.clone(),
                        commands: Vec::new(),
                        nopasswd: tags.nopasswd.unwrap_or(!self.defaults.authenticate),
                        setenv,
                        cwd: cwd.clone(),
                        timeout: timeout.clone(),
                        when: allow_when.clone().unwrap_or_default(),
                    }
                };
                for command in commands {
                    if command == CommandOut::All
                        && !flat.negated
                        && tags.setenv != SetenvTag::Implied
                        && !setenv
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
        }
        entries
    }

    /// The `when` clause of the allow entries of a spec, or `None` when
    /// its tags or options stop them from being converted (what stops them
    /// is reported; what is only approximated or ignored too).
    fn allow_conditions(
        &mut self,
        index: usize,
        spec: &CmndSpec,
        tags: &Tags,
        options: &Options,
        hosts: &[String],
    ) -> Option<WhenOut> {
        let mut when = WhenOut {
            hosts: hosts.to_vec(),
            tty: self.defaults.requiretty,
            ..WhenOut::default()
        };
        let command = spec.command.text.clone();
        let mut ok = true;
        let mut stop = |this: &mut Self, construct: String, reason: &str| {
            this.note(index, Kind::Dropped, &construct, reason);
            ok = false;
        };
        if tags.noexec == Some(true) {
            stop(
                self,
                format!("NOEXEC: {command}"),
                "jitsudo cannot stop a command from running other programs: the command is not converted",
            );
        }
        if tags.intercept == Some(true) {
            stop(
                self,
                format!("INTERCEPT: {command}"),
                "jitsudo cannot check the programs a command runs: the command is not converted",
            );
        }
        let (not_before, not_after) = (options.get("NOTBEFORE"), options.get("NOTAFTER"));
        if not_before.is_some() || not_after.is_some() {
            let written: Vec<String> = [("NOTBEFORE", not_before), ("NOTAFTER", not_after)]
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
                .collect();
            let construct = format!("{} {command}", written.join(" "));
            match period(not_before, not_after) {
                Ok(period) => {
                    if period.rounded {
                        self.note(
                            index,
                            Kind::Approximated,
                            &construct,
                            format!(
                                "jitsudo's dates are whole days: converted as dates = \"{}\" (tz = \"{}\"), the part-days at the ends are left out",
                                period.dates, period.tz
                            ),
                        );
                    }
                    when.dates = Some(period.dates);
                    when.tz = Some(period.tz);
                }
                Err(reason) => stop(
                    self,
                    construct,
                    &format!("{reason}: the command is not converted"),
                ),
            }
        }
        match options.get("CHROOT") {
            Some("*") => self.note(
                index,
                Kind::Dropped,
                &format!("CHROOT=* {command}"),
                "jitsudo cannot run commands in another root directory: -R is refused",
            ),
            Some(value) => stop(
                self,
                format!("CHROOT={value} {command}"),
                "jitsudo cannot run commands in another root directory: the command is not converted",
            ),
            None => {}
        }
        for name in ["ROLE", "TYPE", "APPARMOR_PROFILE", "PRIVS", "LIMITPRIVS"] {
            if let Some(value) = options.get(name) {
                stop(
                    self,
                    format!("{name}={value} {command}"),
                    "jitsudo cannot confine a command (SELinux, AppArmor, Solaris privileges): the command is not converted",
                );
            }
        }
        if ok {
            for (tag, on) in [
                ("LOG_INPUT", tags.log_input),
                ("LOG_OUTPUT", tags.log_output),
            ] {
                if on == Some(true) {
                    self.note(
                        index,
                        Kind::Approximated,
                        tag,
                        "jitsudo does not record terminal input or output; its audit log records the command",
                    );
                }
            }
            if let Some(on) = tags.mail {
                let tag = if on { "MAIL" } else { "NOMAIL" };
                self.note(index, Kind::Ignored, tag, "jitsudo sends no mail");
            }
            if let Some(on) = tags.follow {
                let (tag, kind) = if on {
                    ("FOLLOW", Kind::Approximated)
                } else {
                    ("NOFOLLOW", Kind::Ignored)
                };
                self.note(
                    index,
                    kind,
                    tag,
                    "jitsudo never edits a file through a symbolic link",
                );
            }
        }
        ok.then_some(when)
    }

    /// The `cwd` of a spec from its `CWD=` option.
    fn cwd(&mut self, index: usize, options: &Options) -> Option<String> {
        let value = options.get("CWD")?.to_owned();
        let construct = format!("CWD={value}");
        if value == "*" {
            return Some(value);
        }
        if value.starts_with('/') {
            self.note(
                index,
                Kind::Approximated,
                &construct,
                format!(
                    "converted as cwd = \"{value}\", which lets the caller pass -D {value}; sudo also runs the command there without -D, jitsudo runs it in the caller's directory"
                ),
            );
            return Some(value);
        }
        self.note(
            index,
            Kind::Approximated,
            &construct,
            "a home directory as working directory cannot be expressed: the command runs in the caller's directory and -D is refused",
        );
        None
    }

    /// The `timeout` of a spec: its `TIMEOUT=` or `Defaults command_timeout`.
    fn spec_timeout(&mut self, index: usize, options: &Options) -> Option<String> {
        let Some(value) = options.get("TIMEOUT") else {
            return self.defaults.command_timeout.clone();
        };
        match timeout(value) {
            Ok(duration) => duration,
            Err(message) => {
                self.note(
                    index,
                    Kind::Dropped,
                    &format!("TIMEOUT={value}"),
                    format!("{message}: the command has no time limit"),
                );
                None
            }
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

/// Whether `name` can be a `when.hosts` pattern.
fn valid_host(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._*?[]!^\\".contains(&b))
}

/// The policy entries for one command (several for several digests, none
/// when it cannot be converted) and the notes about it.
pub(super) fn convert_command(flat: &Flat) -> (Option<Vec<CommandOut>>, Vec<Note>) {
    let mut notes = Vec::new();
    let mut note =
        |kind: Kind, reason: &str| notes.push((kind, flat.text.clone(), reason.to_owned()));
    let command = match &flat.item {
        Item::Command(command) => command,
        Item::Alias(name) if flat.set => return (Some(vec![CommandOut::Set(name.clone())]), notes),
        Item::Alias(name) => {
            note(Kind::Dropped, &flat.unexpanded("Cmnd_Alias", name));
            return (None, notes);
        }
        _ => {
            note(Kind::Dropped, "not a command");
            return (None, notes);
        }
    };
    let program = |path: &str, args: Option<Vec<String>>| CommandOut::Program {
        path: path.to_owned(),
        args,
        sha256: None,
    };
    let (base, wildcards) = match &command.kind {
        CommandKind::All => (CommandOut::All, Wildcards::default()),
        CommandKind::Path { path, args } => {
            let words = args.as_ref().map(|args| {
                if args == "\"\"" {
                    Vec::new()
                } else {
                    args.split_ascii_whitespace().map(str::to_owned).collect()
                }
            });
            let wildcards = args.as_deref().map(Wildcards::of).unwrap_or_default();
            (program(path, words), wildcards)
        }
        CommandKind::Directory(dir) => (program(&format!("{dir}*"), None), Wildcards::default()),
        CommandKind::Alias(name) => {
            note(Kind::Dropped, &flat.unexpanded("Cmnd_Alias", name));
            return (None, notes);
        }
        CommandKind::Sudoedit(files) => {
            let (entries, sudoedit_notes) = sudoedit(flat, files.as_deref());
            notes.extend(sudoedit_notes);
            return (entries, notes);
        }
        CommandKind::Regex(_) => {
            note(
                Kind::Dropped,
                "regular expressions are not supported (rewrite them as wildcards): the entry is not converted",
            );
            return (None, notes);
        }
    };
    let base = match base {
        CommandOut::Program {
            path,
            args: Some(_),
            sha256,
        } if flat.negated && wildcards.any => {
            note(
                Kind::Approximated,
                &format!(
                    "sudo matches wildcards in arguments against all the arguments joined by spaces, and jitsudo cannot deny a varying number of arguments: converted as a deny of {path} with any arguments (it denies more than sudo did)"
                ),
            );
            CommandOut::Program {
                path,
                args: None,
                sha256,
            }
        }
        base => {
            if wildcards.star && !flat.negated {
                note(
                    Kind::Approximated,
                    "sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
                );
            }
            base
        }
    };
    if let Err(message) = valid_entry(&base) {
        note(
            Kind::Dropped,
            &format!("{message}: the entry is not converted"),
        );
        return (None, notes);
    }
    if command.digests.is_empty() {
        return (Some(vec![base]), notes);
    }
    if matches!(base, CommandOut::All) {
        note(
            Kind::Dropped,
            "jitsudo cannot pin a digest on ALL: the entry is not converted",
        );
        return (None, notes);
    }
    let mut pinned = Vec::new();
    for digest in &command.digests {
        let hex = (digest.algorithm == "sha256")
            .then(|| sha256_hex(&digest.value))
            .flatten();
        match hex {
            Some(hex) => {
                let mut entry = base.clone();
                if let CommandOut::Program { sha256, .. } = &mut entry {
                    *sha256 = Some(hex);
                }
                pinned.push(entry);
            }
            None if digest.algorithm == "sha256" => note(
                Kind::Dropped,
                &format!(
                    "`{}` is not a SHA-256 digest in hex or base64",
                    digest.value
                ),
            ),
            None => note(
                Kind::Dropped,
                &format!(
                    "jitsudo pins sha256 digests only, not {}: this digest is not converted",
                    digest.algorithm
                ),
            ),
        }
    }
    ((!pinned.is_empty()).then_some(pinned), notes)
}

/// Whether the policy parser accepts `entry` (a pattern may be invalid
/// for jitsudo, such as an unclosed `[`), or its message.
fn valid_entry(entry: &CommandOut) -> Result<(), Error> {
    let text = format!(
        "[[rule]]\nwho = [\"u\"]\ncommands = [{}]\n",
        entry.to_toml()
    );
    let source = jitsudo_policy::Source {
        name: String::new(),
        text,
    };
    match jitsudo_policy::parse(&[source]) {
        Ok(_) => Ok(()),
        Err(errors) => Err(Error::Policy(
            errors.into_iter().map(|error| error.message).collect(),
        )),
    }
}

/// The entries for `sudoedit FILES`: one `"sudoedit FILE"` per file, as
/// jitsudo's policy takes one file per entry.
fn sudoedit(flat: &Flat, files: Option<&str>) -> (Option<Vec<CommandOut>>, Vec<Note>) {
    let mut notes = Vec::new();
    let mut note =
        |kind: Kind, reason: &str| notes.push((kind, flat.text.clone(), reason.to_owned()));
    let files: Vec<&str> = files.unwrap_or("").split_ascii_whitespace().collect();
    match files.as_slice() {
        [] => {
            note(
                Kind::Dropped,
                "a sudoedit entry without files allows editing any file; jitsudo's sudoedit entries name their files (list them): the entry is not converted",
            );
            return (None, notes);
        }
        ["\"\""] => {
            note(Kind::Dropped, "sudoedit without files edits nothing: the entry is not converted");
            return (None, notes);
        }
        [_] => {}
        [..] if flat.negated => note(
            Kind::Approximated,
            "sudo denies editing these files together; jitsudo denies editing each of them (it denies more than sudo did)",
        ),
        [..] => note(
            Kind::Approximated,
            "sudo allows editing these files together; jitsudo allows editing each of them, also alone",
        ),
    }
    let mut entries = Vec::new();
    for file in files {
        let entry = CommandOut::Edit(file.to_owned());
        match valid_entry(&entry) {
            Ok(()) => entries.push(entry),
            Err(message) => note(
                Kind::Dropped,
                &format!("{message}: the entry is not converted"),
            ),
        }
    }
    (Some(entries).filter(|e| !e.is_empty()), notes)
}

/// The unescaped wildcards of an argument string.
#[derive(Debug, Clone, Copy, Default)]
struct Wildcards {
    /// Any of `*`, `?`, `[`.
    any: bool,
    /// A `*`.
    star: bool,
}

impl Wildcards {
    /// The wildcards of `args` (a `\` escapes the next character).
    fn of(args: &str) -> Wildcards {
        let mut found = Wildcards::default();
        let mut escaped = false;
        for c in args.chars() {
            if !escaped && matches!(c, '*' | '?' | '[') {
                found.any = true;
                found.star |= c == '*';
            }
            escaped = c == '\\' && !escaped;
        }
        found
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
