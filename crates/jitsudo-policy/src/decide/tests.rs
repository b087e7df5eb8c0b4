use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::*;
use crate::request::{Caller, GroupRef, TargetUser};
use crate::test_support::Ask as Opened;
use crate::{parse, Source};

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

const ROOT: TargetUser<'static> = TargetUser {
    uid: 0,
    name: Some("root"),
    primary_gid: 0,
    is_caller_by_default: false,
};

const BOB: TargetUser<'static> = TargetUser {
    uid: 1002,
    name: Some("bob"),
    primary_gid: 1002,
    is_caller_by_default: false,
};

/// Alice herself as the target, as with `-g` without `-u`.
const ALICE_BY_DEFAULT: TargetUser<'static> = TargetUser {
    uid: 1000,
    name: Some("alice"),
    primary_gid: 1000,
    is_caller_by_default: true,
};

const ADM: GroupRef<'static> = GroupRef {
    gid: 4,
    name: Some("adm"),
};

/// A request by alice (uid 1000, groups alice=1000 and sudo=27), as root by default.
struct Ask {
    caller: Caller<'static>,
    target: TargetUser<'static>,
    group: Option<GroupRef<'static>>,
    command: PathBuf,
    args: Vec<OsString>,
    setenv: bool,
    chdir: Option<PathBuf>,
    digest: Option<[u8; 32]>,
    context: crate::Context<'static>,
}

impl Ask {
    fn run(command: &str, args: &[&str]) -> Ask {
        Ask {
            caller: Caller {
                uid: 1000,
                name: Some("alice"),
                groups: &ALICE_GROUPS,
                deny_groups: &[],
            },
            target: ROOT,
            group: None,
            command: PathBuf::from(command),
            args: args.iter().map(OsString::from).collect(),
            setenv: false,
            chdir: None,
            digest: None,
            context: crate::test_support::CONTEXT,
        }
    }

    fn decide(&self, policy: &Policy) -> Decision {
        policy.decide(&Request {
            caller: self.caller,
            run_as_user: self.target,
            run_as_group: self.group,
            command: &self.command,
            executable: None,
            args: &self.args,
            wants_setenv: self.setenv,
            chdir: self.chdir.as_deref(),
            command_digest: self.digest,
            context: self.context,
        })
    }
}

fn policy(text: &str) -> Policy {
    let source = Source {
        name: "p.toml".into(),
        text: text.into(),
    };
    parse(&[source]).unwrap_or_else(|e| panic!("{e:?}"))
}

/// One rule with the given extra keys.
fn rule(keys: &str) -> Policy {
    policy(&format!("[[rule]]\nid = \"r\"\n{keys}\n"))
}

fn allowed(decision: Decision) -> Allowed {
    match decision {
        Decision::Allow(allowed) => allowed,
        Decision::Deny(refusal) => panic!("refused: {refusal}"),
    }
}

fn refused(decision: Decision) -> Refusal {
    match decision {
        Decision::Deny(refusal) => refusal,
        Decision::Allow(allowed) => panic!("allowed by {}", allowed.rule_id),
    }
}

fn denied_because(reason: Reason, rule: Option<&str>) -> Decision {
    Decision::Deny(Refusal {
        reason,
        rule_id: rule.map(str::to_owned),
    })
}

#[test]
fn matches_the_caller_in_every_form() {
    for who in ["alice", "#1000", "%sudo", "%#27", "%alice", "%#1000", "ALL"] {
        let p = rule(&format!("who = [\"bob\", \"{who}\"]\ncommands = [\"ALL\"]"));
        assert_eq!(
            allowed(Ask::run("/usr/bin/id", &[]).decide(&p)).rule_id,
            "r",
            "{who}"
        );
    }
}

#[test]
fn caller_not_named_is_not_in_policy() {
    for who in ["bob", "#1001", "%wheel", "%#10"] {
        let p = rule(&format!("who = [\"{who}\"]\ncommands = [\"ALL\"]"));
        let decision = Ask::run("/usr/bin/id", &[]).decide(&p);
        assert_eq!(decision, denied_because(Reason::NotInPolicy, None), "{who}");
    }
}

