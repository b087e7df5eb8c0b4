use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::test_support::{policy, Ask};
use crate::{parse, Decision, Source};

const GRANTABLE: &str = r#"
[[rule]]
id = "restart-db"
who = ["alice"]
commands = ["/usr/bin/systemctl restart postgresql"]
[rule.grant]
max = "2h"
default = "30m"
max_uses = 5
reason = true
ticket = "INC-*"
approvers = ["bob", "%dba"]
quorum = 2
deadline = "15m"

[[rule]]
id = "one-command"
who = ["alice"]
commands = ["/usr/bin/journalctl"]
[rule.grant]
kind = "command"
max = "10h"
approval = "auto"
start = "first-use"
"#;

fn asked(kind: GrantKind) -> Asked<'static> {
    Asked {
        kind,
        duration: None,
        uses: None,
        reason: Some("db stuck"),
        ticket: Some("INC-42"),
        start: None,
        break_glass: false,
    }
}

#[test]
fn the_grant_table_is_read() {
    let p = policy(GRANTABLE);
    let (_, grant) = p.grantable_rule("restart-db").unwrap();
    assert_eq!(grant.kind, GrantKind::Rule);
    assert_eq!(grant.max, Duration::from_secs(7200));
    assert_eq!(grant.default, Duration::from_secs(1800));
    assert_eq!(grant.max_uses, Some(5));
    assert_eq!(grant.approval.quorum(), 2);
    assert_eq!(grant.approval.deadline(), Duration::from_secs(900));
    let (_, auto) = p.grantable_rule("one-command").unwrap();
    assert_eq!(auto.approval, Approval::Auto);
    assert_eq!(auto.start, Start::FirstUse);
    assert_eq!(auto.effective_max(), AUTO_HARD_MAX);
}

#[test]
fn a_grantable_rule_applies_only_under_its_grant() {
    let p = policy(GRANTABLE);
    let ask = Ask::run("/usr/bin/systemctl", &["restart", "postgresql"]);
    assert!(matches!(p.decide(&ask.request()), Decision::Deny(_)));
    let grant = ActiveGrant {
        id: "g1",
        rule_id: "restart-db",
        command: None,
    };
    match p.decide_with_grants(&ask.request(), &[grant]) {
        Decision::Allow(allowed) => assert_eq!(allowed.grant_id.as_deref(), Some("g1")),
        other => panic!("{other:?}"),
    }
    let other = ActiveGrant {
        rule_id: "one-command",
        ..grant
    };
    assert!(matches!(
        p.decide_with_grants(&ask.request(), &[other]),
        Decision::Deny(_)
    ));
}

#[test]
fn a_command_grant_allows_exactly_its_command() {
    let p = policy(GRANTABLE);
    let args = [OsString::from("-u"), OsString::from("nginx")];
    let grant = ActiveGrant {
        id: "g2",
        rule_id: "one-command",
        command: Some((Path::new("/usr/bin/journalctl"), &args)),
    };
    let same = Ask::run("/usr/bin/journalctl", &["-u", "nginx"]);
    assert!(matches!(
        p.decide_with_grants(&same.request(), &[grant]),
        Decision::Allow(_)
    ));
    let other = Ask::run("/usr/bin/journalctl", &["-u", "sshd"]);
    assert!(matches!(
        p.decide_with_grants(&other.request(), &[grant]),
        Decision::Deny(_)
    ));
}

#[test]
fn requests_over_a_cap_are_refused_with_the_cap() {
    let p = policy(GRANTABLE);
    let (_, grant) = p.grantable_rule("restart-db").unwrap();
    let terms = grant.check(&asked(GrantKind::Rule)).unwrap();
    assert_eq!(terms.duration, Duration::from_secs(1800));
    assert_eq!(terms.uses, Some(5));
    let too_long = Asked {
        duration: Some(Duration::from_secs(7201)),
        ..asked(GrantKind::Rule)
    };
    let refusal = grant.check(&too_long).unwrap_err();
    assert_eq!(refusal, RequestRefusal::TooLong(Duration::from_secs(7200)));
    assert!(refusal.to_string().contains("maximum of 7200s"));
    let uses = Asked {
        uses: Some(6),
        ..asked(GrantKind::Rule)
    };
    assert_eq!(grant.check(&uses), Err(RequestRefusal::TooManyUses(5)));
    let no_reason = Asked {
        reason: None,
        ..asked(GrantKind::Rule)
    };
    assert_eq!(grant.check(&no_reason), Err(RequestRefusal::ReasonRequired));
    let bad_ticket = Asked {
        ticket: Some("CHG-1"),
        ..asked(GrantKind::Rule)
    };
    assert!(matches!(
        grant.check(&bad_ticket),
        Err(RequestRefusal::TicketRequired(_))
    ));
    let wrong_kind = asked(GrantKind::Command);
    assert_eq!(
        grant.check(&wrong_kind),
        Err(RequestRefusal::WrongKind(GrantKind::Rule))
    );
    let wrong_start = Asked {
        start: Some(Start::At),
        ..asked(GrantKind::Rule)
    };
    assert_eq!(
        grant.check(&wrong_start),
        Err(RequestRefusal::WrongStart(Start::OnApproval))
    );
}

