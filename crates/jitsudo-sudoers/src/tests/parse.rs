//! The sudoers parser on its own: lines, comments, escapes, quoting and
//! the statement forms.

use crate::ast::{AliasKind, Command, CommandKind, Item, Member, SettingOp, Stmt, StmtKind};
use crate::parse::parse;

/// The statements of `text`.
fn stmts(text: &str) -> Vec<Stmt> {
    parse(text)
}

/// The only statement of `text`.
fn one(text: &str) -> StmtKind {
    let mut all = stmts(text);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0).kind
}

/// The commands of the first privilege of a user spec, as (negated, kind).
fn commands(text: &str) -> Vec<(bool, CommandKind)> {
    let StmtKind::UserSpec { privileges, .. } = one(text) else {
        panic!("not a user spec: {text}");
    };
    privileges[0]
        .specs
        .iter()
        .map(|spec| match &spec.command.item {
            Item::Command(Command { kind, .. }) => (spec.command.negated, kind.clone()),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// A path command with arguments.
fn path(path: &str, args: Option<&str>) -> CommandKind {
    CommandKind::Path {
        path: path.to_owned(),
        args: args.map(str::to_owned),
    }
}

/// The items of a user list.
fn users(text: &str) -> Vec<(bool, Item)> {
    let StmtKind::UserSpec { users, .. } = one(text) else {
        panic!("not a user spec: {text}");
    };
    users.into_iter().map(|m| (m.negated, m.item)).collect()
}

#[test]
fn comments_blank_lines_and_uid_words() {
    let all = stmts("# a comment\n\n   \t\n#1000 ALL = ALL\nroot ALL = ALL # trailing\n#-5 ALL = ALL\n#-x comment\n");
    assert_eq!(all.len(), 3, "{all:#?}");
    assert_eq!(all[0].line, 4);
    assert_eq!(all[1].line, 5);
    assert_eq!(all[1].text, "root ALL = ALL");
    assert_eq!(all[2].line, 6);
    assert_eq!(
        users("#1000 ALL = ALL\n"),
        [(false, Item::Word("#1000".into()))]
    );
}

#[test]
fn continuation_lines_join_and_keep_the_first_line_number() {
    let all = stmts("\nalice ALL = /bin/a, \\\n      /bin/b, \\  \n  /bin/c\nbob ALL = ALL\n");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].line, 2);
    assert_eq!(all[0].raw_lines.len(), 3);
    assert_eq!(all[0].text, "alice ALL = /bin/a, /bin/b, /bin/c");
    assert_eq!(all[1].line, 5);
    assert_eq!(
        commands("alice ALL = /bin/a, \\\n /bin/b\n"),
        [(false, path("/bin/a", None)), (false, path("/bin/b", None))]
    );
}

#[test]
fn crlf_files_and_a_missing_final_newline() {
    let all = stmts("alice ALL = /bin/a\r\nbob ALL = /bin/b");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].text, "bob ALL = /bin/b");
}

#[test]
fn escapes_in_arguments_follow_sudo() {
    assert_eq!(
        commands("u ALL = /bin/x a\\,b c\\:d e\\=f g\\\\h i\\ j\n"),
        [(false, path("/bin/x", Some("a,b c:d e=f g\\h i j")))]
    );
    // Escaped wildcards keep their backslash for the pattern matcher.
    assert_eq!(
        commands("u ALL = /bin/x \\*.tmp \\? \\[a\\]\n"),
        [(false, path("/bin/x", Some("\\*.tmp \\? \\[a\\]")))]
    );
    // `=` inside a word is part of it; a lone `=` ends the command.
    assert_eq!(
        commands("u ALL = /bin/dd if=/dev/zero of=/x\n"),
        [(false, path("/bin/dd", Some("if=/dev/zero of=/x")))]
    );
    // `""` stays as written: no arguments.
    assert_eq!(
        commands("u ALL = /bin/ls \"\", /bin/echo \"hi\"\n"),
        [
            (false, path("/bin/ls", Some("\"\""))),
            (false, path("/bin/echo", Some("\"hi\"")))
        ]
    );
    // Escapes in the path.
    assert_eq!(
        commands("u ALL = /opt/my\\ app/run\\,x\n"),
        [(false, path("/opt/my app/run,x", None))]
    );
}