#[test]
fn caller_without_a_name_matches_by_number_only() {
    let p = rule("who = [\"alice\"]\ncommands = [\"ALL\"]");
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.caller.name = None;
    assert_eq!(refused(ask.decide(&p)).reason, Reason::NotInPolicy);
    let p = rule("who = [\"#1000\"]\ncommands = [\"ALL\"]");
    assert!(matches!(ask.decide(&p), Decision::Allow(_)));
}

#[test]
fn named_caller_with_other_command_is_command_not_allowed() {
    let p = policy(
        "[[rule]]\nid = \"a\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n\
         [[rule]]\nid = \"b\"\nwho = [\"%sudo\"]\ncommands = [\"/usr/bin/whoami\"]\n\
         [[rule]]\nid = \"c\"\nwho = [\"bob\"]\ncommands = [\"ALL\"]\n",
    );
    let decision = Ask::run("/usr/bin/passwd", &[]).decide(&p);
    assert_eq!(
        decision,
        denied_because(Reason::CommandNotAllowed, Some("b"))
    );
}

#[test]
fn arguments_match_as_written() {
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/systemctl restart nginx\", \"/usr/bin/whoami \\\"\\\"\", \"/usr/bin/id\"]");
    let yes = [
        ("/usr/bin/systemctl", &["restart", "nginx"][..]),
        ("/usr/bin/whoami", &[][..]),
        ("/usr/bin/id", &[][..]),
        ("/usr/bin/id", &["-u", "bob"][..]),
    ];
    for (command, args) in yes {
        assert!(
            matches!(Ask::run(command, args).decide(&p), Decision::Allow(_)),
            "{command} {args:?}"
        );
    }
    let no = [
        ("/usr/bin/systemctl", &["restart"][..]),
        ("/usr/bin/systemctl", &["restart", "nginx", "--now"][..]),
        ("/usr/bin/systemctl", &["stop", "nginx"][..]),
        ("/usr/bin/whoami", &["x"][..]),
        ("/usr/bin/whoami", &[""][..]),
        ("/usr/bin/ids", &[][..]),
    ];
    for (command, args) in no {
        let decision = Ask::run(command, args).decide(&p);
        assert_eq!(
            decision,
            denied_because(Reason::CommandNotAllowed, Some("r")),
            "{command} {args:?}"
        );
    }
}

#[test]
fn table_form_matches_arguments_with_spaces() {
    let p = rule(
        "who = [\"alice\"]\ncommands = [{ path = \"/usr/bin/echo\", args = [\"a b\", \"c\"] }]",
    );
    assert!(matches!(
        Ask::run("/usr/bin/echo", &["a b", "c"]).decide(&p),
        Decision::Allow(_)
    ));
    assert!(matches!(
        Ask::run("/usr/bin/echo", &["a", "b", "c"]).decide(&p),
        Decision::Deny(_)
    ));
}

#[test]
fn non_utf8_arguments_never_panic() {
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/printf abc\", \"/usr/bin/cat\"]");
    let mut ask = Ask::run("/usr/bin/printf", &[]);
    ask.args = vec![OsString::from_vec(vec![0x61, 0xff, 0x80])];
    assert_eq!(refused(ask.decide(&p)).reason, Reason::CommandNotAllowed);
    ask.command = PathBuf::from("/usr/bin/cat");
    assert!(matches!(ask.decide(&p), Decision::Allow(_)));
}

#[test]
fn run_as_defaults_to_root_only() {
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]");
    assert!(matches!(
        Ask::run("/usr/bin/id", &[]).decide(&p),
        Decision::Allow(_)
    ));
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = BOB;
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::RunAsNotAllowed, Some("r"))
    );
}

