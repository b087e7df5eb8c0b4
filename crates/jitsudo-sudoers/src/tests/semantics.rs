//! What the converted fixtures allow and refuse, asked of the policy
//! engine itself: the conversion means what sudo meant.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::{convert, policy_of};
use jitsudo_policy::{
    Auth, Caller, Context, Decision, GroupRef, Origin, Policy, Reason, Request, TargetUser,
    Timestamp,
};

/// 2026-03-02 09:30 UTC.
const MARCH_2026: i64 = 1_772_443_800;

/// A request, built field by field.
#[derive(Debug, Clone)]
struct Ask {
    user: &'static str,
    uid: u32,
    groups: Vec<(u32, &'static str)>,
    target: (&'static str, u32),
    /// `-g` (with `is_caller_by_default` when no `-u`).
    group: Option<(u32, &'static str)>,
    command: &'static str,
    args: Vec<&'static str>,
    tty: bool,
    host: &'static str,
    now: i64,
    digest: Option<[u8; 32]>,
    setenv: bool,
}

impl Ask {
    /// `user` (uid, groups) runs `command args…` as root, on a terminal of
    /// host `web1`, in March 2026.
    fn new(user: &'static str, uid: u32, groups: &[(u32, &'static str)]) -> Ask {
        Ask {
            user,
            uid,
            groups: groups.to_vec(),
            target: ("root", 0),
            group: None,
            command: "/usr/bin/true",
            args: Vec::new(),
            tty: true,
            host: "web1",
            now: MARCH_2026,
            digest: None,
            setenv: false,
        }
    }

    fn run(&self, command: &'static str, args: &[&'static str]) -> Ask {
        Ask {
            command,
            args: args.to_vec(),
            ..self.clone()
        }
    }

    fn as_user(&self, name: &'static str, uid: u32) -> Ask {
        Ask {
            target: (name, uid),
            ..self.clone()
        }
    }

    fn decide(&self, policy: &Policy) -> Decision {
        let groups: Vec<GroupRef<'_>> = self
            .groups
            .iter()
            .map(|&(gid, name)| GroupRef {
                gid,
                name: Some(name),
            })
            .collect();
        let args: Vec<OsString> = self.args.iter().map(OsString::from).collect();
        let by_default = self.group.is_some() && self.target.1 == self.uid;
        let request = Request {
            caller: Caller {
                uid: self.uid,
                name: Some(self.user),
                groups: &groups,
                deny_groups: &[],
            },
            run_as_user: TargetUser {
                uid: self.target.1,
                name: Some(self.target.0),
                primary_gid: self.target.1,
                is_caller_by_default: by_default,
            },
            run_as_group: self.group.map(|(gid, name)| GroupRef {
                gid,
                name: Some(name),
            }),
            command: Path::new(self.command),
            executable: None,
            args: &args,
            wants_setenv: self.setenv,
            chdir: None,
            command_digest: self.digest,
            context: Context {
                now: Timestamp {
                    unix_seconds: self.now,
                    local_utc_offset: 0,
                },
                has_tty: self.tty,
                origin: if self.tty {
                    Origin::Local
                } else {
                    Origin::None
                },
                host: self.host,
            },
        };
        policy.decide(&request)
    }

    /// The deciding rule and its `auth`, or the refusal reason.
    fn outcome(&self, policy: &Policy) -> Result<(String, Auth), Reason> {
        match self.decide(policy) {
            Decision::Allow(allowed) => Ok((allowed.rule_id, allowed.auth)),
            Decision::Deny(refusal) => Err(refusal.reason),
        }
    }
}

fn allowed(id: &str, auth: Auth) -> Result<(String, Auth), Reason> {
    Ok((id.to_owned(), auth))
}

fn policy(name: &str, text: &str) -> Policy {
    policy_of(&convert(name, text))
}

#[test]
fn debian_default_lets_root_and_sudo_members_run_anything_with_a_password() {
    let policy = policy("sudoers", include_str!("../testdata/debian-sudoers"));
    let alice = Ask::new("alice", 1000, &[(1000, "alice"), (27, "sudo")]);
    assert_eq!(
        alice.run("/usr/bin/apt", &["upgrade"]).outcome(&policy),
        allowed("sudoers-L50", Auth::Password)
    );
    assert_eq!(
        alice
            .run("/usr/bin/id", &[])
            .as_user("www-data", 33)
            .outcome(&policy),
        allowed("sudoers-L50", Auth::Password)
    );
    let bob = Ask::new("bob", 1001, &[(1001, "bob")]);
    assert_eq!(
        bob.run("/usr/bin/id", &[]).outcome(&policy),
        Err(Reason::NotInPolicy)
    );
    let root = Ask::new("root", 0, &[(0, "root")]);
    assert_eq!(
        root.run("/usr/bin/id", &[]).outcome(&policy),
        allowed("sudoers-L47", Auth::Password)
    );
}