#[test]
fn commands_of_every_kind() {
    assert_eq!(
        commands("u ALL = ALL, !/bin/su, /usr/bin/, sudoedit /etc/hosts, ^/bin/(a|b)$, /bin/x ^a.*$, CMDS, !!/bin/id\n"),
        [
            (false, CommandKind::All),
            (true, path("/bin/su", None)),
            (false, CommandKind::Directory("/usr/bin/".into())),
            (false, CommandKind::Sudoedit(Some("/etc/hosts".into()))),
            (false, CommandKind::Regex("^/bin/(a|b)$".into())),
            (false, CommandKind::Regex("/bin/x ^a.*$".into())),
            (false, CommandKind::Alias("CMDS".into())),
            (false, path("/bin/id", None)),
        ]
    );
}

#[test]
fn run_as_tags_options_and_digests() {
    let StmtKind::UserSpec { privileges, .. } = one(
        "u ALL = (root, #0 : wheel) CWD=/srv TIMEOUT=1h NOPASSWD : SETENV: sha224:abcd, sha256:ef01 /bin/a, () /bin/b, (:adm) /bin/c\n",
    ) else {
        panic!();
    };
    let specs = &privileges[0].specs;
    let runas = specs[0].runas.as_ref().unwrap();
    let names = |list: &Option<Vec<Member>>| -> Vec<Item> {
        list.iter().flatten().map(|m| m.item.clone()).collect()
    };
    assert_eq!(
        names(&runas.users),
        [Item::Word("root".into()), Item::Word("#0".into())]
    );
    assert_eq!(names(&runas.groups), [Item::Word("wheel".into())]);
    assert_eq!(runas.text, "(root, #0 : wheel)");
    let options: Vec<(&str, &str)> = specs[0]
        .options
        .iter()
        .map(|o| (o.name.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(options, [("CWD", "/srv"), ("TIMEOUT", "1h")]);
    assert_eq!(specs[0].tags, ["NOPASSWD", "SETENV"]);
    let Item::Command(command) = &specs[0].command.item else {
        panic!();
    };
    let digests: Vec<(&str, &str)> = command
        .digests
        .iter()
        .map(|d| (d.algorithm.as_str(), d.value.as_str()))
        .collect();
    assert_eq!(digests, [("sha224", "abcd"), ("sha256", "ef01")]);
    let empty = specs[1].runas.as_ref().unwrap();
    assert!(empty.users.is_none() && empty.groups.is_none());
    let group_only = specs[2].runas.as_ref().unwrap();
    assert!(group_only.users.is_none());
    assert_eq!(names(&group_only.groups), [Item::Word("adm".into())]);
}

#[test]
fn users_groups_quotes_and_negations() {
    assert_eq!(
        users("alice, %sudo, %#27, %:staff, +admins, \"%domain users\", \"bob\", !mallory, !!eve, ADMINS, ALL, ali\\,ce ALL = ALL\n"),
        [
            (false, Item::Word("alice".into())),
            (false, Item::Group("sudo".into())),
            (false, Item::Group("#27".into())),
            (false, Item::Group(":staff".into())),
            (false, Item::Netgroup("admins".into())),
            (false, Item::Group("domain users".into())),
            (false, Item::Word("bob".into())),
            (true, Item::Word("mallory".into())),
            (false, Item::Word("eve".into())),
            (false, Item::Alias("ADMINS".into())),
            (false, Item::All),
            (false, Item::Word("ali,ce".into())),
        ]
    );
}

#[test]
fn hosts_names_addresses_and_several_privileges() {
    let StmtKind::UserSpec { privileges, .. } =
        one("u web1, 10.0.0.0/8, 192.168.1.1, fe80::1, +hosts = /bin/a : db* = /bin/b\n")
    else {
        panic!();
    };
    let hosts: Vec<Item> = privileges[0].hosts.iter().map(|m| m.item.clone()).collect();
    assert_eq!(
        hosts,
        [
            Item::Word("web1".into()),
            Item::Address("10.0.0.0/8".into()),
            Item::Address("192.168.1.1".into()),
            Item::Address("fe80::1".into()),
            Item::Netgroup("hosts".into()),
        ]
    );
    assert_eq!(privileges.len(), 2);
    assert_eq!(privileges[1].hosts[0].item, Item::Word("db*".into()));
}

#[test]
fn aliases_of_every_kind_with_several_definitions() {
    let StmtKind::Alias { kind, defs } = one("Cmd_Alias A = /bin/a, !/bin/b : B_2 = ALL\n") else {
        panic!();
    };
    assert_eq!(kind, AliasKind::Cmnd);
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0].name, "A");
    assert!(defs[0].members[1].negated);
    assert_eq!(defs[1].name, "B_2");
    for (text, want) in [
        ("User_Alias U = a\n", AliasKind::User),
        ("Runas_Alias R = a\n", AliasKind::Runas),
        ("  Host_Alias H = a\n", AliasKind::Host),
    ] {
        assert!(matches!(one(text), StmtKind::Alias { kind, .. } if kind == want));
    }
}