#[test]
fn run_as_by_name_uid_and_all() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = BOB;
    for run_as in ["\"bob\"", "\"#1002\"", "\"ALL\""] {
        let p = rule(&format!(
            "who = [\"alice\"]\nrun_as = [{run_as}]\ncommands = [\"ALL\"]"
        ));
        assert!(matches!(ask.decide(&p), Decision::Allow(_)), "{run_as}");
    }
    let p = rule("who = [\"alice\"]\nrun_as = [\"carol\", \"#0\"]\ncommands = [\"ALL\"]");
    assert_eq!(refused(ask.decide(&p)).reason, Reason::RunAsNotAllowed);
}

#[test]
fn user_and_group_must_both_match() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = BOB;
    ask.group = Some(ADM);
    let both = rule(
        "who = [\"alice\"]\nrun_as = [\"bob\"]\nrun_as_groups = [\"adm\"]\ncommands = [\"ALL\"]",
    );
    assert!(matches!(ask.decide(&both), Decision::Allow(_)));
    let by_gid = rule(
        "who = [\"alice\"]\nrun_as = [\"bob\"]\nrun_as_groups = [\"#4\"]\ncommands = [\"ALL\"]",
    );
    assert!(matches!(ask.decide(&by_gid), Decision::Allow(_)));
    let no_groups = rule("who = [\"alice\"]\nrun_as = [\"bob\"]\ncommands = [\"ALL\"]");
    assert_eq!(
        refused(ask.decide(&no_groups)).reason,
        Reason::RunAsNotAllowed
    );
    let wrong_user = rule("who = [\"alice\"]\nrun_as_groups = [\"ALL\"]\ncommands = [\"ALL\"]");
    assert_eq!(
        refused(ask.decide(&wrong_user)).reason,
        Reason::RunAsNotAllowed
    );
}

#[test]
fn target_users_own_primary_group_is_allowed() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = BOB;
    ask.group = Some(GroupRef {
        gid: 1002,
        name: Some("bob"),
    });
    let p = rule("who = [\"alice\"]\nrun_as = [\"bob\"]\ncommands = [\"ALL\"]");
    assert!(matches!(ask.decide(&p), Decision::Allow(_)));
}

#[test]
fn group_only_runs_as_the_caller() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = ALICE_BY_DEFAULT;
    ask.group = Some(ADM);
    let groups_only =
        rule("who = [\"alice\"]\nrun_as = []\nrun_as_groups = [\"adm\"]\ncommands = [\"ALL\"]");
    assert!(matches!(ask.decide(&groups_only), Decision::Allow(_)));
    let root_default = rule("who = [\"alice\"]\nrun_as_groups = [\"adm\"]\ncommands = [\"ALL\"]");
    assert!(matches!(ask.decide(&root_default), Decision::Allow(_)));
    let other_group = rule("who = [\"alice\"]\nrun_as_groups = [\"wheel\"]\ncommands = [\"ALL\"]");
    assert_eq!(
        refused(ask.decide(&other_group)).reason,
        Reason::RunAsNotAllowed
    );
    let no_groups = rule("who = [\"alice\"]\nrun_as = [\"ALL\"]\ncommands = [\"ALL\"]");
    assert_eq!(
        refused(ask.decide(&no_groups)).reason,
        Reason::RunAsNotAllowed
    );
}

#[test]
fn group_only_with_callers_primary_group_needs_run_as() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = ALICE_BY_DEFAULT;
    ask.group = Some(GroupRef {
        gid: 1000,
        name: Some("alice"),
    });
    let run_as_all = rule("who = [\"alice\"]\nrun_as = [\"ALL\"]\ncommands = [\"ALL\"]");
    assert!(matches!(ask.decide(&run_as_all), Decision::Allow(_)));
    let root_only = rule("who = [\"alice\"]\ncommands = [\"ALL\"]");
    assert_eq!(
        refused(ask.decide(&root_only)).reason,
        Reason::RunAsNotAllowed
    );
}

