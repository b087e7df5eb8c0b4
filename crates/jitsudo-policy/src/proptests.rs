//! Property tests of matching: a deny always beats an allow, adding an
//! allow never removes an entitlement, adding a deny never adds one, and
//! the index never changes a decision (nor which rule an id names, nor
//! whether the policy asks where callers come from).

use std::ffi::OsString;
use std::path::PathBuf;

use proptest::prelude::*;

use crate::decide::evaluate;
use crate::index::Index;
use crate::request::{Caller, Executable, GroupRef, Request, TargetUser};
use crate::test_support::{identify, policy, CONTEXT};
use crate::{Decision, Effect, Policy, Reason};

/// One generated rule, as TOML keys.
#[derive(Debug, Clone)]
struct RuleSpec {
    who: Vec<&'static str>,
    run_as: &'static str,
    commands: Vec<&'static str>,
    deny: bool,
    auth_none: bool,
    when: &'static str,
}

const WHO: [&str; 6] = [
    "\"alice\"",
    "\"bob\"",
    "\"%sudo\"",
    "\"#1001\"",
    "\"ALL\"",
    "\"%#1001\"",
];
const RUN_AS: [&str; 5] = [
    "",
    "run_as = [\"ALL\"]",
    "run_as = [\"bob\"]",
    "run_as = [\"SELF\"]",
    "run_as = [\"root\", \"alice\"]",
];
const COMMANDS: [&str; 7] = [
    "\"ALL\"",
    "\"/usr/bin/id\"",
    "\"/usr/bin/id -u\"",
    "\"/usr/bin/*\"",
    "\"/usr/bin/ls *\"",
    "\"/usr/bin/ls \\\"\\\"\"",
    "\"/usr/sbin/x [a-m]*\"",
];
const WHEN: [&str; 5] = [
    "",
    "when = { tty = true }",
    "when = { hours = \"Mon 09:00-10:00\", tz = \"UTC\" }",
    "when = { hosts = [\"db*\"] }",
    "when = { origin = [\"ssh\"] }",
];

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        proptest::sample::subsequence(WHO.to_vec(), 1..3),
        proptest::sample::select(RUN_AS.to_vec()),
        proptest::sample::subsequence(COMMANDS.to_vec(), 1..3),
        any::<bool>(),
        any::<bool>(),
        proptest::sample::select(WHEN.to_vec()),
    )
        .prop_map(|(who, run_as, commands, deny, auth_none, when)| RuleSpec {
            who,
            run_as,
            commands,
            deny,
            auth_none,
            when,
        })
}

/// The TOML text of the rules.
fn text(rules: &[RuleSpec]) -> String {
    let mut text = String::new();
    for rule in rules {
        text.push_str(&format!(
            "[[rule]]\nwho = [{}]\ncommands = [{}]\n{}\n",
            rule.who.join(", "),
            rule.commands.join(", "),
            rule.run_as
        ));
        if rule.deny {
            text.push_str("effect = \"deny\"\n");
        } else if rule.auth_none {
            text.push_str("auth = \"none\"\n");
        }
        text.push_str(rule.when);
        text.push('\n');
    }
    text
}

const ALICE_GROUPS: [GroupRef<'static>; 2] = [
    GroupRef {
        gid: 1000,
        name: Some("alice"),
    },
    GroupRef {
        gid: 27,
        name: Some("sudo"),
    },
];
const BOB_GROUPS: [GroupRef<'static>; 1] = [GroupRef {
    gid: 1001,
    name: Some("bob"),
}];

/// A command: the path it was found at and the file opened.
type Found = (PathBuf, PathBuf);

