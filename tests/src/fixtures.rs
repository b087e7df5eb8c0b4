//! The test accounts and the rules that apply to them.
//!
//! Every case picks one of these users as its caller. [`config`] turns the
//! table into a [`Config`], which is written both as the jitsudo policy and as
//! the sudoers drop-in.

use std::process::Command;

use nix::unistd::{Group, User};

use crate::policy::{Cmd, Config, Defaults, Rule, Who};
use crate::util::{check_status, run_checked};

/// May run anything as anyone (`(ALL:ALL) NOPASSWD: ALL`), may set the
/// environment and use `-D`.
pub const ADMIN: &str = "jt_admin";
/// May run `/usr/bin/id` and `/usr/bin/printenv` (any arguments),
/// `/usr/bin/whoami` (no arguments) and `/usr/bin/echo exact args` as root,
/// without a password, no SETENV.
pub const LIMITED: &str = "jt_limited";
/// May run anything, but only with a password.
pub const PW: &str = "jt_pw";
/// Has no rule at all.
pub const NOBODY: &str = "jt_nobody";
/// Member of [`TEAM`], whose `%group` rule allows `/usr/bin/id` as [`TARGET`].
pub const GRP: &str = "jt_grp";
/// Member of [`GTEAM`], whose `%#gid` rule allows `/usr/bin/id` as root.
pub const GIDUSER: &str = "jt_gid";
/// Matched by a `#uid` rule allowing `/usr/bin/id` as root.
pub const UIDUSER: &str = "jt_uid";
/// May run `/usr/bin/env` with SETENV (but not `ALL`).
pub const SETENV: &str = "jt_setenv";
/// Two rules: `ALL` without a password, then `/usr/bin/id` with one; the
/// later one wins for `id`.
pub const PREC: &str = "jt_prec";
/// A target account with supplementary groups [`TGRP`] and [`OTHER`].
pub const TARGET: &str = "jt_target";
/// Like [`PW`] (anything, with a password), for the cases that remove all
/// of the user's cached credentials (`-K`): on [`PW`] they would disturb
/// concurrent cases relying on a cached authentication.
pub const FORGET: &str = "jt_forget";
/// Like [`PW`], but the account has expired (`usermod --expiredate 1`):
/// its password is right, PAM's account management refuses it.
pub const EXPIRED: &str = "jt_expired";
/// May run `/usr/bin/id` pinned to its SHA-256 digest, without a password.
pub const PINNED: &str = "jt_pinned";
/// May run `/usr/bin/rbash` (a symlink to bash), without a password.
pub const RBASH: &str = "jt_rbash";
/// The superuser: has a password rule (like Debian's `root ALL=(ALL:ALL)
/// ALL`), and is never asked for a password.
pub const ROOT: &str = "root";

/// Group with a `%group` rule.
pub const TEAM: &str = "jt_team";
/// Group with a `%#gid` rule.
pub const GTEAM: &str = "jt_gteam";
/// Supplementary group of [`TARGET`].
pub const TGRP: &str = "jt_tgrp";
/// Another supplementary group of [`TARGET`], also usable with `-g`.
pub const OTHER: &str = "jt_other";

/// Asks for just-in-time grants (tests/tests/grants.rs).
pub const REQUESTER: &str = "jt_req";
/// Approves grants, named as a user.
pub const APPROVER1: &str = "jt_appr1";
/// Approves grants, through the [`APPROVERS`] group.
pub const APPROVER2: &str = "jt_appr2";
/// Neither requests nor approves anything.
pub const OUTSIDER: &str = "jt_outsider";
/// The group of [`APPROVER2`].
pub const APPROVERS: &str = "jt_approvers";

/// Groups to create.
pub const GROUPS: &[&str] = &[TEAM, GTEAM, TGRP, OTHER, APPROVERS];

/// Users to create, with their supplementary groups.
pub const USERS: &[(&str, &[&str])] = &[
    (ADMIN, &[]),
    (LIMITED, &[]),
    (PW, &[]),
    (NOBODY, &[]),
    (GRP, &[TEAM]),
    (GIDUSER, &[GTEAM]),
    (UIDUSER, &[]),
    (SETENV, &[]),
    (PREC, &[]),
    (TARGET, &[TGRP, OTHER]),
    (FORGET, &[]),
    (EXPIRED, &[]),
    (PINNED, &[]),
    (RBASH, &[]),
    (REQUESTER, &[]),
    (APPROVER1, &[]),
    (APPROVER2, &[APPROVERS]),
    (OUTSIDER, &[]),
];

/// The password of a test user (set with chpasswd, for the PAM tests).
pub fn password(user: &str) -> String {
    format!("Pw-{user}-42")
}

