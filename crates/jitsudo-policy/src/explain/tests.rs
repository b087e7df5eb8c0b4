use super::*;
use crate::test_support::{policy, Ask};

const POLICY: &str = r#"
[[rule]]
id = "all"
who = ["%sudo"]
commands = ["ALL"]

[[rule]]
id = "bob"
who = ["bob"]
commands = ["ALL"]

[[rule]]
id = "tools"
who = ["alice"]
commands = ["/usr/bin/make", "sha256:1111111111111111111111111111111111111111111111111111111111111111 /usr/bin/tool"]
auth = "none"
env_keep = ["CC"]
umask = "0077"
timeout = "5m"
cwd = "/src"

[[rule]]
id = "as-bob"
who = ["alice"]
run_as = ["bob"]
commands = ["/usr/bin/tool"]

[[rule]]
id = "no-shell"
who = ["ALL"]
commands = ["/usr/bin/bash"]
effect = "deny"
"#;

fn roles(explanation: &Explanation) -> Vec<(&str, RuleRole, Option<&Mismatch>)> {
    explanation
        .rules
        .iter()
        .map(|r| (r.id.as_str(), r.role, r.mismatch.as_ref()))
        .collect()
}

#[test]
fn an_allow_lists_every_rule_and_the_grant() {
    let p = policy(POLICY);
    let e = p.explain(&Ask::run("/usr/bin/make", &["all"]).request());
    assert!(e.allowed);
    assert_eq!(e.deciding_rule.as_deref(), Some("tools"));
    assert_eq!(e.precedence, Precedence::LastAllowDecides);
    assert_eq!(e.reason, None);
    assert_eq!(
        roles(&e),
        [
            ("all", RuleRole::Overridden, None),
            ("bob", RuleRole::NotMatched, Some(&Mismatch::Who)),
            ("tools", RuleRole::Decided, None),
            ("as-bob", RuleRole::NotMatched, Some(&Mismatch::Command)),
            ("no-shell", RuleRole::NotMatched, Some(&Mismatch::Command)),
        ]
    );
    assert_eq!(
        e.grant,
        Some(Grant {
            auth: Auth::None,
            setenv: false,
            env_keep: vec!["CC".into()],
            umask: Some("0077".into()),
            timeout_seconds: Some(300),
            cwd: Some("/src".into()),
        })
    );
    assert_eq!(e.rules[2].line, 12);
    assert_eq!(e.rules[2].file, "p.toml");
}

#[test]
fn digest_and_run_as_mismatches_are_told_apart() {
    let p = policy(POLICY);
    let e = p.explain(&Ask::run("/usr/bin/tool", &[]).request());
    assert_eq!(e.deciding_rule.as_deref(), Some("all"));
    let by_id = |id: &str| e.rules.iter().find(|r| r.id == id).cloned();
    assert_eq!(
        by_id("tools").and_then(|r| r.mismatch),
        Some(Mismatch::Digest)
    );
    assert_eq!(
        by_id("as-bob").and_then(|r| r.mismatch),
        Some(Mismatch::RunAs)
    );
}

#[test]
fn a_deny_is_explained_with_its_precedence() {
    let p = policy(POLICY);
    let e = p.explain(&Ask::run("/usr/bin/bash", &[]).request());
    assert!(!e.allowed);
    assert_eq!(e.deciding_rule.as_deref(), Some("no-shell"));
    assert_eq!(e.precedence, Precedence::DenyBeatsAllow);
    assert_eq!(e.grant, None);
    assert_eq!(e.rules[0].role, RuleRole::Overridden);
    assert_eq!(e.rules[4].role, RuleRole::Decided);
    let text = e.to_string();
    assert!(
        text.starts_with("refused by rule `no-shell` (a matching deny rule beats every allow)\n"),
        "{text}"
    );
    assert!(
        text.contains("  bob (p.toml:7, allow): no match: who: the caller is not named\n"),
        "{text}"
    );
}

#[test]
fn no_match_is_explained() {
    let p = policy("[[rule]]\nid = \"x\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n");
    let e = p.explain(&Ask::run("/usr/bin/ls", &[]).request());
    assert!(!e.allowed);
    assert_eq!(e.deciding_rule, None);
    assert_eq!(e.precedence, Precedence::NoRuleMatched);
    assert_eq!(
        e.reason.as_deref(),
        Some("no rule allows you to run this command")
    );
    assert!(e.to_string().starts_with("refused (no rule matches)\n"));
}

#[test]
fn explanations_serialize_to_json() {
    let p = policy(POLICY);
    let e = p.explain(&Ask::run("/usr/bin/tool", &[]).request());
    let json = serde_json::to_value(&e).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(json["allowed"], true);
    assert_eq!(json["deciding_rule"], "all");
    assert_eq!(json["precedence"], "last_allow_decides");
    assert_eq!(json["grant"]["auth"], "password");
    assert_eq!(json["rules"][2]["mismatch"]["part"], "digest");
    assert_eq!(json["rules"][2]["role"], "not_matched");
    assert_eq!(json["rules"][2]["effect"], "allow");
    assert_eq!(json["rules"][0]["mismatch"], serde_json::Value::Null);
}

#[test]
fn a_failing_when_names_its_condition() {
    let p = policy(
        "[[rule]]\nid = \"weekend\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\nwhen = { hours = \"Sat,Sun\", tz = \"UTC\" }\n",
    );
    let e = p.explain(&Ask::run("/usr/bin/id", &[]).request());
    assert_eq!(
        e.rules[0].mismatch,
        Some(Mismatch::When {
            condition: crate::WhenPart::Hours
        })
    );
    let json = serde_json::to_value(&e).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(json["rules"][0]["mismatch"]["part"], "when");
    assert_eq!(json["rules"][0]["mismatch"]["condition"], "hours");
    assert!(e
        .to_string()
        .contains("no match: when: hours: now is outside the allowed hours"));
}