#[test]
fn run_as_groups_are_ignored_without_g() {
    let p = rule(
        "who = [\"alice\"]\nrun_as = [\"bob\"]\nrun_as_groups = [\"ALL\"]\ncommands = [\"ALL\"]",
    );
    assert_eq!(
        refused(Ask::run("/usr/bin/id", &[]).decide(&p)).reason,
        Reason::RunAsNotAllowed
    );
}

#[test]
fn run_as_refusal_beats_command_refusal() {
    let p = policy(
        "[[rule]]\nid = \"cmd\"\nwho = [\"alice\"]\nrun_as = [\"bob\"]\ncommands = [\"/usr/bin/id\"]\n\
         [[rule]]\nid = \"other\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/whoami\"]\n",
    );
    let decision = Ask::run("/usr/bin/id", &[]).decide(&p);
    assert_eq!(
        decision,
        denied_because(Reason::RunAsNotAllowed, Some("cmd"))
    );
}

#[test]
fn setenv_needs_permission() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.setenv = true;
    let plain = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]");
    assert_eq!(
        ask.decide(&plain),
        denied_because(Reason::SetenvNotAllowed, Some("r"))
    );
    let with = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\nsetenv = true");
    assert!(allowed(ask.decide(&with)).setenv);
    ask.setenv = false;
    assert!(!allowed(ask.decide(&plain)).setenv);
}

#[test]
fn all_implies_setenv() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.setenv = true;
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/id\", \"ALL\"]");
    let allowed = allowed(ask.decide(&p));
    assert!(allowed.setenv);
    assert_eq!(allowed.auth, Auth::Password);
}

#[test]
fn chdir_follows_the_cwd_option() {
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.chdir = Some(PathBuf::from("/srv/www"));
    let none = rule("who = [\"alice\"]\ncommands = [\"ALL\"]");
    let expected = denied_because(
        Reason::ChdirNotAllowed(PathBuf::from("/srv/www")),
        Some("r"),
    );
    assert_eq!(ask.decide(&none), expected);
    let any = rule("who = [\"alice\"]\ncommands = [\"ALL\"]\ncwd = \"*\"");
    assert!(matches!(ask.decide(&any), Decision::Allow(_)));
    let exact = rule("who = [\"alice\"]\ncommands = [\"ALL\"]\ncwd = \"/srv/www\"");
    assert!(matches!(ask.decide(&exact), Decision::Allow(_)));
    let elsewhere = rule("who = [\"alice\"]\ncommands = [\"ALL\"]\ncwd = \"/srv\"");
    assert_eq!(
        refused(ask.decide(&elsewhere)).reason,
        Reason::ChdirNotAllowed("/srv/www".into())
    );
    ask.chdir = None;
    assert!(matches!(ask.decide(&none), Decision::Allow(_)));
}

#[test]
fn the_last_matching_rule_decides() {
    let p = policy(
        "[[rule]]\nid = \"first\"\nwho = [\"%sudo\"]\ncommands = [\"ALL\"]\nauth = \"none\"\n\
         [[rule]]\nid = \"second\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n\
         [[rule]]\nid = \"third\"\nwho = [\"bob\"]\ncommands = [\"/usr/bin/id\"]\nauth = \"none\"\n",
    );
    let allowed = allowed(Ask::run("/usr/bin/id", &[]).decide(&p));
    assert_eq!(
        (allowed.rule_id.as_str(), allowed.auth),
        ("second", Auth::Password)
    );
    let other = allowed_for(&p, "/usr/bin/whoami");
    assert_eq!((other.rule_id.as_str(), other.auth), ("first", Auth::None));
}

fn allowed_for(p: &Policy, command: &str) -> Allowed {
    allowed(Ask::run(command, &[]).decide(p))
}

#[test]
fn the_deciding_rule_does_not_fall_back_on_options() {
    let p = policy(
        "[[rule]]\nid = \"broad\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\ncwd = \"*\"\n\
         [[rule]]\nid = \"narrow\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n",
    );
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.setenv = true;
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::SetenvNotAllowed, Some("narrow"))
    );
    ask.setenv = false;
    ask.chdir = Some(PathBuf::from("/tmp"));
    assert_eq!(refused(ask.decide(&p)).rule_id.as_deref(), Some("narrow"));
}

