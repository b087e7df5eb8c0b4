use std::path::Path;

use crate::{
    parse, Args, Auth, CommandPattern, Cwd, Defaults, Effect, IdPattern, Policy, PolicyError,
    Source, WhoPattern,
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
    assert_eq!(&*rule.file, "p.toml");
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

/// The first use of an id is only placed when a later rule repeats it:
/// it is still placed in its own file (not the one being read), in
/// characters, and the sources between do not shift it.
#[test]
fn a_repeated_id_places_its_first_use_in_its_own_file() {
    let main = source(
        "main.toml",
        "rule = [{ who = [\"é€\"], id = \"ops\", commands = [\"ALL\"] }]\n",
    );
    let between = source("05-other.toml", MINIMAL);
    let drop_in = source(
        "10-ops.toml",
        "\n\n[[rule]]\nwho = [\"b\"]\nid = \"ops\"\ncommands = [\"ALL\"]\n",
    );
    let Err(all) = parse(&[main, between, drop_in]) else {
        panic!("duplicate accepted");
    };
    let all: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(
        all,
        ["10-ops.toml:5:6: duplicate rule id `ops` (first used at main.toml:1:30)"]
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
    let places: Vec<_> = policy.rules.iter().map(|r| (&*r.file, r.line)).collect();
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

#[test]
fn effect_defaults_to_allow_and_reads_deny() {
    assert_eq!(ok(MINIMAL).rules[0].effect, Effect::Allow);
    let policy = ok(&format!("{MINIMAL}effect = \"deny\"\n"));
    assert_eq!(policy.rules[0].effect, Effect::Deny);
    let policy = ok(&format!("{MINIMAL}effect = \"allow\"\n"));
    assert_eq!(policy.rules[0].effect, Effect::Allow);
}

#[test]
fn misspelt_effect_is_hinted() {
    let error = one_error(&format!("{MINIMAL}effect = \"dny\"\n"));
    assert!(
        error.starts_with("p.toml:4:10: unknown variant `dny`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `deny`?"), "{error}");
}

#[test]
fn options_on_a_deny_rule_are_refused() {
    let all = errors(&format!(
        "{MINIMAL}effect = \"deny\"\nauth = \"none\"\nsetenv = false\ncwd = \"*\"\n\
         env_keep = [\"A\"]\numask = \"0077\"\ntimeout = \"5m\"\n"
    ));
    let keys: Vec<_> = all
        .iter()
        .map(|e| e.split('`').nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        keys,
        ["auth", "setenv", "cwd", "env_keep", "umask", "timeout"],
        "{all:?}"
    );
    assert!(
        all[0].starts_with("p.toml:5:8: `auth` has no effect on a deny rule"),
        "{}",
        all[0]
    );
}

#[test]
fn per_rule_options_are_read() {
    let rule = &ok(&format!(
        "{MINIMAL}env_keep = [\"EDITOR\", \"GIT_*\"]\numask = \"0077\"\ntimeout = \"1h30m\"\n"
    ))
    .rules[0];
    assert_eq!(rule.env_keep, ["EDITOR", "GIT_*"]);
    assert_eq!(rule.umask, Some(0o077));
    assert_eq!(rule.timeout, Some(std::time::Duration::from_secs(5400)));
    let plain = &ok(MINIMAL).rules[0];
    assert!(plain.env_keep.is_empty());
    assert_eq!((plain.umask, plain.timeout), (None, None));
}

#[test]
fn bad_per_rule_options_are_placed() {
    let all = errors(&format!(
        "{MINIMAL}env_keep = [\"OK\", \"A=B\"]\numask = \"999\"\ntimeout = \"soon\"\n"
    ));
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:4:19: env_keep entry `A=B`"),
        "{}",
        all[0]
    );
    assert!(all[1].starts_with("p.toml:5:9: umask `999`"), "{}", all[1]);
    assert!(
        all[2].starts_with("p.toml:6:11: timeout `soon` must be a duration"),
        "{}",
        all[2]
    );
}

fn program(command: &CommandPattern) -> &crate::Program {
    match command {
        CommandPattern::Program(program) => program,
        CommandPattern::All => panic!("expected a program"),
    }
}

#[test]
fn command_sets_expand_where_referenced() {
    let policy = ok(r#"
[command_sets]
web = ["/usr/bin/systemctl restart nginx", { path = "/usr/bin/nginx", args = ["-t"] }]
all = ["ALL"]

[[rule]]
who = ["alice"]
commands = ["/usr/bin/id", "@web"]

[[rule]]
who = ["bob"]
commands = [" @all "]
"#);
    let texts: Vec<_> = policy.rules[0]
        .commands
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        texts,
        [
            "/usr/bin/id",
            "/usr/bin/systemctl restart nginx",
            "/usr/bin/nginx [\"-t\"]"
        ]
    );
    assert_eq!(policy.rules[1].commands, [CommandPattern::All]);
}

#[test]
fn command_sets_are_shared_across_files_in_any_order() {
    let main = source(
        "main.toml",
        "[[rule]]\nwho = [\"a\"]\ncommands = [\"@later\"]\n",
    );
    let drop_in = source("d.toml", "[command_sets]\nlater = [\"/usr/bin/id\"]\n");
    let policy = parse(&[main, drop_in]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(policy.rules[0].commands.len(), 1);
}

#[test]
fn unknown_command_set_is_placed_and_hinted() {
    let error = one_error(
        "[command_sets]\nweb = [\"/usr/bin/id\"]\n[[rule]]\nwho = [\"a\"]\ncommands = [\"/bin/x\", \"@wbe\"]\n",
    );
    assert!(
        error.starts_with("p.toml:5:23: unknown command set `@wbe`"),
        "{error}"
    );
    assert!(error.ends_with("did you mean `@web`?"), "{error}");
    let error = one_error("[[rule]]\nwho = [\"a\"]\ncommands = [\"@none\"]\n");
    assert!(!error.contains("did you mean"), "{error}");
}

#[test]
fn bad_command_sets_are_placed() {
    let all = errors(
        "[command_sets]\n\"a b\" = [\"/bin/x\"]\nempty = []\nnested = [\"@empty\"]\nbad = [\"x\"]\n",
    );
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all.iter()
            .any(|e| e.starts_with("p.toml:2:9: command set name `a b`")),
        "{all:?}"
    );
    assert!(
        all.iter().any(
            |e| e.starts_with("p.toml:3:9: command set `empty` must list at least one command")
        ),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|e| e
                .starts_with("p.toml:4:11: a command set cannot include another set (`@empty`)")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|e| e.starts_with("p.toml:5:8: command path `x` must be absolute")),
        "{all:?}"
    );
}

#[test]
fn duplicate_command_sets_are_refused_across_files() {
    let first = source("a.toml", "[command_sets]\nweb = [\"/bin/x\"]\n");
    let second = source("b.toml", "\n[command_sets]\nweb = [\"/bin/y\"]\n");
    let Err(all) = parse(&[first, second]) else {
        panic!("accepted");
    };
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        all[0].to_string(),
        "b.toml:3:7: command set `web` is already defined at a.toml:2:7"
    );
}

