use std::path::Path;

use crate::{
    parse, Args, Auth, CommandPattern, Cwd, Defaults, IdPattern, Policy, PolicyError, Source,
    WhoPattern,
};

fn source(name: &str, text: &str) -> Source {
    Source {
        name: name.to_owned(),
        text: text.to_owned(),
    }
}

fn ok(text: &str) -> Policy {
    match parse(&[source("p.toml", text)]) {
        Ok(policy) => policy,
        Err(errors) => panic!("unexpected errors: {errors:?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse(&[source("p.toml", text)]) {
        Ok(policy) => panic!("accepted: {policy:?}"),
        Err(errors) => errors.iter().map(PolicyError::to_string).collect(),
    }
}

fn one_error(text: &str) -> String {
    let all = errors(text);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap_or_default()
}

const MINIMAL: &str = "[[rule]]\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n";

#[test]
fn empty_policy_has_the_documented_defaults() {
    let policy = ok("");
    assert!(policy.rules.is_empty());
    let defaults = policy.defaults;
    assert_eq!(
        defaults.secure_path,
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(
        defaults.env_keep,
        [
            "COLORTERM",
            "DISPLAY",
            "LANG",
            "LANGUAGE",
            "LC_*",
            "XAUTHORITY"
        ]
    );
    assert_eq!(defaults.umask, 0o022);
    assert_eq!(defaults.passwd_tries, 3);
    assert_eq!(parse(&[]).map(|p| p.defaults), Ok(Defaults::default()));
}

#[test]
fn every_defaults_key_is_read() {
    let policy = ok(r#"
[defaults]
secure_path = "/usr/bin:/bin"
env_keep = ["EDITOR", "XDG_*"]
umask = "0077"
passwd_tries = 5
"#);
    let defaults = policy.defaults;
    assert_eq!(defaults.secure_path, "/usr/bin:/bin");
    assert_eq!(defaults.env_keep, ["EDITOR", "XDG_*"]);
    assert_eq!(defaults.umask, 0o077);
    assert_eq!(defaults.passwd_tries, 5);
}

#[test]
fn a_minimal_rule_gets_its_defaults() {
    let rule = &ok(MINIMAL).rules[0];
    assert_eq!(rule.id, "rule-1");
    assert_eq!(rule.file, "p.toml");
    assert_eq!(rule.line, 1);
    assert_eq!(
        rule.who,
        [WhoPattern::User(IdPattern::Name("alice".into()))]
    );
    assert_eq!(rule.run_as, [IdPattern::Name("root".into())]);
    assert!(rule.run_as_groups.is_empty());
    assert_eq!(rule.commands, [CommandPattern::All]);
    assert_eq!(rule.auth, Auth::Password);
    assert!(!rule.setenv);
    assert_eq!(rule.cwd, None);
}

#[test]
fn every_rule_key_is_read() {
    let policy = ok(r##"
[[rule]]
id = "admins"
who = ["%sudo", "alice", "#1001", "%#27"]
run_as = ["ALL", "#0", "www-data"]
run_as_groups = ["ALL", "#27", "adm"]
commands = ["/usr/bin/id", { path = "/usr/bin/x", args = ["a b"] }]
auth = "none"
setenv = true
cwd = "/srv"
"##);
    let rule = &policy.rules[0];
    assert_eq!(rule.id, "admins");
    assert_eq!(rule.line, 2);
    assert_eq!(
        rule.who,
        [
            WhoPattern::Group(IdPattern::Name("sudo".into())),
            WhoPattern::User(IdPattern::Name("alice".into())),
            WhoPattern::User(IdPattern::Id(1001)),
            WhoPattern::Group(IdPattern::Id(27)),
        ]
    );
    assert_eq!(
        rule.run_as,
        [
            IdPattern::All,
            IdPattern::Id(0),
            IdPattern::Name("www-data".into())
        ]
    );
    assert_eq!(
        rule.run_as_groups,
        [
            IdPattern::All,
            IdPattern::Id(27),
            IdPattern::Name("adm".into())
        ]
    );
    assert_eq!(rule.commands.len(), 2);
    let CommandPattern::Program(table) = &rule.commands[1] else {
        panic!("expected a program: {:?}", rule.commands[1]);
    };
    assert_eq!(table.path, Path::new("/usr/bin/x"));
    assert_eq!(table.args, Args::Exactly(vec!["a b".into()]));
    assert_eq!(rule.auth, Auth::None);
    assert!(rule.setenv);
    assert_eq!(rule.cwd, Some(Cwd::Exact("/srv".into())));
    assert_eq!(
        ok(&format!("{MINIMAL}cwd = \"*\"\n")).rules[0].cwd,
        Some(Cwd::Any)
    );
}

#[test]
fn empty_run_as_is_allowed() {
    let policy = ok(
        "[[rule]]\nwho = [\"a\"]\nrun_as = []\nrun_as_groups = [\"adm\"]\ncommands = [\"ALL\"]\n",
    );
    assert!(policy.rules[0].run_as.is_empty());
}

#[test]
fn unknown_key_is_placed_and_hinted() {
    let error = one_error("[defaults]\numask = \"0022\"\n  secure_pth = \"/bin\"\n");
    assert!(
        error.starts_with("p.toml:3:3: unknown field `secure_pth`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `secure_path`?"), "{error}");
}

#[test]
fn unknown_rule_key_is_hinted() {
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncomands = [\"ALL\"]\n");
    assert!(
        error.starts_with("p.toml:3:1: unknown field `comands`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `commands`?"), "{error}");
}

#[test]
fn unknown_key_without_near_match_has_no_hint() {
    let error = one_error(&format!("{MINIMAL}colour = 1\n"));
    assert!(
        error.starts_with("p.toml:4:1: unknown field `colour`"),
        "{error}"
    );
    assert!(!error.contains("did you mean"), "{error}");
}

#[test]
fn unknown_top_level_table_is_hinted() {
    let error = one_error("[[rules]]\nwho = [\"a\"]\n");
    assert!(
        error.starts_with("p.toml:1:3: unknown field `rules`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `rule`?"), "{error}");
}

#[test]
fn unknown_key_in_command_table_is_hinted() {
    let error =
        one_error("[[rule]]\nwho = [\"a\"]\ncommands = [{ path = \"/bin/x\", arg = [] }]\n");
    assert!(
        error.starts_with("p.toml:3:32: unknown field `arg`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `args`?"), "{error}");
}

#[test]
fn misspelt_auth_value_is_hinted() {
    let error = one_error(&format!("{MINIMAL}auth = \"pasword\"\n"));
    assert!(
        error.starts_with("p.toml:4:8: unknown variant `pasword`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `password`?"), "{error}");
}

#[test]
fn type_errors_are_placed() {
    let error = one_error("[defaults]\numask = 22\n");
    assert!(
        error.starts_with("p.toml:2:9: invalid type: integer `22`"),
        "{error}"
    );
    let error = one_error(&format!("{MINIMAL}setenv = \"yes\"\n"));
    assert!(
        error.starts_with("p.toml:4:10: invalid type: string"),
        "{error}"
    );
    let error = one_error("[[rule]]\nwho = \"alice\"\ncommands = [\"ALL\"]\n");
    assert!(
        error.starts_with("p.toml:2:7: invalid type: string"),
        "{error}"
    );
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncommands = [3]\n");
    assert!(
        error.starts_with("p.toml:3:13: invalid type: integer"),
        "{error}"
    );
}

#[test]
fn missing_required_keys_are_reported() {
    let error = one_error("[[rule]]\nwho = [\"a\"]\n");
    assert!(
        error.starts_with("p.toml:1:1: missing field `commands`"),
        "{error}"
    );
    let error = one_error("[[rule]]\ncommands = [\"ALL\"]\n");
    assert!(
        error.starts_with("p.toml:1:1: missing field `who`"),
        "{error}"
    );
}

#[test]
fn syntax_errors_are_placed() {
    let error = one_error("[defaults]\numask = \"0022\nx = 1\n");
    assert!(error.starts_with("p.toml:2:"), "{error}");
}

#[test]
fn bad_umask_is_placed() {
    let error = one_error("[defaults]\numask = \"0999\"\n");
    assert!(
        error.starts_with("p.toml:2:9: umask `0999` must be an octal string"),
        "{error}"
    );
}

#[test]
fn bad_defaults_are_all_reported() {
    let all = errors(
        "[defaults]\nsecure_path = \"/bin:.\"\nenv_keep = [\"A=B\"]\npasswd_tries = 0\numask = \"8\"\n",
    );
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:2:15: secure_path entry `.`"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with("p.toml:3:13: env_keep entry `A=B`"),
        "{}",
        all[1]
    );
    assert!(all[2].starts_with("p.toml:5:9: umask `8`"), "{}", all[2]);
    assert!(
        all[3].starts_with("p.toml:4:16: passwd_tries must be between 1 and 100"),
        "{}",
        all[3]
    );
}

#[test]
fn relative_command_path_is_placed() {
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncommands = [\"/bin/id\", \"ls -l\"]\n");
    assert!(
        error.starts_with("p.toml:3:24: command path `ls` must be absolute"),
        "{error}"
    );
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncommands = [{ path = \"ls\" }]\n");
    assert!(
        error.starts_with("p.toml:3:13: command path `ls` must be absolute"),
        "{error}"
    );
}

#[test]
fn empty_lists_are_refused() {
    let error = one_error("[[rule]]\nwho = []\ncommands = [\"ALL\"]\n");
    assert_eq!(
        error,
        "p.toml:2:7: `who` must name at least one user or %group"
    );
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncommands = []\n");
    assert!(
        error.starts_with("p.toml:3:12: `commands` must list at least one command"),
        "{error}"
    );
}

#[test]
fn bad_principals_are_placed() {
    let all = errors(
        "[[rule]]\nwho = [\"alice\", \"#12x\"]\nrun_as = [\"%wheel\"]\nrun_as_groups = [\"#\"]\ncommands = [\"ALL\"]\n",
    );
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:2:17: `#12x` is not a valid numeric id"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with("p.toml:3:11: `%wheel` names a group"),
        "{}",
        all[1]
    );
    assert!(
        all[2].starts_with("p.toml:4:18: `#` is not a valid numeric id"),
        "{}",
        all[2]
    );
}

#[test]
fn bad_cwd_and_id_are_placed() {
    let all =
        errors("[[rule]]\nid = \"a b\"\nwho = [\"a\"]\ncommands = [\"ALL\"]\ncwd = \"tmp\"\n");
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:2:6: rule id `a b`"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with("p.toml:5:7: cwd `tmp` must be"),
        "{}",
        all[1]
    );
}

#[test]
fn duplicate_ids_are_refused_across_files() {
    let main = source(
        "main.toml",
        "[[rule]]\nid = \"ops\"\nwho = [\"a\"]\ncommands = [\"ALL\"]\n",
    );
    let drop_in = source(
        "10-ops.toml",
        &format!("{MINIMAL}\n[[rule]]\nid = \"ops\"\nwho = [\"b\"]\ncommands = [\"ALL\"]\n"),
    );
    let Err(all) = parse(&[main, drop_in]) else {
        panic!("duplicate accepted");
    };
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        all[0].to_string(),
        "10-ops.toml:6:6: duplicate rule id `ops` (first used at main.toml:2:6)"
    );
}

#[test]
fn explicit_id_colliding_with_a_numbered_one_is_refused() {
    let text = format!("{MINIMAL}[[rule]]\nid = \"rule-1\"\nwho = [\"b\"]\ncommands = [\"ALL\"]\n");
    let error = one_error(&text);
    assert_eq!(
        error,
        "p.toml:5:6: duplicate rule id `rule-1` (first used at p.toml:1:1)"
    );
}

#[test]
fn rules_concatenate_and_are_numbered_across_files() {
    let main = source("main.toml", &format!("{MINIMAL}{MINIMAL}"));
    let drop_in = source(
        "d.toml",
        &format!("[[rule]]\nid = \"x\"\nwho = [\"b\"]\ncommands = [\"ALL\"]\n{MINIMAL}"),
    );
    let policy = parse(&[main, drop_in]).unwrap_or_else(|e| panic!("{e:?}"));
    let ids: Vec<_> = policy.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["rule-1", "rule-2", "x", "rule-4"]);
    let places: Vec<_> = policy
        .rules
        .iter()
        .map(|r| (r.file.as_str(), r.line))
        .collect();
    assert_eq!(
        places,
        [
            ("main.toml", 1),
            ("main.toml", 4),
            ("d.toml", 1),
            ("d.toml", 5)
        ]
    );
}