/// Every request of the small universe the rules talk about.
fn requests() -> Vec<(
    Caller<'static>,
    TargetUser<'static>,
    Found,
    Vec<OsString>,
    bool,
    i64,
)> {
    let callers = [
        Caller {
            uid: 1000,
            name: Some("alice"),
            groups: &ALICE_GROUPS,
            deny_groups: &[],
        },
        Caller {
            uid: 1001,
            name: Some("bob"),
            groups: &BOB_GROUPS,
            deny_groups: &[],
        },
    ];
    let targets = [
        TargetUser {
            uid: 0,
            name: Some("root"),
            primary_gid: 0,
            is_caller_by_default: false,
        },
        TargetUser {
            uid: 1001,
            name: Some("bob"),
            primary_gid: 1001,
            is_caller_by_default: false,
        },
        TargetUser {
            uid: 1000,
            name: Some("alice"),
            primary_gid: 1000,
            is_caller_by_default: false,
        },
    ];
    // Each command as found, and the file opened (a link named `id` in a
    // home directory, `/bin` a link to `/usr/bin`).
    let commands = [
        ("/usr/bin/id", "/usr/bin/id"),
        ("/usr/bin/ls", "/usr/bin/ls"),
        ("/usr/sbin/x", "/usr/sbin/x"),
        ("/home/alice/id", "/usr/bin/id"),
        ("/bin/ls", "/usr/bin/ls"),
    ];
    let args: [&[&str]; 3] = [&[], &["-u"], &["b c"]];
    let mut all = Vec::new();
    for caller in callers {
        for target in targets {
            for command in commands {
                for arg in args {
                    for tty in [true, false] {
                        for shift in [0, 3 * 3600] {
                            let arg = arg.iter().map(OsString::from).collect();
                            let command = (PathBuf::from(command.0), PathBuf::from(command.1));
                            all.push((caller, target, command, arg, tty, shift));
                        }
                    }
                }
            }
        }
    }
    all
}

/// Runs `check` on every request of the universe.
fn for_each_request(mut check: impl FnMut(&Request<'_>)) {
    for (caller, target, (command, real_path), args, tty, shift) in requests() {
        let mut context = CONTEXT;
        context.has_tty = tty;
        context.now.unix_seconds += shift;
        let request = Request {
            caller,
            run_as_user: target,
            run_as_group: None,
            command: &command,
            executable: identify(&real_path).map(|id| Executable {
                id,
                real_path: &real_path,
                identify,
            }),
            args: &args,
            wants_setenv: false,
            chdir: None,
            command_digest: None,
            context,
        };
        check(&request);
    }
}

fn allows(policy: &Policy, request: &Request<'_>) -> bool {
    matches!(policy.decide(request), Decision::Allow(_))
}

/// The policy with the rule inserted at `at` (clamped).
fn with_rule(rules: &[RuleSpec], rule: RuleSpec, at: usize) -> Policy {
    let mut rules = rules.to_vec();
    rules.insert(at.min(rules.len()), rule);
    policy(&text(&rules))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn a_deny_always_beats_an_allow(rules in proptest::collection::vec(rule_spec(), 1..8)) {
        let p = policy(&text(&rules));
        for_each_request(|request| {
            let denied = p.rules.iter().any(|r| r.effect == Effect::Deny && evaluate(r, request).is_ok());
            if denied {
                let Decision::Deny(refusal) = p.decide(request) else {
                    panic!("a matching deny did not refuse {request:?}");
                };
                assert_eq!(refusal.reason, Reason::DeniedByRule);
            }
        });
    }

    #[test]
    fn adding_an_allow_never_removes_an_entitlement(
        rules in proptest::collection::vec(rule_spec(), 0..8),
        mut added in rule_spec(),
        at in 0usize..8,
    ) {
        added.deny = false;
        let before = policy(&text(&rules));
        let after = with_rule(&rules, added, at);
        for_each_request(|request| {
            if allows(&before, request) {
                assert!(allows(&after, request), "entitlement lost: {request:?}");
            }
        });
    }

    #[test]
    fn adding_a_deny_never_adds_an_entitlement(
        rules in proptest::collection::vec(rule_spec(), 0..8),
        mut added in rule_spec(),
        at in 0usize..8,
    ) {
        added.deny = true;
        let before = policy(&text(&rules));
        let after = with_rule(&rules, added, at);
        for_each_request(|request| {
            if allows(&after, request) {
                assert!(allows(&before, request), "entitlement gained: {request:?}");
            }
        });
    }

    #[test]
    fn the_index_never_changes_a_decision(rules in proptest::collection::vec(rule_spec(), 0..12)) {
        let indexed = policy(&text(&rules));
        let mut scanned = indexed.clone();
        scanned.index = Index::default();
        prop_assume!(!indexed.rules.is_empty());
        for_each_request(|request| {
            assert_eq!(indexed.decide(request), scanned.decide(request), "{request:?}");
            let explained = indexed.explain(request);
            assert_eq!(explained.allowed, allows(&indexed, request));
        });
        prop_assert_eq!(indexed.uses_origin(), scanned.uses_origin());
        for rule in &indexed.rules {
            prop_assert_eq!(indexed.rule(&rule.id), scanned.rule(&rule.id));
            prop_assert_eq!(indexed.audit_guard(&rule.id), scanned.audit_guard(&rule.id));
        }
        prop_assert_eq!(indexed.rule("no-such-rule"), None);
    }
}
