//! Indexes that keep a decision from scanning every rule: allow rules by the
//! base name of an exact command path (an allow entry only matches a command
//! of its base name), rules by the directory of a path pattern, and by
//! subject (user, uid, group, gid) and by id, plus the lists of rules that match any
//! path (`ALL`, other patterns, exact paths of deny rules, which match a file
//! under any name) or any caller (`ALL`).
//!
//! An index only narrows the rules to look at: every candidate is still
//! matched in full, so a rule listed in excess costs time, never a wrong
//! answer. Rules are numbered by their position in [`crate::Policy::rules`].

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::command::{CommandPattern, Subject};
use crate::glob::Glob;
use crate::model::{Effect, Rule};
use crate::principal::{IdPattern, WhoPattern};
use crate::request::Request;

/// Rule positions, ascending.
type Positions = Vec<u32>;

/// The indexes of one policy's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    /// How many rules there were when the index was built; a policy whose
    /// rule count differs is searched without the index.
    rules: usize,
    /// Allow rules with an exact path of this base name.
    by_name: HashMap<OsString, Positions>,
    /// Rules with a path pattern whose matches are all in this directory.
    by_directory: HashMap<PathBuf, Positions>,
    /// Rules with an `ALL` entry or another path pattern.
    any_path: Positions,
    /// Rules naming this user.
    by_user: HashMap<String, Positions>,
    /// Rules naming this uid.
    by_uid: HashMap<u32, Positions>,
    /// Rules naming this group.
    by_group: HashMap<String, Positions>,
    /// Rules naming this gid.
    by_gid: HashMap<u32, Positions>,
    /// Rules naming `ALL` in `who`.
    any_caller: Positions,
    /// The entries that pin a digest.
    pinned: Vec<CommandPattern>,
    /// Rules by id (ids are unique).
    by_id: HashMap<String, u32>,
    /// Whether some rule has a `when.origin` condition.
    uses_origin: bool,
}

impl Index {
    /// Indexes `rules`.
    pub(crate) fn new(rules: &[Rule]) -> Index {
        let mut index = Index {
            rules: rules.len(),
            ..Index::default()
        };
        for (position, rule) in rules.iter().enumerate() {
            let Ok(position) = u32::try_from(position) else {
                // Past 4 billion rules the index gives up; `usable` says so.
                index.rules = usize::MAX;
                break;
            };
            index.add_commands(position, rule);
            index.add_subjects(position, &rule.who);
            index.by_id.entry(rule.id.clone()).or_insert(position);
            index.uses_origin |= rule
                .when
                .as_ref()
                .is_some_and(|when| !when.origin.is_empty());
        }
        index
    }