#[test]
fn globs_and_digests_are_parsed() {
    let hex = "ab".repeat(32);
    let policy = ok(&format!(
        "[[rule]]\nwho = [\"a\"]\ncommands = [\"/usr/bin/systemctl restart *.service\", \"/usr/lib/*/helper\",\n\
         \"sha256:{hex} /usr/bin/x\", {{ path = \"/usr/bin/y\", sha256 = \"{}\", args = [\"-v\"] }}]\n",
        hex.to_uppercase()
    ));
    let commands = &policy.rules[0].commands;
    assert!(matches!(program(&commands[0]).args, Args::Patterns(_)));
    assert!(program(&commands[0]).path_glob.is_none());
    assert!(program(&commands[1]).path_glob.is_some());
    assert_eq!(program(&commands[2]).sha256.as_deref(), Some(&[0xab; 32]));
    assert_eq!(program(&commands[3]).sha256.as_deref(), Some(&[0xab; 32]));
    assert_eq!(
        commands[3].to_string(),
        format!("sha256:{hex} /usr/bin/y [\"-v\"]")
    );
}

#[test]
fn bad_globs_and_digests_are_placed() {
    let all = errors(
        "[[rule]]\nwho = [\"a\"]\ncommands = [\"/bin/x [a\", \"sha256:12 /bin/y\", \"sha256:\", \"sha256:00 ALL\",\n\
         { path = \"/bin/z\", sha256 = \"xyz\" }, \"/bin/[z-a]\"]\n",
    );
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:3:13: pattern `[a` has a `[` without its closing `]`"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with("p.toml:3:26: sha256 digest `12` must be 64 hexadecimal digits"),
        "{}",
        all[1]
    );
    assert!(all[2].contains("sha256 digest ``"), "{}", all[2]);
    assert!(all[3].contains("sha256 digest `00`"), "{}", all[3]);
    assert!(all[4].contains("sha256 digest `xyz`"), "{}", all[4]);
    assert!(all[5].contains("reversed range"), "{}", all[5]);
    let digest = "0".repeat(64);
    let error = one_error(&format!(
        "[[rule]]\nwho = [\"a\"]\ncommands = [\"sha256:{digest} ALL\"]\n"
    ));
    assert!(error.contains("`ALL` cannot be pinned"), "{error}");
}

