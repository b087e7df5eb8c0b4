//! Who the command runs as, and who may run what: `-u`, `-g`, `#uid`,
//! unknown and hostile names, and the rule table (users, `%group`, `%#gid`,
//! `#uid`, exact arguments, precedence). Typing passwords: auth.rs.

use std::process::Command;

use jitsudo_tests::*;

/// Expects `script` (run by `user`) to be refused the way sudo refuses a
/// command that needs authentication it cannot get: exit 1, only
/// "a password is required" (sudo asks for the password before it says
/// whether the command would be allowed, so -n never reveals that).
fn refused_without_password(user: &str, script: &str) {
    Case::new(user, script)
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: a password is required\n")
        .assert_same();
}

/// Expects `script` to succeed with exactly `stdout` and no stderr.
fn allowed(user: &str, script: &str, stdout: &str) {
    Case::new(user, script)
        .status(0)
        .stdout_is(stdout)
        .stderr_empty()
        .assert_same();
}

#[test]
fn default_target_is_root_with_root_groups_only() {
    allowed(
        ADMIN,
        "$SUDO id",
        "uid=0(root) gid=0(root) groups=0(root)\n",
    );
}

#[test]
fn target_user_gets_its_own_ids_and_groups_only() {
    let t = account(TARGET);
    let a = account(ADMIN);
    Case::new(ADMIN, "$SUDO -u jt_target id")
        .status(0)
        .stdout_has(&format!(
            "uid={}(jt_target) gid={}(jt_target) groups=",
            t.uid, t.gid
        ))
        .stdout_has(&format!("{}(jt_tgrp)", gid(TGRP)))
        .stdout_has(&format!("{}(jt_other)", gid(OTHER)))
        .stdout_lacks(&format!("({})", a.name))
        .stderr_empty()
        .assert_same();
}

#[test]
fn real_and_effective_ids_are_the_target() {
    let t = account(TARGET);
    allowed(
        ADMIN,
        "$SUDO -u jt_target sh -c 'echo $(id -ru) $(id -u) $(id -rg) $(id -g)'",
        &format!("{0} {0} {1} {1}\n", t.uid, t.gid),
    );
}

#[test]
fn target_by_numeric_uid() {
    allowed(
        ADMIN,
        &format!("$SUDO -u '#{}' id -un", account(TARGET).uid),
        "jt_target\n",
    );
}

#[test]
fn group_option_with_user_sets_the_primary_group() {
    let t = account(TARGET);
    Case::new(ADMIN, "$SUDO -u jt_target -g jt_other id")
        .status(0)
        .stdout_has(&format!(
            "uid={}(jt_target) gid={}(jt_other)",
            t.uid,
            gid(OTHER)
        ))
        .stdout_has("(jt_tgrp)")
        .stderr_empty()
        .assert_same();
}

/// `-g` alone runs as the caller, with that primary group added to the
/// caller's own groups.
#[test]
fn group_option_without_user_runs_as_the_caller() {
    let a = account(ADMIN);
    Case::new(ADMIN, "$SUDO -g jt_team id")
        .status(0)
        .stdout_has(&format!(
            "uid={}(jt_admin) gid={}(jt_team)",
            a.uid,
            gid(TEAM)
        ))
        .stdout_has(&format!("{}(jt_admin)", a.gid))
        .stderr_empty()
        .assert_same();
}

#[test]
fn group_by_numeric_gid() {
    allowed(
        ADMIN,
        &format!("$SUDO -u jt_target -g '#{}' id -gn", gid(OTHER)),
        "jt_other\n",
    );
}

/// An unknown or hostile target: exit 1, "unknown user"/"unknown group", and
/// the command does not run (its marker file is not created).
fn unknown_target(flag: &str, name: &str, what: &str) {
    Case::new(
        ADMIN,
        format!("$SUDO -n {flag} \"$NAME\" touch ran; echo rc=$?; test -e ran && echo RAN; true"),
    )
    .env("NAME", name)
    .in_fresh_dir()
    .known("audit-plugin-line")
    .status(0)
    .stdout_is("rc=1\n")
    .stderr_is(&format!("jitsudo: unknown {what} {name}\n"))
    .assert_same();
}

#[test]
fn unknown_user_name() {
    unknown_target("-u", "jt_no_such_user", "user");
}

#[test]
fn unknown_numeric_uid() {
    unknown_target("-u", "#77777", "user");
}

#[test]
fn negative_uid() {
    unknown_target("-u", "#-1", "user");
}

#[test]
fn uid_out_of_range() {
    unknown_target("-u", "#4294967295", "user");
    unknown_target("-u", "#4294967296", "user");
    unknown_target("-u", "#99999999999999999999", "user");
}

