//! One construct at a time: the exact rules and notes it converts to.

use super::{convert, policy_of, tables};

/// Converts `text` (as `/etc/sudoers.d/t`), checks the policy parses, and
/// returns its tables (comments left out) and its notes as
/// `line: LABEL: construct: reason`.
fn run(text: &str) -> (String, Vec<String>) {
    let conversion = convert("t", text);
    policy_of(&conversion);
    let notes = conversion
        .unconverted
        .iter()
        .map(|n| {
            format!(
                "{}: {}: {}: {}",
                n.line,
                n.kind.label(),
                n.construct,
                n.reason
            )
        })
        .collect();
    (tables(&conversion), notes)
}

#[test]
fn tags_and_run_as_are_inherited_along_the_command_list() {
    let (tables, notes) =
        run("u ALL = (root) NOPASSWD: /bin/a, /bin/b, PASSWD: /bin/c, (bob) /bin/d\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a", "/bin/b"]
auth = "none"
[[rule]]
id = "t-L1-2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/c"]
auth = "password"
[[rule]]
id = "t-L1-3"
who = ["u"]
run_as = ["bob"]
commands = ["/bin/d"]
auth = "password"
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn defaults_not_authenticate_makes_rules_passwordless() {
    let (tables, notes) = run("Defaults !authenticate\nu ALL = /bin/a, PASSWD: /bin/b\n");
    assert_eq!(
        tables,
        r#"[defaults]
[[rule]]
id = "t-L2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "none"
[[rule]]
id = "t-L2-2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/b"]
auth = "password"
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn defaults_setenv_applies_unless_nosetenv() {
    let (tables, notes) = run("Defaults setenv\nu ALL = /bin/a, NOSETENV: /bin/b\n");
    assert_eq!(
        tables,
        r#"[defaults]
[[rule]]
id = "t-L2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
setenv = true
[[rule]]
id = "t-L2-2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/b"]
auth = "password"
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn defaults_runas_default_is_the_implicit_run_as_user() {
    let (tables, notes) = run("Defaults runas_default=operator\nu ALL = /bin/a\n");
    assert_eq!(
        tables,
        r#"[defaults]
[[rule]]
id = "t-L2"
who = ["u"]
run_as = ["operator"]
commands = ["/bin/a"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: Defaults runas_default=operator: rules without a run-as list are converted with run_as = [\"operator\"], but jitsudo still runs a command as root when -u is not given: the caller must pass -u operator",
        ]
    );
}

#[test]
fn defaults_values_out_of_range_or_unknown() {
    let (tables, notes) = run("Defaults timestamp_timeout=-1, umask=0777, passwd_tries=0, secure_path=bin:/usr/bin\nDefaults !env_keep, foo_bar, env_keep=\"A*B OK\"\n");
    assert_eq!(
        tables,
        r#"[defaults]
env_keep = ["OK"]
umask = "0000"
timestamp_timeout = 10080.0
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: Defaults timestamp_timeout=-1: jitsudo remembers an authentication for a week at most; converted as timestamp_timeout = 10080.0",
            "1: NOT CONVERTED: Defaults passwd_tries=0: jitsudo takes a passwd_tries between 1 and 100",
            "1: NOT CONVERTED: Defaults secure_path=bin:/usr/bin: every directory of a secure_path must be absolute",
            "2: NOT CONVERTED: Defaults foo_bar: `foo_bar` is not supported by jitsudo",
            "2: NOT CONVERTED: Defaults env_keep=\"A*B OK\" (A*B): jitsudo's env_keep takes variable names, optionally ending in `*`; a name with a value or an inner `*` is not kept",
        ]
    );
}

#[test]
fn defaults_passwd_timeout_is_minutes_up_to_an_hour() {
    for (sudoers, converted, noted) in [
        ("Defaults passwd_timeout=2.5\n", "2.5", false),
        ("Defaults !passwd_timeout\n", "0.0", false),
        ("Defaults passwd_timeout=90\n", "60.0", true),
    ] {
        let (tables, notes) = run(sudoers);
        assert_eq!(
            tables,
            format!("[defaults]\npasswd_timeout = {converted}\n"),
            "{sudoers}"
        );
        assert_eq!(notes.len(), usize::from(noted), "{notes:?}");
    }
    let (_, notes) = run("Defaults passwd_timeout=-1\n");
    assert_eq!(
        notes,
        ["1: NOT CONVERTED: Defaults passwd_timeout=-1: passwd_timeout must be a number of minutes"]
    );
}

#[test]
fn all_is_kept_apart_and_nosetenv_on_all_is_approximated() {
    let (tables, notes) = run("u ALL = NOSETENV: ALL\nv ALL = (ALL) ALL, /bin/x, ALL\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["ALL"]
auth = "password"
[[rule]]
id = "t-L2"
who = ["v"]
run_as = ["ALL"]
commands = ["ALL"]
auth = "password"
[[rule]]
id = "t-L2-2"
who = ["v"]
run_as = ["ALL"]
commands = ["/bin/x"]
auth = "password"
[[rule]]
id = "t-L2-3"
who = ["v"]
run_as = ["ALL"]
commands = ["ALL"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: ALL: jitsudo lets a rule with ALL set the environment (-E, VAR=value), which NOSETENV (or ALL from an alias) does not in sudo",
        ]
    );
}

#[test]
fn digests_sha256_in_hex_or_base64_only() {
    // The digests of the empty file.
    const SHA256_HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const SHA256_BASE64: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const SHA384_BASE64: &str = "OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb";
    const SHA512_HEX: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    let (tables, notes) = run(&format!(
        "u ALL = sha512:{SHA512_HEX} /bin/a, sha256:{SHA256_BASE64}, sha384:{SHA384_BASE64} /bin/b, \\\n\
         sha256:{SHA256_HEX} /bin/c, sha256:{SHA256_HEX} ALL\n"
    ));
    assert_eq!(
        tables,
        format!(
            r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = [
    "sha256:{SHA256_HEX} /bin/b",
    "sha256:{SHA256_HEX} /bin/c",
]
auth = "password"
"#
        )
    );
    assert_eq!(
        notes,
        [
            format!("1: NOT CONVERTED: sha512:{SHA512_HEX} /bin/a: jitsudo pins sha256 digests only, not sha512: this digest is not converted"),
            format!("1: NOT CONVERTED: sha256:{SHA256_BASE64}, sha384:{SHA384_BASE64} /bin/b: jitsudo pins sha256 digests only, not sha384: this digest is not converted"),
            format!("1: NOT CONVERTED: sha256:{SHA256_HEX} ALL: jitsudo cannot pin a digest on ALL: the entry is not converted"),
        ]
    );
}

#[test]
fn users_that_cannot_be_expressed_are_left_out() {
    let (tables, notes) = run("+admins, %:staff, alice, \"two words\", %#27 ALL = /bin/a\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["alice", "%#27"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: NOT CONVERTED: +admins: netgroups are not supported; this user is left out of the rule",
            "1: NOT CONVERTED: %:staff: non-Unix groups (%:group) need sudo's group plugin; jitsudo matches Unix groups only; this user is left out of the rule",
            "1: NOT CONVERTED: \"two words\": `two words` cannot be written as a jitsudo user or group name; this user is left out of the rule",
        ]
    );
}

#[test]
fn run_as_groups_of_users_cannot_be_expressed() {
    let (tables, notes) = run("u ALL = (%wheel, bob : ALL) /bin/a\nv ALL = (%wheel) /bin/b\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["bob"]
run_as_groups = ["ALL"]
commands = ["/bin/a"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: NOT CONVERTED: %wheel: a %group as run-as user (any member of the group) cannot be expressed; it is left out of the run-as list",
            "2: NOT CONVERTED: %wheel: a %group as run-as user (any member of the group) cannot be expressed; it is left out of the run-as list",
            "2: NOT CONVERTED: (%wheel): no run-as user of the list can be expressed: its commands are not converted",
        ]
    );
}

#[test]
fn undefined_aliases_of_every_kind() {
    let (tables, notes) = run("UNDEF ALL = /bin/a\nu UNDEF_HOSTS = /bin/b\nu ALL = (UNDEF_RUNAS) /bin/c\nu ALL = UNDEF_CMNDS\n");
    assert_eq!(tables, r#""#);
    assert_eq!(
        notes,
        [
            "1: NOT CONVERTED: UNDEF: User_Alias UNDEF is not defined; this user is left out of the rule",
            "1: NOT CONVERTED: UNDEF ALL = /bin/a: no user of the line can be expressed: the line is not converted",
            "2: NOT CONVERTED: UNDEF_HOSTS: Host_Alias UNDEF_HOSTS is not defined; the host is left out of the rule",
            "2: NOT CONVERTED: UNDEF_HOSTS: no host of the list can be expressed: the commands for it are not converted",
            "3: NOT CONVERTED: UNDEF_RUNAS: Runas_Alias UNDEF_RUNAS is not defined; it is left out of the run-as list",
            "3: NOT CONVERTED: (UNDEF_RUNAS): no run-as user of the list can be expressed: its commands are not converted",
            "4: NOT CONVERTED: UNDEF_CMNDS: Cmnd_Alias UNDEF_CMNDS is not defined",
        ]
    );
}

#[test]
fn duplicate_and_looping_aliases() {
    let (tables, notes) = run("Cmnd_Alias A = /bin/a\nCmnd_Alias A = /bin/b\nCmnd_Alias LOOP1 = LOOP2\nCmnd_Alias LOOP2 = LOOP1, /bin/l\nu ALL = A, LOOP1\n");
    assert_eq!(
        tables,
        r#"[command_sets]
A = ["/bin/a"]
[[rule]]
id = "t-L5"
who = ["u"]
run_as = ["root"]
commands = ["@A", "/bin/l"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "2: NOT CONVERTED: Cmnd_Alias A: Cmnd_Alias A is already defined at /etc/sudoers.d/t:1; sudo refuses a file that defines it twice, this definition is ignored",
            "5: NOT CONVERTED: LOOP1 (in LOOP2): Cmnd_Alias LOOP1 refers to itself",
        ]
    );
}

#[test]
fn options_chroot_selinux_home_cwd_and_bad_timeout() {
    let (tables, notes) = run("u ALL = CHROOT=/srv /bin/a, CHROOT=* /bin/b\nv ALL = ROLE=sysadm_r TYPE=sysadm_t /bin/c\nw ALL = CWD=~ /bin/d, TIMEOUT=soon /bin/e\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/b"]
auth = "password"
[[rule]]
id = "t-L3"
who = ["w"]
run_as = ["root"]
commands = ["/bin/d", "/bin/e"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: NOT CONVERTED: CHROOT=/srv /bin/a: jitsudo cannot run commands in another root directory: the command is not converted",
            "1: NOT CONVERTED: CHROOT=* /bin/b: jitsudo cannot run commands in another root directory: -R is refused",
            "2: NOT CONVERTED: ROLE=sysadm_r /bin/c: jitsudo cannot confine a command (SELinux, AppArmor, Solaris privileges): the command is not converted",
            "2: NOT CONVERTED: TYPE=sysadm_t /bin/c: jitsudo cannot confine a command (SELinux, AppArmor, Solaris privileges): the command is not converted",
            "3: APPROXIMATED: CWD=~: a home directory as working directory cannot be expressed: the command runs in the caller's directory and -D is refused",
            "3: NOT CONVERTED: TIMEOUT=soon: `soon` is not a duration: the command has no time limit",
        ]
    );
}

#[test]
fn periods_round_inwards_to_whole_days() {
    let (tables, notes) = run("u ALL = NOTBEFORE=20260101120000Z /bin/a\nv ALL = NOTBEFORE=20260101120000Z NOTAFTER=20260101180000Z /bin/b\nw ALL = NOTAFTER=20261301000000 /bin/c\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
when = { dates = "2026-01-02..", tz = "UTC" }
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: NOTBEFORE=20260101120000Z /bin/a: jitsudo's dates are whole days: converted as dates = \"2026-01-02..\" (tz = \"UTC\"), the part-days at the ends are left out",
            "2: NOT CONVERTED: NOTBEFORE=20260101120000Z NOTAFTER=20260101180000Z /bin/b: the period holds no whole day, and jitsudo's dates are whole days: the command is not converted",
            "3: NOT CONVERTED: NOTAFTER=20261301000000 /bin/c: NOTAFTER=20261301000000 is not a time sudo reads (YYYYMMDDHH[MM[SS]][Z|±HHMM]): the command is not converted",
        ]
    );
}