#[test]
fn later_defaults_override_per_key() {
    let main = source(
        "main.toml",
        "[defaults]\numask = \"0077\"\npasswd_tries = 5\n",
    );
    let drop_in = source("d.toml", "[defaults]\npasswd_tries = 7\n");
    let policy = parse(&[main, drop_in]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(policy.defaults.umask, 0o077);
    assert_eq!(policy.defaults.passwd_tries, 7);
    assert_eq!(policy.defaults.secure_path, Defaults::default().secure_path);
}

#[test]
fn errors_from_every_file_are_reported() {
    let first = source("a.toml", "[defaults]\numask = \"9\"\n");
    let second = source("b.toml", "[[rule]]\nwho = [\"a\"]\nbogus = 1\n");
    let third = source("c.toml", "[[rule]]\nwho = [\"a\"]\ncommands = [\"x\"]\n");
    let Err(all) = parse(&[first, second, third]) else {
        panic!("accepted");
    };
    let files: Vec<_> = all.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["a.toml", "b.toml", "c.toml"]);
}

#[test]
fn error_fields_are_exposed() {
    let Err(all) = parse(&[source("x.toml", "\n\n[defaults]\numask = \"1\"\nfoo = 1\n")]) else {
        panic!("accepted");
    };
    assert_eq!(
        (all[0].file.as_str(), all[0].line, all[0].column),
        ("x.toml", 5, 1)
    );
    assert!(all[0].message.starts_with("unknown field `foo`"));
}

/// A policy shaped like the one `examples/load_time.rs` times: `rules`
/// rules of five lines each, then `extra`.
fn many_rules(rules: usize, extra: &str) -> String {
    let mut text = String::new();
    for i in 0..rules {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\nwho = [\"u{i}\"]\ncommands = [\"/usr/bin/cmd{i} arg\"]\nauth = \"none\"\n"
        ));
    }
    text + extra
}

#[test]
fn a_large_policy_is_placed_line_by_line() {
    let rules = 5_000;
    let policy = ok(&many_rules(rules, ""));
    assert_eq!(policy.rules.len(), rules);
    for (i, rule) in policy.rules.iter().enumerate() {
        assert_eq!(rule.id, format!("r{i}"));
        assert_eq!(rule.line, 5 * i + 1, "{}", rule.id);
    }
}

#[test]
fn a_duplicate_at_the_end_of_a_large_policy_is_placed() {
    let text = many_rules(
        3_000,
        "[[rule]]\nid = \"r2999\"\nwho = [\"x\"]\ncommands = [\"ALL\"]\n",
    );
    assert_eq!(
        one_error(&text),
        "p.toml:15002:6: duplicate rule id `r2999` (first used at p.toml:14997:6)"
    );
}
