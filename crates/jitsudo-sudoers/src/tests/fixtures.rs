//! Real-world sudoers content converted exactly: Debian's default file (as
//! shipped by sudo 1.9.13p3-1+deb12u4, with its `/etc/sudoers.d/README`)
//! and drop-ins of the kind packages and configuration management install.

use super::{convert, golden, notes, policy_of};
use crate::{import, Include};
use jitsudo_policy::Source;

/// Debian's `/etc/sudoers`.
const DEBIAN: &str = include_str!("../testdata/debian-sudoers");
/// Debian's `/etc/sudoers.d/README`.
const DEBIAN_README: &str = include_str!("../testdata/debian-sudoers.d-README");

/// A drop-in of `/etc/sudoers.d`.
fn drop_in(name: &str, text: &str) -> Source {
    Source {
        name: format!("/etc/sudoers.d/{name}"),
        text: text.to_owned(),
    }
}

/// Converts Debian's `/etc/sudoers` with these files in `/etc/sudoers.d`.
fn debian_with(files: Vec<Source>) -> crate::Conversion {
    let main = Source {
        name: "/etc/sudoers".into(),
        text: DEBIAN.into(),
    };
    let mut asked = Vec::new();
    let mut read = |include: &Include| -> Result<Vec<Source>, String> {
        asked.push(include.clone());
        Ok(files.clone())
    };
    let conversion = import(&main, &mut read);
    assert_eq!(
        asked,
        [Include {
            path: "/etc/sudoers.d".into(),
            dir: true,
            file: "/etc/sudoers".into(),
            line: 54,
        }]
    );
    conversion
}

#[test]
fn debian_default_sudoers() {
    let conversion = debian_with(vec![drop_in("README", DEBIAN_README)]);
    golden("debian-sudoers", &conversion.toml);
    assert_eq!(conversion.files, ["/etc/sudoers", "/etc/sudoers.d/README"]);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers:9: IGNORED: Defaults env_reset: jitsudo always resets the environment (env_keep lists the variables it keeps)",
            "/etc/sudoers:10: IGNORED: Defaults mail_badpass: jitsudo sends no mail; its audit log records every decision",
            "/etc/sudoers:15: IGNORED: Defaults use_pty: jitsudo always runs a command started from a terminal in a new pseudo-terminal",
        ]
    );
    let policy = policy_of(&conversion);
    let ids: Vec<&str> = policy.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["sudoers-L47", "sudoers-L50"]);
}

/// Converts a fixture of `testdata/` as `/etc/sudoers.d/<name>`, checks
/// the policy against `testdata/expected/<name>.toml` and that it parses.
fn fixture(name: &str, text: &str) -> crate::Conversion {
    let conversion = convert(name, text);
    golden(name, &conversion.toml);
    policy_of(&conversion);
    conversion
}

/// The zabbix agent's drop-in.
const ZABBIX: &str = include_str!("../testdata/zabbix-agent");
/// The ops team's drop-in (Ansible).
const OPS: &str = include_str!("../testdata/ops");
/// A Vagrant base box's drop-in.
const VAGRANT: &str = include_str!("../testdata/vagrant");
/// cloud-init's drop-in for the default user.
const CLOUD_INIT: &str = include_str!("../testdata/90-cloud-init-users");
/// A security baseline's `Defaults`.
const DEFAULTS: &str = include_str!("../testdata/defaults");
/// Hand-written rules with continuations, escapes and options.
const HAND_WRITTEN: &str = include_str!("../testdata/hand-written");
/// A web team's drop-in: sudoedit rules and the options callers may choose.
const WEBADMIN: &str = include_str!("../testdata/webadmin");

/// The ids of the rules of a conversion.
fn ids(conversion: &crate::Conversion) -> Vec<String> {
    policy_of(conversion)
        .rules
        .iter()
        .map(|rule| rule.id.clone())
        .collect()
}

#[test]
fn monitoring_agent_with_nopasswd_commands_and_arguments() {
    let conversion = fixture("zabbix-agent", ZABBIX);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers.d/zabbix-agent:3: IGNORED: Defaults:zabbix !requiretty: jitsudo does not require a terminal either",
            "/etc/sudoers.d/zabbix-agent:4: IGNORED: Defaults:zabbix !syslog: jitsudo records every decision in its own audit log",
            "/etc/sudoers.d/zabbix-agent:9: APPROXIMATED: /usr/bin/systemctl is-active *: sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
        ]
    );
    assert_eq!(
        ids(&conversion),
        ["zabbix-agent-L9", "zabbix-agent-L11", "zabbix-agent-L12"]
    );
}