#[test]
fn path_like_user_name() {
    unknown_target("-u", "../root", "user");
    unknown_target("-u", "root/..", "user");
}

#[test]
fn absurdly_long_user_name() {
    unknown_target("-u", &"a".repeat(10_000), "user");
}

#[test]
fn unknown_group_name() {
    unknown_target("-g", "jt_no_such_group", "group");
}

#[test]
fn unknown_and_hostile_group_ids() {
    for name in ["#77777", "#-1", "#4294967295", "../root"] {
        unknown_target("-g", name, "group");
    }
}

#[test]
fn absurdly_long_group_name() {
    unknown_target("-g", &"g".repeat(10_000), "group");
}

#[test]
fn user_without_any_rule_is_refused() {
    refused_without_password(NOBODY, "$SUDO -n id");
}

/// Without a terminal the password cannot be read; what the user may run
/// is not revealed (more in auth.rs).
#[test]
fn user_without_any_rule_and_no_tty() {
    Case::new(NOBODY, "$SUDO id")
        .status(1)
        .stdout_is("")
        .stderr_is(
            "jitsudo: a terminal is required to read the password; either use the -S option \
             to read from standard input or configure an askpass helper\n\
             jitsudo: a password is required\n",
        )
        .assert_same();
}

#[test]
fn password_rule_fails_closed_without_a_password() {
    refused_without_password(PW, "$SUDO -n id");
}

#[test]
fn limited_user_runs_allowed_commands() {
    allowed(LIMITED, "$SUDO -n id -un", "root\n");
    allowed(LIMITED, "$SUDO -n /usr/bin/id -u", "0\n");
    allowed(LIMITED, "$SUDO -n whoami", "root\n");
    allowed(LIMITED, "$SUDO -n echo exact args", "exact args\n");
}

#[test]
fn limited_user_is_refused_other_commands() {
    refused_without_password(LIMITED, "$SUDO -n ls /");
    refused_without_password(LIMITED, "$SUDO -n sh -c id");
}

#[test]
fn exact_arguments_must_match_exactly() {
    refused_without_password(LIMITED, "$SUDO -n whoami --help");
    refused_without_password(LIMITED, "$SUDO -n echo exact");
    refused_without_password(LIMITED, "$SUDO -n echo exact args more");
}

#[test]
fn exact_arguments_are_compared_as_a_vector() {
    Case::new(LIMITED, "$SUDO -n echo 'exact args'")
        .known("exact-argv")
        .on(Impl::Jitsudo)
        .status(1)
        .stdout_is("")
        .stderr_is("jitsudo: a password is required\n")
        .on(Impl::Sudo)
        .status(0)
        .stdout_is("exact args\n")
        .assert_same();
}

#[test]
fn limited_user_is_refused_other_targets() {
    refused_without_password(LIMITED, "$SUDO -n -u jt_target id");
    refused_without_password(LIMITED, "$SUDO -n -g jt_team id");
}

#[test]
fn group_rule_allows_its_members() {
    allowed(GRP, "$SUDO -n -u jt_target id -un", "jt_target\n");
    refused_without_password(GRP, "$SUDO -n id");
}

#[test]
fn numeric_gid_rule_allows_its_members() {
    allowed(GIDUSER, "$SUDO -n id -u", "0\n");
    refused_without_password(GIDUSER, "$SUDO -n whoami");
}

#[test]
fn numeric_uid_rule_allows_that_user() {
    allowed(UIDUSER, "$SUDO -n id -u", "0\n");
    refused_without_password(UIDUSER, "$SUDO -n whoami");
}

#[test]
fn last_matching_rule_decides() {
    refused_without_password(PREC, "$SUDO -n id");
    allowed(PREC, "$SUDO -n whoami", "root\n");
}

/// A daemon named `name` whose policy lets jt_grp run anything, lets
/// `%jt_team` run whoami, and denies `%jt_team` id.
fn group_rules_daemon(name: &str) -> jitsudo_tests::daemon::Daemon {
    const POLICY: &str = "[[rule]]\nid = \"grp-all\"\nwho = [\"jt_grp\"]\ncommands = [\"ALL\"]\n\
        auth = \"none\"\n\n[[rule]]\nid = \"team-whoami\"\nwho = [\"%jt_team\"]\n\
        commands = [\"/usr/bin/whoami\"]\nauth = \"none\"\n\n[[rule]]\nid = \"team-no-id\"\n\
        effect = \"deny\"\nwho = [\"%jt_team\"]\ncommands = [\"/usr/bin/id\"]\n";
    let w = world();
    let policy = w.policy_dir(name).join("policy.toml");
    jitsudo_tests::util::write_atomic(&policy, POLICY.as_bytes(), 0o644);
    jitsudo_tests::daemon::Daemon::start(w, name, &policy)
}