fn with_warnings(sources: &[Source]) -> crate::Parsed {
    crate::parse_with_warnings(sources).unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
}

#[test]
fn compat_warn_turns_unknown_keys_into_warnings() {
    let text = "[compat]\nunknown_keys = \"warn\"\n[defaults]\nsecure_pth = \"/bin\"\n\
                [[rule]]\nwho = [\"a\"]\ncommands = [\"ALL\", { path = \"/bin/x\", arg = [] }]\n\
                lecture = \"always\"\n[[rules]]\nx = 1\n";
    let parsed = with_warnings(&[source("p.toml", text)]);
    let warnings: Vec<_> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(
        warnings[0].starts_with("p.toml:4:1: unknown field `secure_pth`"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("did you mean `secure_path`?"));
    assert!(warnings
        .iter()
        .all(|w| w.ends_with("(ignored: [compat] unknown_keys = \"warn\")")));
    let keys: Vec<_> = warnings
        .iter()
        .map(|w| w.split('`').nth(1).unwrap_or_default())
        .collect();
    for key in ["arg", "lecture", "rules"] {
        assert!(keys.contains(&key), "{key} not warned: {warnings:?}");
    }
    assert_eq!(parsed.policy.rules.len(), 1);
    assert_eq!(parsed.policy.rules[0].commands.len(), 2);
    assert_eq!(parsed.policy.defaults, Defaults::default());
    assert_eq!(parse(&[source("p.toml", text)]), Ok(parsed.policy));
}

#[test]
fn compat_warn_keeps_other_errors() {
    let all = errors(
        "[compat]\nunknown_keys = \"warn\"\n[[rule]]\nwho = [\"a\"]\ncommands = [\"ALL\"]\nauth = \"pasword\"\n",
    );
    assert!(all[0].contains("unknown variant `pasword`"), "{all:?}");
    let all = errors("[compat]\nunknown_keys = \"warn\"\n[[rule]]\nwho = [\"a\"]\nbogus = 1\n");
    assert!(all[0].contains("missing field `commands`"), "{all:?}");
}

#[test]
fn compat_applies_to_its_own_file_only() {
    let main = source(
        "main.toml",
        "bogus = 1\n[compat]\nunknown_keys = \"warn\"\n",
    );
    let drop_in = source("d.toml", "bogus = 2\n");
    let Err(all) = parse(&[main.clone(), drop_in]) else {
        panic!("accepted");
    };
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0]
        .to_string()
        .starts_with("d.toml:1:1: unknown field `bogus`"));
    let parsed = with_warnings(&[main]);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!((parsed.warnings[0].line, parsed.warnings[0].column), (1, 1));
}