#[test]
fn auto_approval_always_needs_a_reason_and_is_capped() {
    let p = policy(GRANTABLE);
    let (_, grant) = p.grantable_rule("one-command").unwrap();
    let no_reason = Asked {
        reason: Some("  "),
        start: Some(Start::FirstUse),
        ..asked(GrantKind::Command)
    };
    assert_eq!(grant.check(&no_reason), Err(RequestRefusal::ReasonRequired));
    let long = Asked {
        duration: Some(Duration::from_secs(9 * 3600)),
        ..asked(GrantKind::Command)
    };
    assert_eq!(
        grant.check(&long),
        Err(RequestRefusal::TooLong(AUTO_HARD_MAX))
    );
}

#[test]
fn only_named_callers_may_request_and_approvers_review() {
    let p = policy(GRANTABLE);
    let alice = Ask::run("/x", &[]).caller;
    assert!(p.grantable("restart-db", &alice).is_some());
    let bob = crate::Caller {
        uid: 1001,
        name: Some("bob"),
        groups: &[],
        deny_groups: &[],
    };
    assert!(p.grantable("restart-db", &bob).is_none());
    let (_, grant) = p.grantable_rule("restart-db").unwrap();
    assert!(grant.approval.may_review(&bob));
    assert!(!grant.approval.may_review(&alice));
}

