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

use std::borrow::Borrow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::command::{CommandPattern, Subject};
use crate::glob::Glob;
use crate::model::{Effect, Rule};
use crate::principal::{IdPattern, WhoPattern};
use crate::request::Request;

/// Rule positions, ascending.
type Positions = Vec<u32>;

/// The indexes of one policy's rules.
///
/// Each is a [`Postings`] (keys sorted, looked up by binary search) rather
/// than a hash map: a fifth of the memory for a large policy (no empty
/// buckets, no allocation per key's list) and no hashing to build it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    /// How many rules there were when the index was built; a policy whose
    /// rule count differs is searched without the index.
    rules: usize,
    /// Allow rules with an exact path of this base name.
    by_name: Postings<Box<OsStr>>,
    /// Rules with a path pattern whose matches are all in this directory.
    by_directory: Postings<Box<Path>>,
    /// Rules with an `ALL` entry or another path pattern.
    any_path: Positions,
    /// Rules naming this user.
    by_user: Postings<Box<str>>,
    /// Rules naming this uid.
    by_uid: Postings<u32>,
    /// Rules naming this group.
    by_group: Postings<Box<str>>,
    /// Rules naming this gid.
    by_gid: Postings<u32>,
    /// Rules naming `ALL` in `who`.
    any_caller: Positions,
    /// The entries that pin a digest.
    pinned: Vec<CommandPattern>,
    /// Rule positions ordered by id (then position).
    by_id: Box<[u32]>,
    /// Whether some rule has a `when.origin` condition.
    uses_origin: bool,
    /// Whether some rule names a `%group` (in `who` or as an approver).
    uses_caller_groups: bool,
}

/// Lists of ascending rule positions by key, in two allocations: the keys
/// (sorted, each with the end of its list) and all the lists end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Postings<K> {
    keys: Box<[(K, u32)]>,
    positions: Box<[u32]>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            keys: Box::new([]),
            positions: Box::new([]),
        }
    }
}

impl<K: Ord> Postings<K> {
    /// The postings of these (key, position) pairs, given in ascending
    /// position order.
    fn new(mut pairs: Vec<(K, u32)>) -> Self {
        // Stable: each key's positions stay ascending.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, earlier| later.0 == earlier.0 && later.1 == earlier.1);
        let mut keys: Vec<(K, u32)> = Vec::new();
        let mut positions = Vec::with_capacity(pairs.len());
        for (key, position) in pairs {
            positions.push(position);
            let end = u32::try_from(positions.len()).unwrap_or(u32::MAX);
            match keys.last_mut() {
                Some(last) if last.0 == key => last.1 = end,
                _ => keys.push((key, end)),
            }
        }
        Postings {
            keys: keys.into_boxed_slice(),
            positions: positions.into_boxed_slice(),
        }
    }

    /// The positions listed under `key` (empty if none).
    fn get<Q: Ord + ?Sized>(&self, key: &Q) -> &[u32]
    where
        K: Borrow<Q>,
    {
        let Ok(found) = self.keys.binary_search_by(|(k, _)| k.borrow().cmp(key)) else {
            return &[];
        };
        let start = found
            .checked_sub(1)
            .and_then(|before| self.keys.get(before))
            .map_or(0, |(_, end)| *end as usize);
        let end = self.keys.get(found).map_or(0, |(_, end)| *end as usize);
        self.positions.get(start..end).unwrap_or(&[])
    }
}

/// The (key, position) pairs an index is built from.
#[derive(Default)]
struct Pairs {
    by_name: Vec<(Box<OsStr>, u32)>,
    by_directory: Vec<(Box<Path>, u32)>,
    by_user: Vec<(Box<str>, u32)>,
    by_uid: Vec<(u32, u32)>,
    by_group: Vec<(Box<str>, u32)>,
    by_gid: Vec<(u32, u32)>,
}

impl Index {
    /// Indexes `rules`.
    pub(crate) fn new(rules: &[Rule]) -> Index {
        let mut index = Index {
            rules: rules.len(),
            ..Index::default()
        };
        let mut pairs = Pairs::default();
        let count = u32::try_from(rules.len()).unwrap_or_else(|_| {
            // Past 4 billion rules the index gives up; `usable` says so.
            index.rules = usize::MAX;
            u32::MAX
        });
        for (position, rule) in (0..count).zip(rules) {
            index.add_commands(position, rule, &mut pairs);
            index.add_subjects(position, &rule.who, &mut pairs);
            index.uses_origin |= rule
                .when
                .as_ref()
                .is_some_and(|when| !when.origin.is_empty());
            index.uses_caller_groups |= rule.names_caller_groups();
        }
        let mut by_id: Vec<u32> = (0..count).collect();
        by_id.sort_by(|&a, &b| rules[a as usize].id.cmp(&rules[b as usize].id));
        index.by_id = by_id.into_boxed_slice();
        index.by_name = Postings::new(pairs.by_name);
        index.by_directory = Postings::new(pairs.by_directory);
        index.by_user = Postings::new(pairs.by_user);
        index.by_uid = Postings::new(pairs.by_uid);
        index.by_group = Postings::new(pairs.by_group);
        index.by_gid = Postings::new(pairs.by_gid);
        index
    }