#[test]
fn compat_error_is_the_default_and_values_are_checked() {
    let one = one_error("bogus = 1\n[compat]\nunknown_keys = \"error\"\n");
    assert!(
        one.starts_with("p.toml:1:1: unknown field `bogus`"),
        "{one}"
    );
    let one = one_error("[compat]\nunknown_keys = \"wran\"\n");
    assert!(one.contains("unknown variant `wran`"), "{one}");
    assert!(one.ends_with("did you mean `warn`?"), "{one}");
    let one = one_error("[compat]\nunknown_key = \"warn\"\n");
    assert!(one.contains("did you mean `unknown_keys`?"), "{one}");
    assert!(with_warnings(&[source("p.toml", MINIMAL)])
        .warnings
        .is_empty());
}

#[test]
fn run_as_self_is_read_and_misplaced_self_is_placed() {
    let rule = &ok(&format!("{MINIMAL}run_as = [\"SELF\", \"bob\"]\n")).rules[0];
    assert_eq!(
        rule.run_as,
        [IdPattern::Caller, IdPattern::Name("bob".into())]
    );
    let all =
        errors("[[rule]]\nwho = [\"SELF\"]\nrun_as_groups = [\"SELF\"]\ncommands = [\"ALL\"]\n");
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:2:8: `SELF` (the caller himself) is only allowed in run_as"),
        "{}",
        all[0]
    );
    assert!(all[1].starts_with("p.toml:3:18: `SELF`"), "{}", all[1]);
}

#[test]
fn when_clauses_are_read() {
    let policy = ok(&format!(
        "{MINIMAL}when = {{ hours = \"Mon-Fri 08:00-18:00\", dates = [\"2026-01-01..2026-12-31\"], tz = \"+02:00\", \
         tty = true, origin = [\"local\", \"ssh\"], hosts = [\"web-*\"] }}\n\
         [[rule]]\nwho = [\"b\"]\ncommands = [\"ALL\"]\n[rule.when]\ndates = \"2026-06-01\"\n"
    ));
    let Some(when) = &policy.rules[0].when else {
        panic!("no when");
    };
    assert_eq!(when.hours.len(), 1);
    assert_eq!((when.hours[0].start, when.hours[0].end), (480, 1080));
    assert_eq!(when.dates[0].first, Some((2026, 1, 1)));
    assert_eq!(when.tz, crate::TimeZone::Fixed(7200));
    assert_eq!(when.tty, Some(true));
    assert_eq!(when.origin, [crate::Origin::Local, crate::Origin::Ssh]);
    assert_eq!(when.hosts.len(), 1);
    let Some(second) = &policy.rules[1].when else {
        panic!("no when");
    };
    assert_eq!(second.tz, crate::TimeZone::Local);
    assert_eq!(second.dates[0].last, Some((2026, 6, 1)));
    assert_eq!(ok(MINIMAL).rules[0].when, None);
}

#[test]
fn bad_when_clauses_are_placed() {
    let all = errors(&format!(
        "{MINIMAL}[rule.when]\nhours = [\"Mon-Fri 08:00-18:00\", \"Mon-Fry\"]\ndates = \"2026-02-30\"\n\
         tz = \"Europe/Paris\"\nhosts = [\"a b\"]\n"
    ));
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(
        all[0].starts_with("p.toml:5:33: hours `Mon-Fry` has an unknown day `Fry`"),
        "{}",
        all[0]
    );
    assert!(
        all[1].starts_with("p.toml:6:9: dates `2026-02-30` has an invalid date"),
        "{}",
        all[1]
    );
    assert!(
        all[2].starts_with(
            "p.toml:7:6: named time zones such as `Europe/Paris` are not supported yet"
        ),
        "{}",
        all[2]
    );
    assert!(
        all[3].starts_with("p.toml:8:10: host pattern `a b`"),
        "{}",
        all[3]
    );
    let error = one_error(&format!("{MINIMAL}[rule.when]\norigin = [\"remote\"]\n"));
    assert!(
        error.starts_with("p.toml:5:11: unknown variant `remote`"),
        "{error}"
    );
    let error = one_error(&format!("{MINIMAL}[rule.when]\nhour = \"Mon\"\n"));
    assert!(error.ends_with("did you mean `hours`?"), "{error}");
    let error = one_error(&format!("{MINIMAL}[rule.when]\norigin = [\"unknown\"]\n"));
    assert!(error.contains("unknown variant `unknown`"), "{error}");
}