#[test]
fn monitoring_agent_runs_exactly_its_checks_without_password() {
    let policy = policy("zabbix-agent", include_str!("../testdata/zabbix-agent"));
    let zabbix = Ask::new("zabbix", 110, &[(117, "zabbix")]);
    let ok = |rule: &str| allowed(rule, Auth::None);
    assert_eq!(
        zabbix
            .run("/usr/bin/systemctl", &["is-active", "nginx"])
            .outcome(&policy),
        ok("zabbix-agent-L9")
    );
    assert_eq!(
        zabbix
            .run("/usr/bin/systemctl", &["restart", "nginx"])
            .outcome(&policy),
        Err(Reason::CommandNotAllowed)
    );
    assert_eq!(
        zabbix
            .run("/usr/sbin/smartctl", &["-A", "/dev/sdb"])
            .outcome(&policy),
        ok("zabbix-agent-L11")
    );
    assert_eq!(
        zabbix
            .run("/usr/sbin/smartctl", &["-A", "/dev/sdb1"])
            .outcome(&policy),
        Err(Reason::CommandNotAllowed)
    );
    let nagios = Ask::new("nagios", 111, &[(118, "nagios")]);
    assert_eq!(
        nagios
            .run("/usr/lib/nagios/plugins/check_raid", &[])
            .outcome(&policy),
        ok("zabbix-agent-L12")
    );
    assert_eq!(
        nagios
            .run("/usr/lib/nagios/plugins/check_raid", &["-v"])
            .outcome(&policy),
        Err(Reason::CommandNotAllowed)
    );
    assert_eq!(
        zabbix
            .run("/usr/bin/systemctl", &["is-active", "nginx"])
            .as_user("zabbix", 110)
            .outcome(&policy),
        Err(Reason::RunAsNotAllowed)
    );
}

#[test]
fn ops_denials_beat_their_all_and_host_lists_apply() {
    let policy = policy("ops", include_str!("../testdata/ops"));
    let carol = Ask::new("carol", 1003, &[(1003, "carol"), (2000, "ops")]);
    assert_eq!(
        carol.run("/usr/bin/top", &[]).outcome(&policy),
        allowed("ops-L14", Auth::Password)
    );
    for (shell, args) in [
        ("/bin/bash", vec![]),
        ("/usr/bin/su", vec!["-"]),
        ("/usr/bin/passwd", vec!["root"]),
        ("/usr/bin/apt-get", vec!["remove", "nginx"]),
        ("/usr/bin/apt-get", vec!["remove", "nginx", "php"]),
    ] {
        assert_eq!(
            carol.run(shell, &args).outcome(&policy),
            Err(Reason::DeniedByRule),
            "{shell} {args:?}"
        );
    }
    assert_eq!(
        carol.run("/usr/bin/passwd", &["carol"]).outcome(&policy),
        allowed("ops-L14", Auth::Password)
    );
    let restart = carol.run("/usr/bin/systemctl", &["restart", "nginx"]);
    assert_eq!(restart.outcome(&policy), allowed("ops-L15", Auth::None));
    let on_db = Ask {
        host: "db1",
        ..restart.clone()
    };
    assert_eq!(on_db.outcome(&policy), allowed("ops-L14", Auth::Password));
    let on_fqdn = Ask {
        host: "WEB7.example.com",
        ..restart
    };
    assert_eq!(on_fqdn.outcome(&policy), allowed("ops-L15", Auth::None));
    assert_eq!(
        carol
            .run("/usr/bin/psql", &[])
            .as_user("postgres", 114)
            .outcome(&policy),
        allowed("ops-L16", Auth::None)
    );
    // alice is in OPS by name, #1050 by uid.
    let alice = Ask::new("alice", 1000, &[(1000, "alice")]);
    assert_eq!(
        alice.run("/bin/sh", &["-c", "id"]).outcome(&policy),
        Err(Reason::DeniedByRule)
    );
    let numbered = Ask::new("svc", 1050, &[(1050, "svc")]);
    assert_eq!(
        numbered.run("/usr/bin/id", &[]).outcome(&policy),
        allowed("ops-L14", Auth::Password)
    );
    let dave = Ask::new("dave", 1004, &[(1004, "dave")]);
    assert_eq!(
        dave.run("/usr/bin/vi", &["/etc/hosts"]).outcome(&policy),
        allowed("ops-L21", Auth::Password)
    );
    let guest = Ask::new("guest", 1005, &[(1005, "guest")]);
    assert_eq!(
        guest.run("/usr/bin/uptime", &[]).outcome(&policy),
        Err(Reason::NotInPolicy)
    );
}