/// A resolved account.
#[derive(Debug, Clone)]
pub struct Account {
    /// User name.
    pub name: String,
    /// Numeric uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// Looks up a user; panics if it does not exist.
pub fn account(name: &str) -> Account {
    let user = User::from_name(name)
        .unwrap_or_else(|e| panic!("getpwnam({name}): {e}"))
        .unwrap_or_else(|| panic!("user {name} does not exist"));
    Account {
        name: name.into(),
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir.to_string_lossy().into_owned(),
        shell: user.shell.to_string_lossy().into_owned(),
    }
}

/// Numeric gid of a group; panics if it does not exist.
pub fn gid(name: &str) -> u32 {
    Group::from_name(name)
        .unwrap_or_else(|e| panic!("getgrnam({name}): {e}"))
        .unwrap_or_else(|| panic!("group {name} does not exist"))
        .gid
        .as_raw()
}

/// Creates the groups and users that are missing (idempotent), makes sure
/// each user is in exactly its table groups, (re)sets every password, and
/// expires [`EXPIRED`]'s account.
pub fn ensure_accounts() {
    for group in GROUPS {
        if Group::from_name(group).ok().flatten().is_none() {
            let mut cmd = Command::new("groupadd");
            cmd.arg(group);
            // Exit 9: created concurrently by another test process.
            let out = cmd.output().expect("run groupadd");
            if !out.status.success() && out.status.code() != Some(9) {
                check_status(&cmd, &out);
            }
        }
    }
    for (name, groups) in USERS {
        if User::from_name(name).ok().flatten().is_none() {
            let mut cmd = Command::new("useradd");
            cmd.args(["--create-home", "--shell", "/bin/bash", "--user-group"]);
            cmd.arg(name);
            let out = cmd.output().expect("run useradd");
            if !out.status.success() && out.status.code() != Some(9) {
                check_status(&cmd, &out);
            }
        }
        let mut cmd = Command::new("usermod");
        cmd.arg("--groups").arg(groups.join(",")).arg(name);
        run_checked(&mut cmd);
    }
    let input: String = USERS
        .iter()
        .map(|(name, _)| format!("{name}:{}\n", password(name)))
        .collect();
    crate::util::run_with_input(Command::new("chpasswd"), input.as_bytes());
    // Expired since 2 January 1970 (day 1 in /etc/shadow's expire field).
    if shadow_field(EXPIRED, 7).as_deref() != Some("1") {
        run_checked(Command::new("usermod").args(["--expiredate", "1", EXPIRED]));
    }
}

/// Field `index` (0: the name) of `user`'s /etc/shadow entry.
fn shadow_field(user: &str, index: usize) -> Option<String> {
    let shadow = std::fs::read_to_string("/etc/shadow").ok()?;
    shadow
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&user))?
        .get(index)
        .map(|s| s.to_string())
}

/// The rules every case runs under (users must exist: `#uid`/`%#gid`
/// entries are resolved here).
pub fn config() -> Config {
    let user = |n: &str| Who::User(n.into());
    let id = || Cmd::AnyArgs("/usr/bin/id".into());
    Config {
        defaults: Defaults {
            closefrom_override_as: vec![TARGET.into()],
            ..Defaults::default()
        },
        rules: vec![
            Rule::new("admin-all", vec![user(ADMIN)], vec![Cmd::All])
                .run_as(&["ALL"])
                .run_as_groups(&["ALL"])
                .nopasswd()
                .setenv()
                .cwd_any(),
            Rule::new(
                "limited",
                vec![user(LIMITED)],
                vec![
                    id(),
                    Cmd::AnyArgs("/usr/bin/printenv".into()),
                    Cmd::Exact("/usr/bin/whoami".into(), vec![]),
                    Cmd::Exact("/usr/bin/echo".into(), vec!["exact".into(), "args".into()]),
                ],
            )
            .nopasswd(),
            Rule::new("pw-all", vec![user(PW)], vec![Cmd::All])
                .run_as(&["ALL"])
                .run_as_groups(&["ALL"]),
            Rule::new("team-id", vec![Who::Group(TEAM.into())], vec![id()])
                .run_as(&[TARGET])
                .nopasswd(),
            Rule::new("gteam-id", vec![Who::Gid(gid(GTEAM))], vec![id()]).nopasswd(),
            Rule::new("uid-id", vec![Who::Uid(account(UIDUSER).uid)], vec![id()]).nopasswd(),
            Rule::new(
                "setenv-env",
                vec![user(SETENV)],
                vec![Cmd::AnyArgs("/usr/bin/env".into())],
            )
            .nopasswd()
            .setenv(),
            Rule::new("prec-all", vec![user(PREC)], vec![Cmd::All]).nopasswd(),
            Rule::new("prec-id-pw", vec![user(PREC)], vec![id()]),
            Rule::new("forget-all", vec![user(FORGET)], vec![Cmd::All])
                .run_as(&["ALL"])
                .run_as_groups(&["ALL"]),
            Rule::new("expired-all", vec![user(EXPIRED)], vec![Cmd::All])
                .run_as(&["ALL"])
                .run_as_groups(&["ALL"]),
            Rule::new(
                "pinned-id",
                vec![user(PINNED)],
                vec![Cmd::Pinned(sha256_of("/usr/bin/id"), "/usr/bin/id".into())],
            )
            .nopasswd(),
            Rule::new(
                "rbash",
                vec![user(RBASH)],
                vec![Cmd::AnyArgs("/usr/bin/rbash".into())],
            )
            .nopasswd(),
            Rule::new("root-all", vec![user(ROOT)], vec![Cmd::All])
                .run_as(&["ALL"])
                .run_as_groups(&["ALL"]),
        ],
    }
}

/// The SHA-256 of a file, in hexadecimal (`sha256sum`).
fn sha256_of(path: &str) -> String {
    let out = run_checked(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}