#[test]
fn later_drop_ins_override_the_main_file() {
    let main = Source {
        name: "policy.toml".into(),
        text: "[[rule]]\nid = \"main\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n".into(),
    };
    let drop_in = Source {
        name: "policy.d/10.toml".into(),
        text: "[[rule]]\nid = \"nopw\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\nauth = \"none\"\n".into(),
    };
    let p = parse(&[main, drop_in]).unwrap_or_else(|e| panic!("{e:?}"));
    let allowed = allowed(Ask::run("/usr/bin/id", &[]).decide(&p));
    assert_eq!(
        (allowed.rule_id.as_str(), allowed.auth),
        ("nopw", Auth::None)
    );
}

#[test]
fn allow_rules_need_the_base_name_and_the_file() {
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/rbash\", \"/usr/bin/id\"]");
    let allowed = |ask: Opened| matches!(p.decide(&ask.request()), Decision::Allow(_));
    assert!(allowed(
        Opened::run("/usr/bin/rbash", &[]).opened("/usr/bin/bash")
    ));
    assert!(!allowed(
        Opened::run("/usr/bin/bash", &[]).opened("/usr/bin/bash")
    ));
    assert!(!allowed(
        Opened::run("/home/alice/id", &[]).opened("/usr/bin/bash")
    ));
    assert!(allowed(
        Opened::run("/home/alice/id", &[]).opened("/usr/bin/id")
    ));
    assert!(
        !allowed(Opened::run("/usr/bin/id", &[]).opened("/home/alice/id")),
        "a file mounted over the rule's path in another namespace"
    );
}

#[test]
fn deny_rules_name_the_file_under_any_name() {
    let p = rule(
        "who = [\"alice\"]\ncommands = [\"ALL\"]\n\
         [[rule]]\neffect = \"deny\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/rbash\"]",
    );
    let sh = Opened::run("/home/alice/sh", &[]).opened("/usr/bin/bash");
    assert!(matches!(p.decide(&sh.request()), Decision::Deny(_)));
    let id = Opened::run("/usr/bin/id", &[]).opened("/usr/bin/id");
    assert!(matches!(p.decide(&id.request()), Decision::Allow(_)));
}

#[test]
fn refusals_explain_themselves() {
    assert_eq!(
        Reason::ChdirNotAllowed("/tmp".into()).to_string(),
        "you are not allowed to change to directory /tmp"
    );
    let refusal = Refusal {
        reason: Reason::CommandNotAllowed,
        rule_id: Some("ops".into()),
    };
    assert_eq!(
        refusal.to_string(),
        "no rule allows you to run this command (closest rule: ops)"
    );
    let refusal = Refusal {
        reason: Reason::NotInPolicy,
        rule_id: None,
    };
    assert_eq!(
        refusal.to_string(),
        "you are not named in any rule of the policy"
    );
    assert_eq!(
        Reason::SetenvNotAllowed.to_string(),
        "you are not allowed to preserve or set environment variables"
    );
    assert_eq!(
        Reason::RunAsNotAllowed.to_string(),
        "no rule allows you to run this command as that user or group"
    );
}

#[test]
fn a_matching_deny_beats_every_allow_before_or_after_it() {
    let deny = "[[rule]]\nid = \"no-shell\"\nwho = [\"%sudo\"]\ncommands = [\"/usr/bin/bash\"]\neffect = \"deny\"\n";
    let allow =
        "[[rule]]\nid = \"all\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\nauth = \"none\"\n";
    for text in [format!("{deny}{allow}"), format!("{allow}{deny}")] {
        let p = policy(&text);
        assert_eq!(
            Ask::run("/usr/bin/bash", &["-i"]).decide(&p),
            denied_because(Reason::DeniedByRule, Some("no-shell"))
        );
        assert_eq!(allowed_for(&p, "/usr/bin/id").rule_id, "all");
    }
}