fn errors(text: &str) -> String {
    let source = Source {
        name: "p.toml".into(),
        text: text.into(),
    };
    let errors = parse(&[source]).unwrap_err();
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn invalid_grant_tables_are_refused_with_their_position() {
    let base = "[[rule]]\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n";
    let cases = [
        ("[rule.grant]\nmax = \"1h\"\n", "needs `approvers`"),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\napprovers = [\"bob\"]\n",
            "exclude each other",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"yes\"\n",
            "must be \"auto\"",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\ndefault = \"2h\"\napproval = \"auto\"\n",
            "must not be longer than `max`",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napprovers = [\"bob\"]\nquorum = 0\n",
            "`quorum` must be from 1 to 16",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\nkind = \"root\"\n",
            "grant kind `root`",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\nkind = \"shell\"\n",
            "a shell grant gives no commands",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\ncaps = [\"cap_chown\"]\n",
            "`caps` belongs to a grant of kind \"caps\"",
        ),
        (
            "[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\nstart = \"later\"\n",
            "start `later`",
        ),
        ("[rule.grant]\napproval = \"auto\"\n", "missing field `max`"),
    ];
    for (grant, expected) in cases {
        let text = errors(&format!("{base}{grant}"));
        assert!(text.contains(expected), "{grant}: {text}");
        assert!(text.starts_with("p.toml:"), "{text}");
    }
    let deny = "[[rule]]\nwho = [\"alice\"]\ncommands = [\"ALL\"]\neffect = \"deny\"\n[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\n";
    assert!(errors(deny).contains("deny rule cannot be grantable"));
}

#[test]
fn diff_shows_who_gains_which_grant_with_which_approvers() {
    let before = policy("[[rule]]\nwho = [\"root\"]\ncommands = [\"ALL\"]\n");
    let after = policy(GRANTABLE);
    let changes = crate::entitlement_diff(&before, &after);
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    let restart = text
        .iter()
        .find(|line| line.contains("systemctl restart postgresql"))
        .expect("the grantable rule's command is gained");
    assert!(
        restart.starts_with("+ alice may run")
            && restart.contains("only with a grant approved by bob, %dba (2 of them), up to 7200s"),
        "{restart}"
    );
    let auto = text
        .iter()
        .find(|line| line.contains("journalctl"))
        .unwrap();
    assert!(
        auto.contains("single-command grant approved automatically, up to 28800s"),
        "{auto}"
    );
}

#[test]
fn explain_names_the_missing_grant() {
    let p = policy(GRANTABLE);
    let ask = Ask::run("/usr/bin/systemctl", &["restart", "postgresql"]);
    let explanation = p.explain(&ask.request());
    assert!(!explanation.allowed);
    let rule = explanation
        .rules
        .iter()
        .find(|r| r.id == "restart-db")
        .unwrap();
    assert_eq!(rule.mismatch, Some(crate::Mismatch::Grant));
    assert!(
        explanation.to_string().contains(
            "only under an active grant (jitsudoctl request) (grant approved by bob, %dba \
             (2 of them), up to 7200s)"
        ),
        "{explanation}"
    );
}

const TIMED: &str = r#"
[defaults]
grant_warn = "2m"
grant_grace = "5s"
grant_start_within = "1d"

[[rule]]
id = "own"
who = ["alice"]
commands = ["/usr/bin/id"]
[rule.grant]
max = "2h"
approvers = ["bob"]
warn = "30s"
grace = "10s"
start_within = "1h"
self_extend = "90m"

[[rule]]
id = "inherits"
who = ["alice"]
commands = ["ALL"]
[rule.grant]
max = "1h"
approvers = ["bob"]
"#;

#[test]
fn timing_comes_from_the_rule_then_the_defaults_then_the_built_in_values() {
    let p = policy(TIMED);
    let defaults = &p.defaults.grant_timing;
    let secs = Duration::from_secs;
    let (_, own) = p.grantable_rule("own").unwrap();
    assert_eq!(
        own.timing(defaults),
        Timing {
            warn: secs(30),
            grace: secs(10),
            start_within: secs(3600)
        }
    );
    let (_, inherits) = p.grantable_rule("inherits").unwrap();
    assert_eq!(
        inherits.timing(defaults),
        Timing {
            warn: secs(120),
            grace: secs(5),
            start_within: secs(86_400)
        }
    );
    assert_eq!(
        policy(GRANTABLE).defaults.grant_timing,
        Timing {
            warn: secs(60),
            grace: secs(2),
            start_within: secs(7 * 86_400)
        }
    );
}

#[test]
fn start_times_must_come_and_stay_within_the_cap() {
    let p = policy(TIMED);
    let (_, own) = p.grantable_rule("own").unwrap();
    let defaults = &p.defaults.grant_timing;
    let now = 1_000_000;
    assert_eq!(own.check_start_at(now, now, defaults), Ok(()));
    assert_eq!(own.check_start_at(now + 3600, now, defaults), Ok(()));
    assert_eq!(
        own.check_start_at(now - 1, now, defaults),
        Err(RequestRefusal::StartInPast)
    );
    let too_far = own.check_start_at(now + 3601, now, defaults).unwrap_err();
    assert!(
        too_far.to_string().contains("more than 3600s ahead"),
        "{too_far}"
    );
}

#[test]
fn self_extension_is_the_rules_cap_or_auto_approvals_max_or_none() {
    let p = policy(TIMED);
    let cap = |id: &str| p.grantable_rule(id).unwrap().1.self_extension_cap();
    assert_eq!(cap("own"), Some(Duration::from_secs(5400)));
    assert_eq!(cap("inherits"), None);
    let auto = policy(GRANTABLE);
    let (_, one) = auto.grantable_rule("one-command").unwrap();
    assert_eq!(one.self_extension_cap(), Some(AUTO_HARD_MAX));
}

#[test]
fn timing_and_self_extension_are_bounded_at_load() {
    let rule = "[[rule]]\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\n";
    let cases = [
        (
            format!("{rule}warn = \"2h\"\n"),
            "`warn` must be from 1s to 3600s",
        ),
        (
            format!("{rule}grace = \"2m\"\n"),
            "`grace` must be from 1s to 60s",
        ),
        (
            format!("{rule}start_within = \"30s\"\n"),
            "`start_within` must be from 60s to 31536000s",
        ),
        (
            format!("{rule}self_extend = \"2h\"\n"),
            "`self_extend` must not be longer than `max`",
        ),
        (
            format!("[defaults]\ngrant_warn = \"0s\"\n{rule}"),
            "must be a duration",
        ),
        (
            format!("[defaults]\ngrant_grace = \"61s\"\n{rule}"),
            "`grant_grace` must be from 1s to 60s",
        ),
        (
            format!("[defaults]\ngrant_start_within = \"400d\"\n{rule}"),
            "must be a duration",
        ),
    ];
    for (text, expected) in cases {
        let found = errors(&text);
        assert!(found.contains(expected), "{text}: {found}");
    }
}

#[test]
fn diff_shows_self_extension() {
    let before = policy("[[rule]]\nwho = [\"root\"]\ncommands = [\"ALL\"]\n");
    let after = policy(TIMED);
    let changes = crate::entitlement_diff(&before, &after);
    assert!(
        changes.iter().map(ToString::to_string).any(|line| line
            .contains("approved by bob (1 of them), up to 7200s, self-extensible up to 5400s")),
        "{changes:?}"
    );
}

#[test]
fn break_glass_is_read_bounded_and_shown() {
    let glass = r#"
[[rule]]
id = "glass"
who = ["alice"]
commands = ["/usr/bin/id"]
[rule.grant]
max = "2h"
approvers = ["bob"]
break_glass = { max = "15m", follow_up = "1h" }
"#;
    let p = policy(glass);
    let (_, grant) = p.grantable_rule("glass").unwrap();
    assert_eq!(
        grant.break_glass,
        Some(BreakGlass {
            max: Duration::from_secs(900),
            follow_up: Duration::from_secs(3600)
        })
    );
    assert!(grant
        .to_string()
        .contains("break-glass up to 900s (cleared within 3600s)"));
    let breaking = |duration: Option<u64>| Asked {
        duration: duration.map(Duration::from_secs),
        break_glass: true,
        ..asked(GrantKind::Rule)
    };
    let terms = grant.check(&breaking(None)).unwrap();
    assert_eq!(terms.duration, Duration::from_secs(900));
    assert_eq!(terms.start, Start::OnApproval);
    assert_eq!(
        grant.check(&breaking(Some(901))),
        Err(RequestRefusal::BreakGlassTooLong(Duration::from_secs(900)))
    );
    let no_glass = policy(GRANTABLE);
    let (_, plain) = no_glass.grantable_rule("restart-db").unwrap();
    assert_eq!(
        plain.check(&breaking(None)),
        Err(RequestRefusal::NoBreakGlass)
    );
    let rule = "[[rule]]\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n[rule.grant]\nmax = \"2h\"\n";
    let cases = [
        (
            "approval = \"auto\"\nbreak_glass = { max = \"5m\", follow_up = \"1h\" }\n",
            "`break_glass` needs `approvers`",
        ),
        (
            "approvers = [\"bob\"]\nbreak_glass = { max = \"2h\", follow_up = \"1h\" }\n",
            "`break_glass.max` must be from 1s to 3600s",
        ),
        (
            "approvers = [\"bob\"]\nbreak_glass = { max = \"5m\", follow_up = \"8d\" }\n",
            "`break_glass.follow_up` must be from 1s to 604800s",
        ),
        (
            "approvers = [\"bob\"]\nbreak_glass = { max = \"5m\" }\n",
            "missing field `follow_up`",
        ),
    ];
    for (grant, expected) in cases {
        let found = errors(&format!("{rule}{grant}"));
        assert!(found.contains(expected), "{grant}: {found}");
    }
}

const PRIVILEGES: &str = r##"
[[rule]]
id = "logs"
who = ["alice"]
[rule.grant]
kind = "group"
groups = ["adm", "#4242"]
max = "1h"
approval = "auto"

[[rule]]
id = "bind"
who = ["alice"]
[rule.grant]
kind = "caps"
caps = ["cap_net_bind_service", "CAP_NET_RAW"]
max = "1h"
approval = "auto"

[[rule]]
id = "pg"
who = ["alice"]
run_as = ["postgres"]
[rule.grant]
kind = "shell"
max = "1h"
approvers = ["bob"]
"##;

#[test]
fn group_caps_and_shell_grants_give_what_they_list_and_nothing_else() {
    let p = policy(PRIVILEGES);
    let ask = Ask::run("/bin/true", &[]);
    let request = ask.request();
    let caller = &request.caller;
    let adm = Privilege::Group {
        gid: 4,
        name: Some("adm"),
    };
    assert_eq!(p.grantable_privilege(caller, &adm).unwrap().0.id, "logs");
    let by_gid = Privilege::Group {
        gid: 4242,
        name: None,
    };
    assert!(p.grantable_privilege(caller, &by_gid).is_ok());
    let shadow = Privilege::Group {
        gid: 42,
        name: Some("shadow"),
    };
    let refused = p.grantable_privilege(caller, &shadow).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "no grantable rule lets you request group shadow; you may request: #4242, adm"
    );
    let bind = [Capability::parse("cap_net_bind_service").unwrap()];
    assert_eq!(
        p.grantable_privilege(caller, &Privilege::Caps(&bind))
            .unwrap()
            .0
            .id,
        "bind"
    );
    let more = [bind[0], Capability::parse("cap_sys_admin").unwrap()];
    let refused = p
        .grantable_privilege(caller, &Privilege::Caps(&more))
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "no grantable rule lets you request cap_net_bind_service, cap_sys_admin; \
         you may request: cap_net_bind_service, cap_net_raw"
    );
    assert!(p
        .grantable_privilege(caller, &Privilege::Caps(&[]))
        .is_err());
    let pg = Privilege::Shell {
        uid: 70,
        name: Some("postgres"),
    };
    assert_eq!(p.grantable_privilege(caller, &pg).unwrap().0.id, "pg");
    let root = Privilege::Shell {
        uid: 0,
        name: Some("root"),
    };
    assert_eq!(
        p.grantable_privilege(caller, &root)
            .unwrap_err()
            .to_string(),
        "no grantable rule lets you request a shell as root; you may request: postgres"
    );
    // These rules never make `jitsudo` allow anything.
    let (rule, _) = p.grantable_rule("pg").unwrap();
    assert!(rule.commands.is_empty());
}

#[test]
fn privilege_grants_refuse_what_they_cannot_give() {
    let base = "[[rule]]\nwho = [\"alice\"]\n[rule.grant]\nmax = \"1h\"\napproval = \"auto\"\n";
    let cases = [
        ("kind = \"caps\"\n", "needs `caps`"),
        (
            "kind = \"caps\"\ncaps = []\n",
            "`caps` must list at least one",
        ),
        (
            "kind = \"caps\"\ncaps = [\"cap_everything\"]\n",
            "unknown capability `cap_everything`",
        ),
        ("kind = \"group\"\n", "needs `groups`"),
        (
            "kind = \"group\"\ngroups = [\"ALL\"]\n",
            "`ALL` is not allowed",
        ),
        ("kind = \"group\"\ngroups = [\"%adm\"]\n", "without `%`"),
        ("kind = \"rule\"\n", "missing field `commands`"),
    ];
    for (grant, expected) in cases {
        let text = errors(&format!("{base}{grant}"));
        assert!(text.contains(expected), "{grant}: {text}");
    }
}

#[test]
fn explain_names_the_groups_and_caps_a_grant_would_give() {
    let p = policy(PRIVILEGES);
    let text = p.explain(&Ask::run("/bin/true", &[]).request()).to_string();
    for expected in [
        "group grant (groups: adm, #4242) approved automatically, up to 3600s",
        "capability grant (caps: cap_net_bind_service, cap_net_raw) approved automatically",
        "shell grant approved by bob (1 of them)",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn diff_shows_who_gains_a_group_caps_or_shell_grant() {
    let before = policy("[[rule]]\nwho = [\"root\"]\ncommands = [\"ALL\"]\n");
    let after = policy(PRIVILEGES);
    let text: Vec<String> = crate::entitlement_diff(&before, &after)
        .iter()
        .map(ToString::to_string)
        .collect();
    for expected in [
        "+ alice may run `any command with group adm` as SELF (auth password, only with a \
         group grant (groups: adm, #4242) approved automatically, up to 3600s; rule logs)",
        "+ alice may run `any command with cap_net_raw` as SELF (auth password, only with a \
         capability grant (caps: cap_net_bind_service, cap_net_raw) approved automatically, up to 3600s; rule bind)",
        "+ alice may run `a shell or any command` as postgres (auth password, only with a \
         shell grant approved by bob (1 of them), up to 3600s; rule pg)",
    ] {
        assert!(
            text.iter().any(|line| line == expected),
            "{expected}\n{text:#?}"
        );
    }
}