#[test]
fn ops_group_with_aliases_sets_and_negations() {
    let conversion = fixture("ops", OPS);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers.d/ops:7: APPROXIMATED: /usr/bin/systemctl status *: sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
            "/etc/sudoers.d/ops:15: APPROXIMATED: web*.example.com (in WEB): jitsudo compares host patterns with the host name the machine reports (gethostname), which may be short where sudo would compare a fully qualified name",
            "/etc/sudoers.d/ops:16: APPROXIMATED: /usr/bin/php *: sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
            "/etc/sudoers.d/ops:17: APPROXIMATED: !/usr/bin/apt-get remove * (in PKG): sudo matches wildcards in arguments against all the arguments joined by spaces, and jitsudo cannot deny a varying number of arguments: converted as a deny of /usr/bin/apt-get with any arguments (it denies more than sudo did)",
            "/etc/sudoers.d/ops:18: NOT CONVERTED: !guest: negated users cannot be expressed (a jitsudo rule's who has no exclusions): the line is not converted",
            "/etc/sudoers.d/ops:19: NOT CONVERTED: !root: negated run-as entries cannot be expressed: the commands with this run-as list are not converted",
            "/etc/sudoers.d/ops:20: NOT CONVERTED: !db1: negated hosts cannot be expressed (a rule's when.hosts has no exclusions): the commands for this host list are not converted",
            "/etc/sudoers.d/ops:21: IGNORED: !/usr/bin/vi /etc/hosts: has no effect: the later entry /usr/bin/vi /etc/hosts allows it again (in sudo the last match of a line wins)",
        ]
    );
    assert_eq!(
        ids(&conversion),
        [
            "ops-L14",
            "ops-L14-2",
            "ops-L15",
            "ops-L16",
            "ops-L17",
            "ops-L17-2",
            "ops-L21"
        ]
    );
}

#[test]
fn vagrant_admin_group_without_password() {
    let conversion = fixture("vagrant", VAGRANT);
    assert_eq!(
        notes(&conversion),
        ["/etc/sudoers.d/vagrant:1: IGNORED: Defaults:vagrant !requiretty: jitsudo does not require a terminal either"]
    );
    assert_eq!(ids(&conversion), ["vagrant-L2", "vagrant-L3"]);
}

#[test]
fn cloud_init_default_user() {
    let conversion = fixture("90-cloud-init-users", CLOUD_INIT);
    assert!(conversion.unconverted.is_empty());
    assert_eq!(ids(&conversion), ["90-cloud-init-users-L5"]);
}