#[test]
fn vagrant_and_cloud_init_users_need_no_password() {
    let vagrant = policy("vagrant", include_str!("../testdata/vagrant"));
    let admin = Ask::new("jane", 1000, &[(1000, "jane"), (110, "admin")]);
    assert_eq!(
        admin.run("/usr/bin/id", &[]).outcome(&vagrant),
        allowed("vagrant-L2", Auth::None)
    );
    let box_user = Ask::new("vagrant", 900, &[(900, "vagrant")]);
    assert_eq!(
        box_user
            .run("/usr/bin/id", &[])
            .as_user("nobody", 65534)
            .outcome(&vagrant),
        allowed("vagrant-L3", Auth::None)
    );
    let cloud = policy(
        "90-cloud-init-users",
        include_str!("../testdata/90-cloud-init-users"),
    );
    let ubuntu = Ask::new("ubuntu", 1000, &[(1000, "ubuntu")]);
    let with_env = Ask {
        setenv: true,
        ..ubuntu.run("/usr/bin/env", &[])
    };
    assert_eq!(
        with_env.outcome(&cloud),
        allowed("90-cloud-init-users-L5", Auth::None)
    );
}

#[test]
fn defaults_carry_into_the_policy_and_its_rules() {
    let policy = policy("defaults", include_str!("../testdata/defaults"));
    let wheel = Ask::new("ann", 1000, &[(1000, "ann"), (10, "wheel")]);
    let Decision::Allow(allowed) = wheel.run("/usr/bin/id", &[]).decide(&policy) else {
        panic!("refused");
    };
    assert_eq!(allowed.timeout, Some(Duration::from_secs(2 * 3600)));
    let without_tty = Ask {
        tty: false,
        ..wheel.run("/usr/bin/id", &[])
    };
    assert!(matches!(without_tty.decide(&policy), Decision::Deny(_)));
}

#[test]
fn hand_written_rules_keep_their_escapes_digests_and_periods() {
    let policy = policy("hand-written", include_str!("../testdata/hand-written"));
    let backup = Ask::new("backup", 34, &[(34, "backup")]);
    let ok = |rule: &str| allowed(rule, Auth::None);
    for (command, args) in [
        (
            "/usr/bin/rsync",
            vec!["-a", "--delete", "/srv/data/", "backup:/srv/backup/"],
        ),
        (
            "/bin/dd",
            vec!["if=/dev/sda", "of=/backup/mbr.img", "bs=512", "count=1"],
        ),
        ("/usr/bin/find", vec!["/srv", "-name", "*.tmp", "-delete"]),
        ("/usr/bin/printf", vec!["a,b"]),
    ] {
        assert_eq!(
            backup.run(command, &args).outcome(&policy),
            ok("hand-written-L6"),
            "{command} {args:?}"
        );
    }
    assert_eq!(
        backup
            .run("/usr/bin/find", &["/srv", "-name", "x.tmp", "-delete"])
            .outcome(&policy),
        Err(Reason::CommandNotAllowed)
    );
    // (:adm): as oneself with group adm.
    let member = Ask::new("eve", 1006, &[(1006, "eve"), (27, "sudo")]);
    let tail = Ask {
        group: Some((4, "adm")),
        ..member
            .run("/usr/bin/tail", &["-f", "/var/log/syslog"])
            .as_user("eve", 1006)
    };
    assert_eq!(
        tail.outcome(&policy),
        allowed("hand-written-L10", Auth::Password)
    );
    assert_eq!(
        member
            .run("/usr/bin/tail", &["-f", "/var/log/syslog"])
            .outcome(&policy),
        Err(Reason::RunAsNotAllowed)
    );
    // The deploy hook is pinned to the digest of the empty file.
    let deploy = Ask::new("deploy", 1007, &[(1007, "deploy")]);
    let hook = deploy.run("/usr/local/bin/deploy-hook", &[]);
    assert!(matches!(hook.decide(&policy), Decision::Deny(_)));
    let mut empty = [0u8; 32];
    let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    for (byte, pair) in empty.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
    }
    let pinned = Ask {
        digest: Some(empty),
        ..hook
    };
    assert_eq!(pinned.outcome(&policy), ok("hand-written-L14"));
    // SETENV on one command only.
    let make = |target: &'static str| Ask {
        setenv: true,
        ..deploy
            .run("/usr/bin/make", &[target])
            .as_user("www-data", 33)
    };
    assert_eq!(make("deploy").outcome(&policy), ok("hand-written-L12-2"));
    assert_eq!(
        make("clean").outcome(&policy),
        Err(Reason::SetenvNotAllowed)
    );
    // A directory entry allows its programs, not deeper ones.
    let auditor = Ask::new("auditor", 1008, &[(1008, "auditor")]);
    assert_eq!(
        auditor.run("/usr/sbin/reboot", &[]).outcome(&policy),
        ok("hand-written-L16")
    );
    assert_eq!(
        auditor.run("/usr/sbin/x/y", &[]).outcome(&policy),
        Err(Reason::CommandNotAllowed)
    );
    // NOTBEFORE/NOTAFTER: the first quarter of 2026 only.
    let temp = Ask::new("temp", 1009, &[(1009, "temp")]).run("/usr/bin/journalctl", &[]);
    assert_eq!(
        temp.outcome(&policy),
        allowed("hand-written-L18", Auth::Password)
    );
    let april = Ask {
        now: MARCH_2026 + 31 * 86_400,
        ..temp
    };
    assert!(matches!(april.decide(&policy), Decision::Deny(_)));
}