/// A `%group` deny rule cannot be escaped by dropping the group: with
/// `newgidmap` (package uidmap) and a range in /etc/subgid, a user may
/// create a user namespace where `setgroups` is allowed and drop a
/// supplementary group from the process, which `SO_PEERGROUPS` then no
/// longer reports. Deny rules match the group database's list too.
#[test]
fn a_group_deny_rule_holds_after_the_group_is_dropped() {
    const SCRIPT: &str = r#"range=$(grep "^$(id -un):" /etc/subgid | cut -d: -f2)
unshare --user --map-users="$(id -u),0,1" --map-groups="$range,0,65536" -- setpriv --groups=1 -- sh -c '
grep -q "^Groups:[[:space:]]*1[[:space:]]*$" /proc/self/status && echo dropped
$SUDO -n /usr/bin/id -un > out 2> err; echo id=$?
$SUDO -n /usr/bin/whoami; echo whoami=$?'"#;
    let daemon = group_rules_daemon("group-drop");
    let program = world().program(Impl::Jitsudo);
    let script = SCRIPT.replace("$SUDO", &program.display().to_string());
    Case::new(GRP, script)
        .socket(&daemon.socket)
        .in_fresh_dir()
        .status(0)
        .stdout_is("dropped\nid=1\nroot\nwhoami=0\n")
        .assert_jitsudo();
}

/// A group the process holds but the group database does not list for the
/// user (removed from the group while still logged in, here set up by root
/// with `setpriv --groups`) grants nothing; it still counts for deny rules.
#[test]
fn a_group_the_database_does_not_list_grants_nothing() {
    let daemon = group_rules_daemon("group-stale");
    let run = |command: &str| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid=jt_nobody",
                "--regid=jt_nobody",
                "--groups=jt_team",
                "--",
            ])
            .arg(world().program(Impl::Jitsudo))
            .args(["-n", command])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("JITSUDO_SOCKET", &daemon.socket)
            .output()
            .expect("run setpriv")
    };
    for command in ["/usr/bin/whoami", "/usr/bin/id"] {
        let out = run(command);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command} ran: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A policy that names no group: jt_limited may run `id`.
const NO_GROUP_POLICY: &str = "[[rule]]\nid = \"limited-id\"\nwho = [\"jt_limited\"]\n\
    commands = [\"/usr/bin/id\"]\nauth = \"none\"\n";

/// A daemon named `name` with `policy` (written to its policy file, whose
/// path comes back for reloads).
fn daemon_with(name: &str, policy: &str) -> (jitsudo_tests::daemon::Daemon, std::path::PathBuf) {
    let w = world();
    let path = w.policy_dir(name).join("policy.toml");
    jitsudo_tests::util::write_atomic(&path, policy.as_bytes(), 0o644);
    (jitsudo_tests::daemon::Daemon::start(w, name, &path), path)
}