#[test]
fn defaults_variations() {
    let conversion = fixture("defaults", DEFAULTS);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers.d/defaults:2: IGNORED: Defaults env_reset: jitsudo always resets the environment (env_keep lists the variables it keeps)",
            "/etc/sudoers.d/defaults:5: NOT CONVERTED: Defaults env_keep += \"GIT_* TZ=UTC\" (TZ=UTC): jitsudo's env_keep takes variable names, optionally ending in `*`; a name with a value or an inner `*` is not kept",
            "/etc/sudoers.d/defaults:6: IGNORED: Defaults !lecture: jitsudo shows no lecture",
            "/etc/sudoers.d/defaults:8: IGNORED: Defaults insults: jitsudo prints no insults",
            "/etc/sudoers.d/defaults:10: IGNORED: Defaults logfile=/var/log/sudo.log: jitsudo records every decision in its own audit log",
            "/etc/sudoers.d/defaults:10: IGNORED: Defaults log_year: jitsudo records every decision in its own audit log",
            "/etc/sudoers.d/defaults:11: NOT CONVERTED: Defaults log_output: jitsudo does not record terminal input or output",
            "/etc/sudoers.d/defaults:12: APPROXIMATED: Defaults timestamp_type=global: jitsudo remembers an authentication per terminal session (as timestamp_type=tty)",
            "/etc/sudoers.d/defaults:13: NOT CONVERTED: Defaults targetpw: jitsudo always asks for the caller's own password",
            "/etc/sudoers.d/defaults:14: IGNORED: Defaults badpass_message=\"Sorry, try again\": jitsudo's password prompt is its own",
            "/etc/sudoers.d/defaults:15: IGNORED: Defaults editor=/usr/bin/vim:/usr/bin/nano: jitsudo's sudoedit runs the caller's SUDO_EDITOR, VISUAL or EDITOR (else vi), as the caller",
            "/etc/sudoers.d/defaults:18: IGNORED: Defaults !fqdn: jitsudo does not resolve host names either",
            "/etc/sudoers.d/defaults:19: NOT CONVERTED: Defaults:%sudo env_keep += \"EDITOR\": Defaults for specific users are not converted: jitsudo's [defaults] apply to every rule",
            "/etc/sudoers.d/defaults:20: NOT CONVERTED: Defaults:jenkins !requiretty: Defaults for specific users are not converted: their rules keep when = { tty = true } from Defaults requiretty",
            "/etc/sudoers.d/defaults:21: NOT CONVERTED: Defaults@db1 log_input: Defaults for specific hosts are not converted: jitsudo's [defaults] apply to every rule",
            "/etc/sudoers.d/defaults:22: NOT CONVERTED: Defaults>root !set_logname: Defaults for specific run-as users are not converted: jitsudo's [defaults] apply to every rule",
            "/etc/sudoers.d/defaults:23: NOT CONVERTED: Defaults!/usr/bin/less noexec: Defaults for specific commands are not converted: jitsudo's [defaults] apply to every rule",
        ]
    );
    let defaults = policy_of(&conversion).defaults;
    assert_eq!(defaults.secure_path, "/usr/sbin:/usr/bin:/sbin:/bin");
    assert_eq!(
        defaults.env_keep,
        [
            "COLORTERM",
            "DISPLAY",
            "LANG",
            "LC_*",
            "XAUTHORITY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "SSH_AUTH_SOCK",
            "GIT_*"
        ]
    );
    assert_eq!(defaults.umask, 0o027);
    assert_eq!(defaults.passwd_tries, 5);
    assert_eq!(
        defaults.timestamp_timeout,
        std::time::Duration::from_secs(15 * 60)
    );
}

#[test]
fn continuation_lines_escapes_quotes_digests_and_options() {
    let conversion = fixture("hand-written", HAND_WRITTEN);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers.d/hand-written:9: NOT CONVERTED: \"%domain users\": `domain users` cannot be written as a jitsudo user or group name; this user is left out of the rule",
            "/etc/sudoers.d/hand-written:9: NOT CONVERTED: \"%domain users\" ALL = /usr/bin/id: no user of the line can be expressed: the line is not converted",
            "/etc/sudoers.d/hand-written:12: APPROXIMATED: CWD=/srv/app: converted as cwd = \"/srv/app\", which lets the caller pass -D /srv/app; sudo also runs the command there without -D, jitsudo runs it in the caller's directory",
            "/etc/sudoers.d/hand-written:16: APPROXIMATED: /usr/bin/cat /var/log/*: sudo matches `*` in arguments against all the arguments joined by spaces, so it also allows more arguments; jitsudo matches each argument on its own (narrower)",
            "/etc/sudoers.d/hand-written:17: NOT CONVERTED: ^/usr/bin/(ls|cat)$: regular expressions are not supported (rewrite them as wildcards): the entry is not converted",
            "/etc/sudoers.d/hand-written:18: NOT CONVERTED: NOEXEC: /usr/bin/less /var/log/syslog: jitsudo cannot stop a command from running other programs: the command is not converted",
            "/etc/sudoers.d/hand-written:18: NOT CONVERTED: NOEXEC: /usr/bin/make: jitsudo cannot stop a command from running other programs: the command is not converted",
            "/etc/sudoers.d/hand-written:18: NOT CONVERTED: INTERCEPT: /usr/bin/make: jitsudo cannot check the programs a command runs: the command is not converted",
        ]
    );
    assert_eq!(
        ids(&conversion),
        [
            "hand-written-L6",
            "hand-written-L10",
            "hand-written-L11",
            "hand-written-L12",
            "hand-written-L12-2",
            "hand-written-L12-3",
            "hand-written-L14",
            "hand-written-L15",
            "hand-written-L15-2",
            "hand-written-L16",
            "hand-written-L17",
            "hand-written-L18",
        ]
    );
}