#[test]
fn a_deny_rule_must_match_entirely() {
    let p = policy(
        "[[rule]]\nid = \"all\"\nwho = [\"alice\"]\nrun_as = [\"ALL\"]\ncommands = [\"ALL\"]\n\
         [[rule]]\nid = \"bob-no-id\"\nwho = [\"bob\"]\ncommands = [\"/usr/bin/id\"]\neffect = \"deny\"\n\
         [[rule]]\nid = \"no-rm-as-bob\"\nwho = [\"alice\"]\nrun_as = [\"bob\"]\ncommands = [\"/usr/bin/rm\"]\neffect = \"deny\"\n\
         [[rule]]\nid = \"no-args\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/ls /root\"]\neffect = \"deny\"\n",
    );
    assert_eq!(allowed_for(&p, "/usr/bin/id").rule_id, "all");
    assert_eq!(allowed_for(&p, "/usr/bin/rm").rule_id, "all");
    let mut as_bob = Ask::run("/usr/bin/rm", &[]);
    as_bob.target = BOB;
    assert_eq!(
        as_bob.decide(&p),
        denied_because(Reason::DeniedByRule, Some("no-rm-as-bob"))
    );
    assert_eq!(
        allowed(Ask::run("/usr/bin/ls", &["/tmp"]).decide(&p)).rule_id,
        "all"
    );
    assert_eq!(
        Ask::run("/usr/bin/ls", &["/root"]).decide(&p),
        denied_because(Reason::DeniedByRule, Some("no-args"))
    );
}

#[test]
fn the_first_matching_deny_is_reported() {
    let p = policy(
        "[[rule]]\nid = \"d1\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\neffect = \"deny\"\n\
         [[rule]]\nid = \"d2\"\nwho = [\"ALL\"]\ncommands = [\"ALL\"]\neffect = \"deny\"\n",
    );
    assert_eq!(
        Ask::run("/usr/bin/id", &[]).decide(&p),
        denied_because(Reason::DeniedByRule, Some("d1"))
    );
}

#[test]
fn deny_rules_alone_leave_the_caller_not_in_policy() {
    let p = rule("who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\neffect = \"deny\"");
    assert_eq!(
        Ask::run("/usr/bin/ls", &[]).decide(&p),
        denied_because(Reason::NotInPolicy, None)
    );
    assert_eq!(
        Reason::DeniedByRule.to_string(),
        "a deny rule of the policy forbids you to run this command"
    );
    let refusal = Refusal {
        reason: Reason::DeniedByRule,
        rule_id: Some("no-shell".into()),
    };
    assert_eq!(
        refusal.to_string(),
        "a deny rule of the policy forbids you to run this command (rule: no-shell)"
    );
}

#[test]
fn the_deciding_rule_gives_its_options() {
    let p = policy(
        "[[rule]]\nid = \"plain\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n\
         [[rule]]\nid = \"opts\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/make\"]\n\
         env_keep = [\"CC\", \"MAKEFLAGS\"]\numask = \"0002\"\ntimeout = \"30s\"\n",
    );
    let opts = allowed_for(&p, "/usr/bin/make");
    assert_eq!(opts.env_keep, ["CC", "MAKEFLAGS"]);
    assert_eq!(opts.umask, Some(0o002));
    assert_eq!(opts.timeout, Some(std::time::Duration::from_secs(30)));
    let plain = allowed_for(&p, "/usr/bin/id");
    assert!(plain.env_keep.is_empty());
    assert_eq!((plain.umask, plain.timeout), (None, None));
}

#[test]
fn digest_pinning_needs_the_right_digest() {
    let hex = "11".repeat(32);
    let p = rule(&format!(
        "who = [\"alice\"]\ncommands = [\"sha256:{hex} /usr/bin/tool\"]"
    ));
    assert!(p.needs_digest(&Opened::run("/usr/bin/tool", &[]).request()));
    assert!(!p.needs_digest(&Opened::run("/usr/bin/other", &[]).request()));
    let mut ask = Ask::run("/usr/bin/tool", &["x"]);
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::CommandNotAllowed, Some("r"))
    );
    ask.digest = Some([0x22; 32]);
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::CommandNotAllowed, Some("r"))
    );
    ask.digest = Some([0x11; 32]);
    assert_eq!(allowed(ask.decide(&p)).rule_id, "r");
}

