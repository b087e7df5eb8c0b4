//! Users and groups as a policy names them (`alice`, `#1001`, `%sudo`,
//! `%#27`, `ALL`) and how they match the ids of a request.

use crate::model::Effect;
use crate::request::Caller;

/// A user or a group named by the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdPattern {
    /// `ALL`: any user or group.
    All,
    /// A name, matched against the name the daemon looked up.
    Name(String),
    /// `#N`: a numeric id.
    Id(u32),
    /// `SELF` (in `run_as` only): the caller himself, so the rule only lets
    /// him run commands as his own user. [`IdPattern::matches`] cannot know
    /// the caller and never matches it; the decision compares uids.
    Caller,
}

/// An entry of a rule's `who` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoPattern {
    /// `name`, `#uid` or `ALL`: the caller himself.
    User(IdPattern),
    /// `%name` or `%#gid`: any of the caller's groups.
    Group(IdPattern),
}

impl IdPattern {
    /// Parses `ALL`, `#N` or a plain name.
    pub(crate) fn parse(text: &str) -> Result<IdPattern, String> {
        if text == "ALL" {
            return Ok(IdPattern::All);
        }
        if text == "SELF" {
            return Err(
                "`SELF` (the caller himself) is only allowed in run_as; write a user named SELF as `#uid`"
                    .to_owned(),
            );
        }
        match text.strip_prefix('#') {
            Some(digits) => parse_id(digits).map(IdPattern::Id),
            None => check_name(text).map(|()| IdPattern::Name(text.to_owned())),
        }
    }

    /// Parses a `run_as` entry: a user, never a `%group`.
    pub(crate) fn parse_user(text: &str) -> Result<IdPattern, String> {
        if text.starts_with('%') {
            return Err(format!(
                "`{text}` names a group; run_as lists users, put groups in run_as_groups"
            ));
        }
        if text == "SELF" {
            return Ok(IdPattern::Caller);
        }
        IdPattern::parse(text)
    }

    /// Parses a `run_as_groups` entry: a group written without `%`.
    pub(crate) fn parse_group(text: &str) -> Result<IdPattern, String> {
        match text.strip_prefix('%') {
            Some(bare) => Err(format!(
                "write groups in run_as_groups without `%`: `{bare}`"
            )),
            None => IdPattern::parse(text),
        }
    }

    /// Whether the pattern names the id `id` whose name is `name`.
    pub fn matches(&self, id: u32, name: Option<&str>) -> bool {
        match self {
            IdPattern::All => true,
            IdPattern::Id(wanted) => *wanted == id,
            IdPattern::Name(wanted) => name == Some(wanted.as_str()),
            IdPattern::Caller => false,
        }
    }
}

impl WhoPattern {
    /// Parses a `who` entry: `%` marks a group, anything else is a user.
    pub(crate) fn parse(text: &str) -> Result<WhoPattern, String> {
        match text.strip_prefix('%') {
            Some(group) => IdPattern::parse(group).map(WhoPattern::Group),
            None => IdPattern::parse(text).map(WhoPattern::User),
        }
    }

    /// Whether this entry names a group (`%name`, `%#gid`, `%ALL`): only
    /// such entries look at the caller's groups.
    pub fn is_group(&self) -> bool {
        matches!(self, WhoPattern::Group(_))
    }

    /// Whether the caller is this user or belongs to this group (by the
    /// groups of the calling process).
    pub fn matches(&self, caller: &Caller<'_>) -> bool {
        match self {
            WhoPattern::User(user) => user.matches(caller.uid, caller.name),
            WhoPattern::Group(group) => caller.groups.iter().any(|g| group.matches(g.gid, g.name)),
        }
    }

    /// Whether this entry of a rule with `effect` names the caller: a deny
    /// rule's group also matches by the group database's list, so a group
    /// the process dropped still counts against it.
    pub fn matches_for(&self, caller: &Caller<'_>, effect: Effect) -> bool {
        self.matches(caller)
            || match (self, effect) {
                (WhoPattern::Group(group), Effect::Deny) => caller
                    .deny_groups
                    .iter()
                    .any(|g| group.matches(g.gid, g.name)),
                _ => false,
            }
    }
}

/// Parses the digits after `#` into an id; `(uid_t)-1` is not a real id.
fn parse_id(digits: &str) -> Result<u32, String> {
    let valid = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    match digits.parse::<u32>() {
        Ok(id) if valid && id != u32::MAX => Ok(id),
        _ => Err(format!(
            "`#{digits}` is not a valid numeric id (expected `#` and a number below 4294967295)"
        )),
    }
}

/// Checks that a user or group name is plausible.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty user or group name".to_owned());
    }
    if name.starts_with('%') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{name}` is not a valid user or group name"));
    }
    Ok(())
}

impl std::fmt::Display for IdPattern {
    /// As written in a policy (and in `jitsudo -l`): `ALL`, `#N` or a name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdPattern::All => f.write_str("ALL"),
            IdPattern::Name(name) => f.write_str(name),
            IdPattern::Id(id) => write!(f, "#{id}"),
            IdPattern::Caller => f.write_str("SELF"),
        }
    }
}