#[test]
fn debian_with_the_drop_ins_in_sudoers_d() {
    // As `read` would list /etc/sudoers.d: sorted, README included.
    let conversion = debian_with(vec![
        drop_in("90-cloud-init-users", CLOUD_INIT),
        drop_in("README", DEBIAN_README),
        drop_in("vagrant", VAGRANT),
        drop_in("zabbix-agent", ZABBIX),
    ]);
    golden("debian-with-drop-ins", &conversion.toml);
    assert_eq!(
        conversion.files,
        [
            "/etc/sudoers",
            "/etc/sudoers.d/90-cloud-init-users",
            "/etc/sudoers.d/README",
            "/etc/sudoers.d/vagrant",
            "/etc/sudoers.d/zabbix-agent",
        ]
    );
    assert_eq!(
        ids(&conversion),
        [
            "sudoers-L47",
            "sudoers-L50",
            "90-cloud-init-users-L5",
            "vagrant-L2",
            "vagrant-L3",
            "zabbix-agent-L9",
            "zabbix-agent-L11",
            "zabbix-agent-L12",
        ]
    );
    assert_eq!(conversion.unconverted.len(), 3 + 1 + 3);
}

#[test]
fn every_prefix_of_every_fixture_converts_into_a_valid_policy() {
    for text in [
        DEBIAN,
        ZABBIX,
        OPS,
        VAGRANT,
        CLOUD_INIT,
        DEFAULTS,
        HAND_WRITTEN,
        WEBADMIN,
    ] {
        for cut in (0..=text.len()).step_by(3) {
            let conversion = convert("prefix", &text[..cut]);
            policy_of(&conversion);
            assert!(
                conversion
                    .unconverted
                    .iter()
                    .all(|note| note.construct != "(the converted policy)"),
                "{:?}",
                &text[..cut]
            );
        }
    }
}

#[test]
fn odd_input_converts_into_a_valid_policy() {
    for text in [
        "",
        "\\",
        "\"",
        "#",
        "%",
        "u ALL = \\\n",
        "u ALL = /bin/x \\",
        "u ALL = /bin/x \"",
        "Defaults",
        "Defaults env_keep = \"unterminated\n",
        "u ALL = (",
        "u ALL = sha256:",
        "u ALL = ^/bin/x",
        "Cmnd_Alias X = X\nu ALL = X, !X\n",
        "User_Alias U = U\nU ALL = ALL\n",
        "u ALL = /bin/é\\é ü, CWD=/ä /bin/ö\n",
        "u\tALL=(ALL:ALL)\tNOPASSWD:ALL\t# tabs\n",
        "u ALL = /bin/x \u{1b}[31m\n",
        "@include\n@includedir \"\"\n",
    ] {
        policy_of(&convert("odd", text));
    }
}

#[test]
fn sudoedit_rules_and_caller_options() {
    let conversion = fixture("webadmin", WEBADMIN);
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers.d/webadmin:3: NOT CONVERTED: Defaults passprompt_override: -p and SUDO_PROMPT always replace jitsudo's passprompt",
            "/etc/sudoers.d/webadmin:6: NOT CONVERTED: Defaults closefrom=5: jitsudo closes every descriptor above 2 unless the caller keeps some with -C (closefrom_override)",
            "/etc/sudoers.d/webadmin:12: APPROXIMATED: sudoedit /etc/hosts /etc/resolv.conf: sudo allows editing these files together; jitsudo allows editing each of them, also alone",
            "/etc/sudoers.d/webadmin:14: NOT CONVERTED: sudoedit: a sudoedit entry without files allows editing any file; jitsudo's sudoedit entries name their files (list them): the entry is not converted",
            "/etc/sudoers.d/webadmin:15: APPROXIMATED: FOLLOW: jitsudo never edits a file through a symbolic link",
            "/etc/sudoers.d/webadmin:15: NOT CONVERTED: sudoedit conf/app.yml: `sudoedit` file `conf/app.yml` must be an absolute path without `.`, `..` or `//`: the entry is not converted",
        ]
    );
    let policy = policy_of(&conversion);
    assert_eq!(policy.defaults.passprompt, "[sudo] password for %p on %h: ");
    assert!(policy.defaults.user_command_timeouts);
    assert!(policy.defaults.closefrom_override);
}