/// `jitsudo -n command` as jt_grp (a member of jt_team, named by no
/// user rule) against `daemon`: its stdout, or `None` if it was refused.
fn grp_runs(daemon: &jitsudo_tests::daemon::Daemon, command: &str) -> Option<String> {
    let out = jitsudo_tests::grants::sudo(GRP, daemon, &["-n", command]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The daemon looks the caller's groups up only when the policy names a
/// group; a `%group` allow rule that is the policy's only mention of a
/// group still lets its members in, also when a reload brings it in (the
/// daemon decides per policy, not once at start).
#[test]
fn a_group_rule_alone_still_allows_its_members() {
    let (daemon, path) = daemon_with("group-only-allow", NO_GROUP_POLICY);
    assert_eq!(grp_runs(&daemon, "/usr/bin/whoami"), None);
    let with_group = format!(
        "{NO_GROUP_POLICY}\n[[rule]]\nid = \"team-whoami\"\nwho = [\"%jt_team\"]\n\
         commands = [\"/usr/bin/whoami\"]\nauth = \"none\"\n"
    );
    jitsudo_tests::util::write_atomic(&path, with_group.as_bytes(), 0o644);
    let reload = Command::new(world().jitsudo_bin().join("jitsudoctl"))
        .args(["policy", "reload", "--socket"])
        .arg(&daemon.socket)
        .output()
        .expect("run jitsudoctl");
    assert!(reload.status.success(), "reload refused");
    assert_eq!(
        grp_runs(&daemon, "/usr/bin/whoami").as_deref(),
        Some("root\n")
    );
    assert_eq!(grp_runs(&daemon, "/usr/bin/id"), None);
    // A daemon started with it serves it the same way.
    let (fresh, _) = daemon_with("group-only-allow-fresh", &with_group);
    assert_eq!(
        grp_runs(&fresh, "/usr/bin/whoami").as_deref(),
        Some("root\n")
    );
}

/// A `%group` deny rule that is the policy's only mention of a group
/// still refuses the group's members what a user rule allows them.
#[test]
fn a_group_deny_rule_alone_still_refuses_its_members() {
    const POLICY: &str = "[[rule]]\nid = \"grp-all\"\nwho = [\"jt_grp\"]\ncommands = [\"ALL\"]\n\
        auth = \"none\"\n\n[[rule]]\nid = \"team-no-id\"\neffect = \"deny\"\nwho = [\"%jt_team\"]\n\
        commands = [\"/usr/bin/id\"]\n";
    let (daemon, _) = daemon_with("group-only-deny", POLICY);
    assert_eq!(
        grp_runs(&daemon, "/usr/bin/whoami").as_deref(),
        Some("root\n")
    );
    assert_eq!(grp_runs(&daemon, "/usr/bin/id"), None);
}

/// A daemon named `name` whose only rule lets jt_nobody run `id` from a
/// local terminal (`when.origin = ["local"]`).
fn local_only_daemon(name: &str) -> jitsudo_tests::daemon::Daemon {
    const POLICY: &str = "[[rule]]\nid = \"local-only\"\nwho = [\"jt_nobody\"]\n\
        commands = [\"/usr/bin/id\"]\nauth = \"none\"\nwhen = { origin = [\"local\"] }\n";
    let w = world();
    let policy = w.policy_dir(name).join("policy.toml");
    jitsudo_tests::util::write_atomic(&policy, POLICY.as_bytes(), 0o644);
    jitsudo_tests::daemon::Daemon::start(w, name, &policy)
}

/// Runs `jitsudo -n /usr/bin/id -un` as jt_nobody on a terminal of its own
/// (`script`), in a new audit session (root writes `/proc/self/loginuid`,
/// as `pam_loginuid` does at login) whose root login process is still
/// there (`login_ended` false) or gone (true: the process was left behind
/// by a login that ended, as by a closed SSH connection; it waits for
/// that before it runs). Returns what it printed, and its exit status.
fn in_audit_session(daemon: &jitsudo_tests::daemon::Daemon, login_ended: bool) -> String {
    let dir = world().scratch_dir("audit-session");
    let program = world().program(Impl::Jitsudo);
    let user_part = format!(
        "while [ -n \"$1\" ] && [ -e /proc/\"$1\" ]; do sleep 0.05; done; \
         script -qec '{} -n /usr/bin/id -un' /dev/null > {dir}/out 2>&1; \
         echo \"status=$?\" >> {dir}/out; touch {dir}/done",
        program.display(),
        dir = dir.display()
    );
    let holder = if login_ended { "exit 0" } else { "wait" };
    let root_part = format!(
        "echo 0 > /proc/self/loginuid || exit 3; \
         setsid setpriv --reuid=jt_nobody --regid=jt_nobody --init-groups -- \
         sh -c {} sh {} & {holder}",
        jitsudo_tests::util::shell_quote(&user_part),
        // Live: no pid to wait for. (Not `kill -0`: as jt_nobody it fails
        // with EPERM on a root process that is still there, and the orphan
        // did not wait for its login to end: flaky under load.)
        if login_ended { "$$" } else { "\"\"" },
    );
    let status = std::process::Command::new("sh")
        .args(["-c", &root_part])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("JITSUDO_SOCKET", &daemon.socket)
        .status()
        .expect("run sh");
    assert!(status.success(), "setting up the audit session failed");
    let done = dir.join("done");
    jitsudo_tests::util::poll_until(std::time::Duration::from_secs(20), || {
        done.exists().then_some(())
    })
    .expect("the orphan never ran jitsudo");
    std::fs::read_to_string(dir.join("out")).expect("read out")
}

/// A process left behind by a login that ended (here: orphaned, on a
/// terminal of its own, its audit session held by no root process any
/// more, as after `( (sleep 9; script -c 'jitsudo …') & )` and a closed
/// SSH connection) has no sshd among its ancestors, yet must not pass for
/// a local session: its origin is unknown, and `origin = ["local"]` does
/// not let it in. The same process while its root login process is still
/// there is local.
#[test]
fn an_orphan_of_an_ended_login_is_not_local() {
    let daemon = local_only_daemon("origin-ended-login");
    let live = in_audit_session(&daemon, false);
    assert!(
        live.contains("root") && live.ends_with("status=0\n"),
        "{live}"
    );
    let ended = in_audit_session(&daemon, true);
    assert!(
        !ended.contains("root") && ended.ends_with("status=1\n"),
        "{ended}"
    );
}