    /// The position of the rule with this id.
    pub(crate) fn position_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).map(|&position| position as usize)
    }

    /// Whether some rule has a `when.origin` condition.
    pub(crate) fn uses_origin(&self) -> bool {
        self.uses_origin
    }

    /// Whether the index describes a policy of `rules` rules.
    pub(crate) fn usable(&self, rules: usize) -> bool {
        self.rules == rules
    }

    /// Records the paths of one rule's command entries.
    fn add_commands(&mut self, position: u32, rule: &Rule) {
        for command in &rule.commands {
            let CommandPattern::Program(program) = command else {
                push(&mut self.any_path, position);
                continue;
            };
            let directory = program
                .path_glob
                .as_ref()
                .and_then(Glob::fixed_directory)
                .map(|dir| PathBuf::from(OsStr::from_bytes(dir)));
            let name = program
                .exact_base_name()
                .filter(|_| rule.effect == Effect::Allow);
            match (name, directory) {
                (Some(name), _) => push(self.by_name.entry(name.to_owned()).or_default(), position),
                (None, Some(dir)) => push(self.by_directory.entry(dir).or_default(), position),
                (None, None) => push(&mut self.any_path, position),
            }
            if program.sha256.is_some() {
                self.pinned.push(command.clone());
            }
        }
    }

    /// Records the subjects one rule names.
    fn add_subjects(&mut self, position: u32, who: &[WhoPattern]) {
        for subject in who {
            let list = match subject {
                WhoPattern::User(IdPattern::All) | WhoPattern::Group(IdPattern::All) => {
                    &mut self.any_caller
                }
                WhoPattern::User(IdPattern::Name(name)) => {
                    self.by_user.entry(name.clone()).or_default()
                }
                WhoPattern::User(IdPattern::Id(uid)) => self.by_uid.entry(*uid).or_default(),
                WhoPattern::Group(IdPattern::Name(name)) => {
                    self.by_group.entry(name.clone()).or_default()
                }
                WhoPattern::Group(IdPattern::Id(gid)) => self.by_gid.entry(*gid).or_default(),
                // Never parsed in `who`; listed so that it is still found.
                WhoPattern::User(IdPattern::Caller) | WhoPattern::Group(IdPattern::Caller) => {
                    &mut self.any_caller
                }
            };
            push(list, position);
        }
    }

    /// Rules that may name the caller, ascending.
    pub(crate) fn naming_caller(&self, request: &Request<'_>) -> Positions {
        let caller = &request.caller;
        let mut lists: Vec<&[u32]> = vec![&self.any_caller];
        lists.extend(self.by_uid.get(&caller.uid).map(Vec::as_slice));
        lists.extend(
            caller
                .name
                .and_then(|name| self.by_user.get(name))
                .map(Vec::as_slice),
        );
        for group in caller.groups.iter().chain(caller.deny_groups) {
            lists.extend(self.by_gid.get(&group.gid).map(Vec::as_slice));
            lists.extend(
                group
                    .name
                    .and_then(|name| self.by_group.get(name))
                    .map(Vec::as_slice),
            );
        }
        union(&lists)
    }

    /// Rules that may match the request, ascending: those with an entry for
    /// its path, its directory or any path, or those naming the caller,
    /// whichever list is shorter; true when it is the latter.
    pub(crate) fn candidates(&self, request: &Request<'_>) -> (Positions, bool) {
        let exact = request
            .command
            .file_name()
            .and_then(|name| self.by_name.get(name))
            .map_or(&[][..], Vec::as_slice);
        let in_directory = |path: Option<&std::path::Path>| {
            path.and_then(std::path::Path::parent)
                .and_then(|dir| self.by_directory.get(dir))
                .map_or(&[][..], Vec::as_slice)
        };
        let real_path = request.executable.map(|e| e.real_path);
        let in_directory = union(&[in_directory(Some(request.command)), in_directory(real_path)]);
        let by_command = exact.len() + in_directory.len() + self.any_path.len();
        let by_caller = self.naming_caller_len(request);
        if by_command <= by_caller {
            (union(&[exact, &in_directory, &self.any_path]), false)
        } else {
            (self.naming_caller(request), true)
        }
    }

    /// An upper bound of `naming_caller(request).len()`, without merging.
    fn naming_caller_len(&self, request: &Request<'_>) -> usize {
        let caller = &request.caller;
        let mut total = self.any_caller.len();
        total += self.by_uid.get(&caller.uid).map_or(0, Vec::len);
        total += caller
            .name
            .and_then(|name| self.by_user.get(name))
            .map_or(0, Vec::len);
        for group in caller.groups.iter().chain(caller.deny_groups) {
            total += self.by_gid.get(&group.gid).map_or(0, Vec::len);
            total += group
                .name
                .and_then(|name| self.by_group.get(name))
                .map_or(0, Vec::len);
        }
        total
    }

    /// Whether an entry pins a digest and may name `command`.
    pub(crate) fn needs_digest(&self, command: &Subject<'_>) -> bool {
        self.pinned.iter().any(|entry| entry.needs_digest(command))
    }
}