#[test]
fn globbed_commands_decide() {
    let p = rule(
        "who = [\"alice\"]\ncommands = [\"/usr/bin/systemctl restart *.service\", \"/usr/lib/tools/*\"]",
    );
    assert_eq!(
        allowed(Ask::run("/usr/bin/systemctl", &["restart", "nginx.service"]).decide(&p)).rule_id,
        "r"
    );
    assert_eq!(
        refused(Ask::run("/usr/bin/systemctl", &["stop", "nginx.service"]).decide(&p)).reason,
        Reason::CommandNotAllowed
    );
    assert_eq!(
        allowed(Ask::run("/usr/lib/tools/fsck-x", &["-y"]).decide(&p)).rule_id,
        "r"
    );
    assert_eq!(
        refused(Ask::run("/usr/lib/tools/sub/x", &[]).decide(&p)).reason,
        Reason::CommandNotAllowed
    );
}

#[test]
fn command_sets_decide_like_their_commands() {
    let p = policy(
        "[command_sets]\nweb = [\"/usr/bin/systemctl restart nginx\"]\n\
         [[rule]]\nid = \"web\"\nwho = [\"alice\"]\ncommands = [\"@web\"]\n\
         [[rule]]\nid = \"no-web\"\nwho = [\"bob\"]\ncommands = [\"@web\"]\neffect = \"deny\"\n",
    );
    assert_eq!(
        allowed(Ask::run("/usr/bin/systemctl", &["restart", "nginx"]).decide(&p)).rule_id,
        "web"
    );
    assert_eq!(
        refused(Ask::run("/usr/bin/systemctl", &["stop", "nginx"]).decide(&p)).reason,
        Reason::CommandNotAllowed
    );
}

#[test]
fn run_as_self_only_allows_the_callers_own_user() {
    let p = rule("who = [\"%sudo\"]\nrun_as = [\"SELF\"]\ncommands = [\"/usr/bin/id\"]");
    let mut ask = Ask::run("/usr/bin/id", &[]);
    assert_eq!(refused(ask.decide(&p)).reason, Reason::RunAsNotAllowed);
    ask.target = BOB;
    assert_eq!(refused(ask.decide(&p)).reason, Reason::RunAsNotAllowed);
    ask.target = TargetUser {
        is_caller_by_default: false,
        ..ALICE_BY_DEFAULT
    };
    assert_eq!(allowed(ask.decide(&p)).rule_id, "r");
    // Same uid, another name (an alias account): still the caller.
    ask.target.name = Some("alice2");
    assert_eq!(allowed(ask.decide(&p)).rule_id, "r");
    let p = policy(
        "[[rule]]\nid = \"x\"\nwho = [\"alice\"]\nrun_as = [\"SELF\", \"bob\"]\ncommands = [\"ALL\"]\n",
    );
    ask.target = BOB;
    assert_eq!(allowed(ask.decide(&p)).rule_id, "x");
    ask.target = ROOT;
    assert_eq!(refused(ask.decide(&p)).reason, Reason::RunAsNotAllowed);
}

#[test]
fn run_as_self_with_a_group() {
    let p = rule(
        "who = [\"alice\"]\nrun_as = [\"SELF\"]\nrun_as_groups = [\"adm\"]\ncommands = [\"ALL\"]",
    );
    let mut ask = Ask::run("/usr/bin/id", &[]);
    ask.target = ALICE_BY_DEFAULT;
    ask.group = Some(ADM);
    assert_eq!(allowed(ask.decide(&p)).rule_id, "r");
    ask.target = BOB;
    assert_eq!(refused(ask.decide(&p)).reason, Reason::RunAsNotAllowed);
}