    /// The position of the first rule with this id among `rules` (those
    /// the index was built from).
    pub(crate) fn position_of(&self, id: &str, rules: &[Rule]) -> Option<usize> {
        let id_at = |position: u32| rules.get(position as usize).map(|rule| rule.id.as_str());
        let first = self.by_id.partition_point(|&p| id_at(p) < Some(id));
        self.by_id
            .get(first)
            .map(|&position| position as usize)
            .filter(|&position| id_at(position as u32) == Some(id))
    }

    /// Whether some rule has a `when.origin` condition.
    pub(crate) fn uses_origin(&self) -> bool {
        self.uses_origin
    }

    /// Whether some rule names a `%group` (see
    /// [`crate::Policy::uses_caller_groups`]).
    pub(crate) fn uses_caller_groups(&self) -> bool {
        self.uses_caller_groups
    }

    /// Whether the index describes a policy of `rules` rules.
    pub(crate) fn usable(&self, rules: usize) -> bool {
        self.rules == rules
    }

    /// Records the paths of one rule's command entries.
    fn add_commands(&mut self, position: u32, rule: &Rule, pairs: &mut Pairs) {
        for command in &rule.commands {
            let CommandPattern::Program(program) = command else {
                push(&mut self.any_path, position);
                continue;
            };
            let directory = program
                .path_glob
                .as_deref()
                .and_then(Glob::fixed_directory)
                .map(|dir| Box::from(Path::new(OsStr::from_bytes(dir))));
            let name = program
                .exact_base_name()
                .filter(|_| rule.effect == Effect::Allow);
            match (name, directory) {
                (Some(name), _) => pairs.by_name.push((Box::from(name), position)),
                (None, Some(dir)) => pairs.by_directory.push((dir, position)),
                (None, None) => push(&mut self.any_path, position),
            }
            if program.sha256.is_some() {
                self.pinned.push(command.clone());
            }
        }
    }

    /// Records the subjects one rule names.
    fn add_subjects(&mut self, position: u32, who: &[WhoPattern], pairs: &mut Pairs) {
        for subject in who {
            match subject {
                WhoPattern::User(IdPattern::Name(name)) => {
                    pairs.by_user.push((Box::from(name.as_str()), position));
                }
                WhoPattern::User(IdPattern::Id(uid)) => pairs.by_uid.push((*uid, position)),
                WhoPattern::Group(IdPattern::Name(name)) => {
                    pairs.by_group.push((Box::from(name.as_str()), position));
                }
                WhoPattern::Group(IdPattern::Id(gid)) => pairs.by_gid.push((*gid, position)),
                // `Caller` is never parsed in `who`; listed so that it is still found.
                WhoPattern::User(IdPattern::All | IdPattern::Caller)
                | WhoPattern::Group(IdPattern::All | IdPattern::Caller) => {
                    push(&mut self.any_caller, position);
                }
            }
        }
    }

    /// Rules that may name the caller, ascending.
    pub(crate) fn naming_caller(&self, request: &Request<'_>) -> Positions {
        let caller = &request.caller;
        let mut lists: Vec<&[u32]> = vec![&self.any_caller];
        lists.push(self.by_uid.get(&caller.uid));
        lists.extend(caller.name.map(|name| self.by_user.get(name)));
        for group in caller.groups.iter().chain(caller.deny_groups) {
            lists.push(self.by_gid.get(&group.gid));
            lists.extend(group.name.map(|name| self.by_group.get(name)));
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
            .map_or(&[][..], |name| self.by_name.get(name));
        let in_directory = |path: Option<&Path>| {
            path.and_then(Path::parent)
                .map_or(&[][..], |dir| self.by_directory.get(dir))
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
        total += self.by_uid.get(&caller.uid).len();
        total += caller.name.map_or(0, |name| self.by_user.get(name).len());
        for group in caller.groups.iter().chain(caller.deny_groups) {
            total += self.by_gid.get(&group.gid).len();
            total += group.name.map_or(0, |name| self.by_group.get(name).len());
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