#[test]
fn hosts_become_when_hosts_and_addresses_are_left_out() {
    let (tables, notes) = run("Host_Alias WEB = web1, 10.0.0.1\nu WEB = /bin/a\nv 10.0.0.0/8, +hosts = /bin/b\nw web1 = !/bin/c, (root) ALL\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
when = { hosts = ["web1"] }
[[rule]]
id = "t-L4"
who = ["w"]
run_as = ["root"]
commands = ["ALL"]
auth = "password"
when = { hosts = ["web1"] }
"#
    );
    assert_eq!(
        notes,
        [
            "2: NOT CONVERTED: 10.0.0.1 (in WEB): jitsudo matches hosts by name, not by address or network; the host is left out of the rule",
            "3: NOT CONVERTED: 10.0.0.0/8: jitsudo matches hosts by name, not by address or network; the host is left out of the rule",
            "3: NOT CONVERTED: +hosts: netgroups are not supported; the host is left out of the rule",
            "3: NOT CONVERTED: 10.0.0.0/8, +hosts: no host of the list can be expressed: the commands for it are not converted",
            "4: IGNORED: !/bin/c: has no effect: the later entry ALL allows it again (in sudo the last match of a line wins)",
        ]
    );
}

#[test]
fn negated_wildcard_arguments_widen_the_denial() {
    let (tables, notes) = run("Cmnd_Alias RM = /bin/rm -rf *, /bin/rm -f /tmp/[a-z]?\nCmnd_Alias SAFE = /bin/ls\nu ALL = ALL, !RM, !SAFE\nv ALL = RM\n");
    assert_eq!(
        tables,
        r#"[command_sets]
RM = ["/bin/rm -rf *", "/bin/rm -f /tmp/[a-z]?"]
SAFE = ["/bin/ls"]
[[rule]]
id = "t-L3"
who = ["u"]
run_as = ["root"]
commands = ["ALL"]
auth = "password"
[[rule]]
id = "t-L3-2"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["/bin/rm", "@SAFE"]
[[rule]]
id = "t-L4"
who = ["v"]
run_as = ["root"]
commands = ["@RM"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: /bin/rm -rf *: sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
            "3: APPROXIMATED: /bin/rm -rf * (in RM): sudo matches wildcards in arguments against all the arguments joined by spaces, and jitsudo cannot deny a varying number of arguments: converted as a deny of /bin/rm with any arguments (it denies more than sudo did)",
            "3: APPROXIMATED: /bin/rm -f /tmp/[a-z]? (in RM): sudo matches wildcards in arguments against all the arguments joined by spaces, and jitsudo cannot deny a varying number of arguments: converted as a deny of /bin/rm with any arguments (it denies more than sudo did)",
        ]
    );
}