#[test]
fn a_rule_whose_when_fails_does_not_match() {
    let p = policy(
        "[[rule]]\nid = \"any\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n\
         [[rule]]\nid = \"office\"\nwho = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\nauth = \"none\"\n\
         when = { hours = \"Mon-Fri 08:00-18:00\", tz = \"UTC\" }\n",
    );
    let mut ask = Ask::run("/usr/bin/id", &[]);
    assert_eq!(allowed(ask.decide(&p)).rule_id, "office");
    ask.context.now.unix_seconds += 10 * 3600;
    assert_eq!(
        allowed(ask.decide(&p)).rule_id,
        "any",
        "falls back after hours"
    );
}

#[test]
fn a_failing_when_is_the_closest_refusal() {
    let p = rule(
        "who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\nwhen = { tty = false, hosts = [\"web-*\"] }",
    );
    let mut ask = Ask::run("/usr/bin/id", &[]);
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::WhenNotSatisfied, Some("r"))
    );
    ask.context.has_tty = false;
    assert_eq!(allowed(ask.decide(&p)).rule_id, "r");
    ask.context.host = "db1";
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::WhenNotSatisfied, Some("r"))
    );
    assert_eq!(
        Reason::WhenNotSatisfied.to_string(),
        "you may run this command only at other times, from another terminal or on another host"
    );
}

#[test]
fn a_deny_with_when_applies_only_then() {
    let p = policy(
        "[[rule]]\nid = \"all\"\nwho = [\"alice\"]\ncommands = [\"ALL\"]\n\
         [[rule]]\nid = \"not-over-ssh\"\nwho = [\"ALL\"]\ncommands = [\"ALL\"]\neffect = \"deny\"\n\
         when = { origin = [\"ssh\"] }\n",
    );
    let mut ask = Ask::run("/usr/bin/id", &[]);
    assert_eq!(allowed(ask.decide(&p)).rule_id, "all");
    ask.context.origin = crate::Origin::Ssh;
    assert_eq!(
        ask.decide(&p),
        denied_because(Reason::DeniedByRule, Some("not-over-ssh"))
    );
}

#[test]
fn uses_origin_only_with_an_origin_condition() {
    let base = "who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]";
    assert!(!rule(base).uses_origin());
    assert!(!rule(&format!("{base}\nwhen = {{ tty = true }}")).uses_origin());
    assert!(rule(&format!("{base}\nwhen = {{ origin = [\"local\"] }}")).uses_origin());
}

#[test]
fn uses_caller_groups_only_when_a_group_is_named() {
    let users = "commands = [\"/usr/bin/id\"]\nwho = [\"alice\", \"#1000\", \"ALL\"]";
    assert!(!rule(users).uses_caller_groups());
    for who in ["%wheel", "%#27", "%ALL"] {
        let named = rule(&format!(
            "commands = [\"/usr/bin/id\"]\nwho = [\"alice\", \"{who}\"]"
        ));
        assert!(named.uses_caller_groups(), "{who}");
    }
    let deny =
        format!("{users}\n[[rule]]\nwho = [\"%staff\"]\ncommands = [\"ALL\"]\neffect = \"deny\"");
    assert!(rule(&deny).uses_caller_groups());
    // An approver named by group is matched against the reviewer's groups.
    let grant = "who = [\"alice\"]\ncommands = [\"/usr/bin/id\"]\n[rule.grant]\nmax = \"1h\"\n";
    assert!(!rule(&format!("{grant}approvers = [\"bob\"]")).uses_caller_groups());
    assert!(rule(&format!("{grant}approvers = [\"bob\", \"%dba\"]")).uses_caller_groups());
    // Without the index (rules changed by hand), the rules are scanned.
    let mut p = rule(users);
    p.rules
        .extend(rule("who = [\"%dba\"]\ncommands = [\"ALL\"]").rules);
    assert!(p.uses_caller_groups());
    p.reindex();
    assert!(p.uses_caller_groups());
}
