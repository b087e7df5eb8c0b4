//! Who a rule is for, where and as whom: user lists, host lists and run-as
//! lists, after alias expansion, in the names a policy takes.

use super::super::ast::{AliasKind, Item, Member, Runas};
use super::super::error::Error;
use super::super::Kind;
use super::aliases::Flat;
use super::Converter;

/// A run-as list in policy terms: users, groups.
pub(super) type RunAs = (Vec<String>, Vec<String>);

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

/// Whether `name` can be a `when.hosts` pattern.
fn valid_host(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._*?[]!^\\".contains(&b))
}

/// A list entry as a policy writes it, or why it cannot be written.
type Converted = Result<String, Error>;

/// An entry that cannot be written, and why.
fn unconvertible(reason: impl Into<String>) -> Converted {
    Err(Error::Unconvertible(reason.into()))
}

/// A user or group as a policy writes it, or why it cannot be.
fn id_or_name(word: &str) -> Converted {
    if word.starts_with('#') {
        if valid_id(word) {
            return Ok(word.to_owned());
        }
        return unconvertible(format!("`{word}` is not a valid numeric id"));
    }
    if valid_name(word) {
        Ok(word.to_owned())
    } else {
        unconvertible(format!(
            "`{word}` cannot be written as a jitsudo user or group name"
        ))
    }
}

/// A user of a rule's `who` list.
fn user_entry(flat: &Flat) -> Converted {
    match &flat.item {
        Item::All => Ok("ALL".to_owned()),
        Item::Word(word) => id_or_name(word),
        Item::Group(group) if group.starts_with(':') => unconvertible(
            "non-Unix groups (%:group) need sudo's group plugin; jitsudo matches Unix groups only",
        ),
        Item::Group(group) => id_or_name(group).map(|g| format!("%{g}")),
        Item::Netgroup(_) => unconvertible("netgroups are not supported"),
        Item::Alias(name) => unconvertible(flat.unexpanded("User_Alias", name)),
        Item::Address(_) | Item::Command(_) => unconvertible("not a user"),
    }
}

/// A `when.hosts` pattern.
fn host_entry(flat: &Flat) -> Converted {
    match &flat.item {
        Item::Word(name) if valid_host(name) => Ok(name.to_ascii_lowercase()),
        Item::Word(name) => unconvertible(format!("`{name}` cannot be written as a host pattern")),
        Item::Address(_) => {
            unconvertible("jitsudo matches hosts by name, not by address or network")
        }
        Item::Netgroup(_) => unconvertible("netgroups are not supported"),
        Item::Alias(name) => unconvertible(flat.unexpanded("Host_Alias", name)),
        _ => unconvertible("not a host"),
    }
}

/// A run-as user (or, for `groups`, a run-as group).
fn run_as_entry(flat: &Flat, groups: bool) -> Converted {
    match &flat.item {
        Item::All => Ok("ALL".to_owned()),
        Item::Word(word) => id_or_name(word),
        Item::Group(_) if !groups => {
            unconvertible("a %group as run-as user (any member of the group) cannot be expressed")
        }
        Item::Group(_) => unconvertible("a run-as group is written without `%`"),
        Item::Netgroup(_) => unconvertible("netgroups are not supported"),
        Item::Alias(name) => unconvertible(flat.unexpanded("Runas_Alias", name)),
        Item::Address(_) | Item::Command(_) => unconvertible("not a user or group"),
    }
}

impl Converter<'_> {
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

    /// Each of `flats` as `convert` writes it, in order and without
    /// duplicates; one that cannot be written is reported (its reason
    /// followed by `left_out`) and left out.
    fn convert_entries(
        &mut self,
        index: usize,
        flats: &[Flat],
        mut convert: impl FnMut(&mut Self, &Flat) -> Converted,
        left_out: &str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for flat in flats {
            match convert(self, flat) {
                Ok(entry) => {
                    if !out.contains(&entry) {
                        out.push(entry);
                    }
                }
                Err(error) => {
                    let reason = format!("{error}; {left_out}");
                    self.note(index, Kind::Dropped, &flat.text, reason);
                }
            }
        }
        out
    }

    /// The `who` list, or `None` (reported) when it cannot be expressed.
    pub(super) fn who(&mut self, index: usize, users: &[Member]) -> Option<Vec<String>> {
        let flats = self.expand_unnegated(
            index,
            AliasKind::User,
            users,
            "negated users cannot be expressed (a jitsudo rule's who has no exclusions): the line is not converted",
        )?;
        let who = self.convert_entries(
            index,
            &flats,
            |_, flat| user_entry(flat),
            "this user is left out of the rule",
        );
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
    pub(super) fn hosts(&mut self, index: usize, hosts: &[Member]) -> Option<Vec<String>> {
        let flats = self.expand_unnegated(
            index,
            AliasKind::Host,
            hosts,
            "negated hosts cannot be expressed (a rule's when.hosts has no exclusions): the commands for this host list are not converted",
        )?;
        if flats.iter().any(|flat| flat.item == Item::All) {
            return Some(Vec::new());
        }
        let patterns = self.convert_entries(
            index,
            &flats,
            |this, flat| {
                let pattern = host_entry(flat)?;
                if pattern.contains('.') {
                    this.note(
                        index,
                        Kind::Approximated,
                        &flat.text,
                        "jitsudo compares host patterns with the host name the machine reports (gethostname), which may be short where sudo would compare a fully qualified name",
                    );
                }
                Ok(pattern)
            },
            "the host is left out of the rule",
        );
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
    pub(super) fn run_as(&mut self, index: usize, runas: Option<&Runas>) -> Option<RunAs> {
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
        Some(self.convert_entries(
            index,
            &flats,
            |_, flat| run_as_entry(flat, groups),
            "it is left out of the run-as list",
        ))
    }
}