/// Appends `position` unless it is already the last one (a rule naming the
/// same path twice).
fn push(list: &mut Positions, position: u32) {
    if list.last() != Some(&position) {
        list.push(position);
    }
}

/// The sorted union of sorted lists.
fn union(lists: &[&[u32]]) -> Positions {
    let non_empty: Vec<&[u32]> = lists.iter().copied().filter(|l| !l.is_empty()).collect();
    match non_empty.as_slice() {
        [] => Vec::new(),
        [only] => only.to_vec(),
        _ => {
            let mut all: Positions = non_empty.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{policy, Ask};

    fn positions(ids: &[usize]) -> Positions {
        ids.iter()
            .map(|&i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect()
    }

    #[test]
    fn unions_are_sorted_and_unique() {
        assert_eq!(union(&[]), positions(&[]));
        assert_eq!(union(&[&[1, 3], &[]]), positions(&[1, 3]));
        assert_eq!(
            union(&[&[1, 3, 5], &[2, 3], &[0]]),
            positions(&[0, 1, 2, 3, 5])
        );
    }

    #[test]
    fn candidates_come_from_the_narrower_index() {
        let p = policy(
            "[[rule]]\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n\
             [[rule]]\nwho = [\"bob\"]\ncommands = [\"ALL\"]\n\
             [[rule]]\nwho = [\"%sudo\"]\ncommands = [\"/usr/bin/ls\", \"/usr/bin/id\"]\n\
             [[rule]]\nwho = [\"carol\"]\ncommands = [\"/usr/lib/*\"]\n\
             [[rule]]\nwho = [\"ALL\"]\ncommands = [\"/usr/bin/id\"]\n\
             [[rule]]\nwho = [\"#1000\", \"%#27\"]\ncommands = [\"/usr/bin/ls\"]\n",
        );
        let index = Index::new(&p.rules);
        assert!(index.usable(6));
        assert!(!index.usable(5));
        let id = Ask::run("/usr/bin/id", &[]);
        assert_eq!(index.naming_caller(&id.request()), positions(&[0, 2, 4, 5]));
        // By path: id (0, 2, 4) plus any path (1): 4 entries, fewer than the
        // 5 (with a duplicate) naming alice, so the path list is used.
        assert_eq!(
            index.candidates(&id.request()),
            (positions(&[0, 1, 2, 4]), false)
        );
        let lib = Ask::run("/usr/lib/x", &[]);
        assert_eq!(
            index.candidates(&lib.request()),
            (positions(&[1, 3]), false)
        );
        let mut stranger = Ask::run("/usr/bin/ls", &[]);
        stranger.caller.name = Some("zed");
        stranger.caller.uid = 4242;
        stranger.caller.groups = &[];
        // Naming zed: only rule 4; by path: 2, 5 and 1.
        assert_eq!(
            index.candidates(&stranger.request()),
            (positions(&[4]), true)
        );
        let mut cat = Ask::run("/usr/bin/cat", &[]);
        cat.caller = stranger.caller;
        assert_eq!(index.candidates(&cat.request()), (positions(&[1]), false));
    }

    #[test]
    fn digest_paths_are_indexed() {
        let hex = "aa".repeat(32);
        let p = policy(&format!(
            "[[rule]]\nwho = [\"a\"]\ncommands = [\"sha256:{hex} /usr/bin/x\", {{ path = \"/opt/*/run\", sha256 = \"{hex}\" }}, \"/usr/bin/y\"]\n"
        ));
        let index = Index::new(&p.rules);
        let needs = |path: &str| {
            index.needs_digest(&Subject {
                path: std::path::Path::new(path),
                executable: None,
            })
        };
        assert!(needs("/usr/bin/x"));
        assert!(needs("/opt/app/run"));
        assert!(!needs("/opt/app/sub/run"));
        assert!(!needs("/usr/bin/y"));
    }
}