#[test]
fn audit_log_says_which_sinks_are_written_and_holds_the_required_ones() {
    use crate::AuditSink::{File, Journald, Syslog};
    let all = ok("");
    assert_eq!(all.defaults.audit_log, [Journald, Syslog, File]);
    let journald_only =
        ok("[defaults]\naudit_log = [\"journald\"]\naudit_sinks = [\"journald\"]\n");
    assert_eq!(journald_only.defaults.audit_log, [Journald]);
    assert_eq!(journald_only.audit_guard("x").log, [Journald]);

    // The default audit_sinks requires the file: say what to write.
    let e = one_error("[defaults]\naudit_log = [\"journald\"]\n");
    assert!(e.contains("audit_sinks requires \"file\""), "{e}");
    assert!(e.contains("audit_sinks = [\"journald\"]"), "{e}");
    let e = one_error("[defaults]\naudit_log = []\naudit_sinks = []\n");
    assert!(e.contains("at least one sink"), "{e}");
    let e = one_error("[defaults]\naudit_log = [\"file\", \"file\"]\n");
    assert!(e.contains("audit_log names \"file\" twice"), "{e}");
    let e = one_error("[defaults]\naudit_log = [\"jornald\"]\n");
    assert!(
        e.contains("jornald") && e.contains("`journald`, `syslog`, `file`"),
        "{e}"
    );
}

#[test]
fn audit_checkpoints_are_bounded() {
    let p = ok("[defaults]\naudit_checkpoint_records = 5\naudit_checkpoint_interval = \"30s\"\n");
    assert_eq!(p.defaults.audit_checkpoint.records, 5);
    assert_eq!(
        p.defaults.audit_checkpoint.interval,
        std::time::Duration::from_secs(30)
    );
    assert_eq!(
        ok("").defaults.audit_checkpoint,
        crate::Checkpoints::default()
    );
    for bad in [
        "audit_checkpoint_records = 0",
        "audit_checkpoint_records = 1000001",
        "audit_checkpoint_interval = \"1s\"",
        "audit_checkpoint_interval = \"2d\"",
    ] {
        let e = one_error(&format!("[defaults]\n{bad}\n"));
        assert!(e.contains("audit_checkpoint_"), "{bad}: {e}");
    }
}

/// A policy of 10,000 rules is held for as long as it is in force (and
/// twice during a reload): each rule must cost little. Rarely used parts
/// (`when`, `grant`) are boxed, the rules of one source share its name, and
/// lists hold no spare room. (A rule was 632 bytes with `when` and `grant`
/// inline, and a two-entry `commands` list had room for four.)
#[test]
fn rules_are_compact() {
    assert!(
        std::mem::size_of::<crate::Rule>() <= 256,
        "Rule is {} bytes",
        std::mem::size_of::<crate::Rule>()
    );
    let policy = ok(&format!(
        "{MINIMAL}[[rule]]\nwho = [\"bob\", \"%wheel\"]\nrun_as = [\"root\", \"alice\"]\n\
         commands = [\"/usr/bin/id\", \"/usr/bin/ls *\"]\n"
    ));
    let [first, second] = policy.rules.as_slice() else {
        panic!("{:?}", policy.rules);
    };
    assert!(std::sync::Arc::ptr_eq(&first.file, &second.file));
    assert_eq!(second.who.capacity(), 2);
    assert_eq!(second.run_as.capacity(), 2);
    assert_eq!(second.commands.capacity(), 2);
    assert_eq!(first.commands.capacity(), 1);
}