#[test]
fn logging_mail_and_follow_tags() {
    let (tables, notes) = run("u ALL = LOG_INPUT: LOG_OUTPUT: /bin/a, MAIL: /bin/b, NOFOLLOW: /bin/c, NOLOG_INPUT: NOLOG_OUTPUT: NOMAIL: FOLLOW: /bin/d\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a", "/bin/b", "/bin/c", "/bin/d"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: APPROXIMATED: LOG_INPUT: jitsudo does not record terminal input or output; its audit log records the command",
            "1: APPROXIMATED: LOG_OUTPUT: jitsudo does not record terminal input or output; its audit log records the command",
            "1: IGNORED: MAIL: jitsudo sends no mail",
            "1: IGNORED: NOFOLLOW: jitsudo never edits a file through a symbolic link",
            "1: IGNORED: NOMAIL: jitsudo sends no mail",
            "1: APPROXIMATED: FOLLOW: jitsudo never edits a file through a symbolic link",
        ]
    );
}

#[test]
fn arguments_with_quotes_and_paths_with_spaces_use_the_table_form() {
    let (tables, notes) =
        run("u ALL = /bin/echo \"hello\", /opt/my\\ app/run, /bin/printf %s\\\\n\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = [
    { path = "/bin/echo", args = ["\"hello\""] },
    { path = "/opt/my app/run" },
    "/bin/printf %s\\n",
]
auth = "password"
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn requiretty_applies_to_allow_rules_only() {
    let (tables, notes) = run("Defaults requiretty\nu ALL = !/bin/su, (root) /bin/a\n");
    assert_eq!(
        tables,
        r#"[defaults]
[[rule]]
id = "t-L2"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["/bin/su"]
[[rule]]
id = "t-L2-2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
when = { tty = true }
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn several_host_parts_on_one_line() {
    let (tables, notes) = run("u ALL = /bin/a : web1 = /bin/b : ALL = (bob) /bin/c\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/a"]
auth = "password"
[[rule]]
id = "t-L1-2"
who = ["u"]
run_as = ["root"]
commands = ["/bin/b"]
auth = "password"
when = { hosts = ["web1"] }
[[rule]]
id = "t-L1-3"
who = ["u"]
run_as = ["bob"]
commands = ["/bin/c"]
auth = "password"
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn a_syntax_error_drops_its_line_only() {
    let (tables, notes) = run("u ALL = /bin/a,\nv ALL = /bin/b\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L2"
who = ["v"]
run_as = ["root"]
commands = ["/bin/b"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "1: NOT CONVERTED: u ALL = /bin/a,: syntax error: expected a command, found the end of the line (sudo refuses to run with such a file; visudo -c shows it)",
        ]
    );
}

#[test]
fn negations_and_the_last_match_of_a_line() {
    let (tables, notes) = run("u ALL = /bin/x, !/bin/x, !ALL\nv ALL = !/bin/y, /bin/y -v, /bin/y\nw ALL = !/bin/z, (bob) /bin/z\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/x"]
auth = "password"
[[rule]]
id = "t-L1-2"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["/bin/x"]
[[rule]]
id = "t-L1-3"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["ALL"]
[[rule]]
id = "t-L2"
who = ["v"]
run_as = ["root"]
commands = ["/bin/y -v", "/bin/y"]
auth = "password"
[[rule]]
id = "t-L3"
effect = "deny"
who = ["w"]
run_as = ["root"]
commands = ["/bin/z"]
[[rule]]
id = "t-L3-2"
who = ["w"]
run_as = ["bob"]
commands = ["/bin/z"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        [
            "2: IGNORED: !/bin/y: has no effect: the later entry /bin/y allows it again (in sudo the last match of a line wins)",
        ]
    );
}

#[test]
fn patterns_jitsudo_cannot_compile_are_left_out() {
    let (tables, notes) = run("u ALL = /bin/x [abc, /bin/y\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["/bin/y"]
auth = "password"
"#
    );
    assert_eq!(
        notes,
        ["1: NOT CONVERTED: /bin/x [abc: pattern `[abc` has a `[` without its closing `]`: the entry is not converted"]
    );
}

#[test]
fn denials_keep_the_host_list_of_their_line() {
    let (tables, notes) = run("u web* = (root) ALL, !/bin/su\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["ALL"]
auth = "password"
when = { hosts = ["web*"] }
[[rule]]
id = "t-L1-2"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["/bin/su"]
when = { hosts = ["web*"] }
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn tags_and_options_of_a_denial_are_not_reported() {
    let (tables, notes) = run("u ALL = (root) ALL, CWD=/srv NOEXEC: !/bin/sh\n");
    assert_eq!(
        tables,
        r#"[[rule]]
id = "t-L1"
who = ["u"]
run_as = ["root"]
commands = ["ALL"]
auth = "password"
[[rule]]
id = "t-L1-2"
effect = "deny"
who = ["u"]
run_as = ["root"]
commands = ["/bin/sh"]
"#
    );
    assert!(notes.is_empty(), "{notes:?}");
}