impl std::fmt::Display for WhoPattern {
    /// As written in a policy: a user as [`IdPattern`] shows it, a group
    /// with a leading `%`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WhoPattern::User(user) => write!(f, "{user}"),
            WhoPattern::Group(group) => write!(f, "%{group}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::GroupRef;

    const GROUPS: [GroupRef<'static>; 2] = [
        GroupRef {
            gid: 1000,
            name: Some("alice"),
        },
        GroupRef {
            gid: 27,
            name: Some("sudo"),
        },
    ];

    fn alice() -> Caller<'static> {
        Caller {
            uid: 1000,
            name: Some("alice"),
            groups: &GROUPS,
            deny_groups: &[],
        }
    }

    fn who(text: &str) -> WhoPattern {
        WhoPattern::parse(text).unwrap()
    }

    #[test]
    fn displays_as_written() {
        for text in ["alice", "#1001", "%sudo", "%#27", "ALL"] {
            assert_eq!(who(text).to_string(), text);
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            who("alice"),
            WhoPattern::User(IdPattern::Name("alice".into()))
        );
        assert_eq!(who("#1001"), WhoPattern::User(IdPattern::Id(1001)));
        assert_eq!(
            who("%sudo"),
            WhoPattern::Group(IdPattern::Name("sudo".into()))
        );
        assert_eq!(who("%#27"), WhoPattern::Group(IdPattern::Id(27)));
        assert_eq!(who("ALL"), WhoPattern::User(IdPattern::All));
    }

    #[test]
    fn rejects_bad_ids_and_names() {
        for bad in [
            "#",
            "#abc",
            "#-1",
            "#+5",
            "#4294967295",
            "#99999999999",
            "%#x",
            "",
        ] {
            assert!(WhoPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
        for bad in ["%", "a b", "%%x", "tab\t"] {
            assert!(WhoPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            IdPattern::parse("#4294967294"),
            Ok(IdPattern::Id(4_294_967_294))
        );
    }

    #[test]
    fn self_is_for_run_as_only() {
        assert_eq!(IdPattern::parse_user("SELF"), Ok(IdPattern::Caller));
        assert_eq!(IdPattern::Caller.to_string(), "SELF");
        assert!(!IdPattern::Caller.matches(1000, Some("alice")));
        assert!(IdPattern::parse_group("SELF").is_err());
        assert!(WhoPattern::parse("SELF").is_err());
        assert!(WhoPattern::parse("%SELF").is_err());
        assert_eq!(
            IdPattern::parse_user("self"),
            Ok(IdPattern::Name("self".into()))
        );
    }

    #[test]
    fn run_as_lists_take_no_percent() {
        assert!(IdPattern::parse_user("%wheel").is_err());
        assert!(IdPattern::parse_group("%wheel").is_err());
        assert_eq!(IdPattern::parse_group("#0"), Ok(IdPattern::Id(0)));
        assert_eq!(
            IdPattern::parse_user("root"),
            Ok(IdPattern::Name("root".into()))
        );
    }

    #[test]
    fn matches_user_by_name_and_uid() {
        assert!(who("alice").matches(&alice()));
        assert!(who("#1000").matches(&alice()));
        assert!(!who("bob").matches(&alice()));
        assert!(!who("#1001").matches(&alice()));
        assert!(who("ALL").matches(&alice()));
    }

    #[test]
    fn matches_groups_by_name_and_gid() {
        assert!(who("%sudo").matches(&alice()));
        assert!(who("%#27").matches(&alice()));
        assert!(who("%#1000").matches(&alice()), "primary group counts");
        assert!(!who("%wheel").matches(&alice()));
        assert!(!who("%#10").matches(&alice()));
    }

    #[test]
    fn unnamed_caller_matches_only_by_number() {
        let groups = [GroupRef {
            gid: 27,
            name: None,
        }];
        let caller = Caller {
            uid: 1000,
            name: None,
            groups: &groups,
            deny_groups: &[],
        };
        assert!(!who("alice").matches(&caller));
        assert!(who("#1000").matches(&caller));
        assert!(!who("%sudo").matches(&caller));
        assert!(who("%#27").matches(&caller));
    }

    /// A group in `deny_groups` only (one the process dropped) counts for
    /// deny rules, never for allow rules.
    #[test]
    fn a_dropped_group_counts_for_deny_only() {
        let listed = [GroupRef {
            gid: 27,
            name: Some("sudo"),
        }];
        let caller = Caller {
            uid: 1000,
            name: Some("alice"),
            groups: &[],
            deny_groups: &listed,
        };
        assert!(who("%sudo").matches_for(&caller, Effect::Deny));
        assert!(who("%#27").matches_for(&caller, Effect::Deny));
        assert!(!who("%sudo").matches_for(&caller, Effect::Allow));
        assert!(!who("%wheel").matches_for(&caller, Effect::Deny));
    }
}