#[test]
fn defaults_lines_with_bindings_and_operators() {
    let StmtKind::Defaults { binding, settings } = one(
        "Defaults env_keep += \"A B\", !lecture, secure_path=/a\\:b:/c, umask = 022, env_keep-=X\n",
    ) else {
        panic!();
    };
    assert!(binding.is_none());
    let ops: Vec<(&str, &SettingOp)> = settings.iter().map(|s| (s.name.as_str(), &s.op)).collect();
    assert_eq!(
        ops,
        [
            ("env_keep", &SettingOp::Add("A B".into())),
            ("lecture", &SettingOp::Flag(false)),
            ("secure_path", &SettingOp::Assign("/a:b:/c".into())),
            ("umask", &SettingOp::Assign("022".into())),
            ("env_keep", &SettingOp::Remove("X".into())),
        ]
    );
    for (text, kind) in [
        ("Defaults:alice,%wheel !requiretty\n", ':'),
        ("Defaults@web1 log_year\n", '@'),
        ("Defaults>root !set_logname\n", '>'),
        ("Defaults!/usr/bin/less, PAGERS noexec\n", '!'),
    ] {
        let StmtKind::Defaults {
            binding: Some(binding),
            ..
        } = one(text)
        else {
            panic!("{text}");
        };
        assert_eq!(binding.kind, kind, "{text}");
    }
}

#[test]
fn include_directives() {
    let all = stmts(
        "@include /etc/sudoers.local\n@includedir /etc/sudoers.d\n#include \"/etc/my file\"\n#includedir rel.d\n# include /not/this\n  #include /nor/this\n",
    );
    let kinds: Vec<StmtKind> = all.into_iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            StmtKind::Include {
                path: "/etc/sudoers.local".into(),
                dir: false
            },
            StmtKind::Include {
                path: "/etc/sudoers.d".into(),
                dir: true
            },
            StmtKind::Include {
                path: "/etc/my file".into(),
                dir: false
            },
            StmtKind::Include {
                path: "rel.d".into(),
                dir: true
            },
        ]
    );
}

#[test]
fn errors_are_confined_to_their_line() {
    let all = stmts(
        "alice ALL = /bin/a,\nbob ALL = (root NOPASSWD: /bin/b\ncarol ALL = relative/cmd\nUser_Alias lower = x\ndave ALL = NOPASSWD: CWD=/x /bin/c\nerin = /bin/d\nfrank ALL = /bin/e\n",
    );
    let errors: Vec<(usize, &str)> = all
        .iter()
        .filter_map(|s| match &s.kind {
            StmtKind::Error(message) => Some((s.line, message.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [
            (1, "expected a command, found the end of the line"),
            (2, "expected `)` to close the run-as list, found `N`"),
            (3, "expected a fully qualified command path, `ALL` or a Cmnd_Alias, found `relative/cmd`"),
            (4, "expected an alias name (upper case letters, digits and `_`) after `User_Alias`, found `lower`"),
            (5, "unexpected `=`"),
            (6, "expected a name, found `=`"),
        ]
    );
    assert!(matches!(all[6].kind, StmtKind::UserSpec { .. }));
    assert_eq!(all[6].line, 7);
}
