use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStringExt;

use super::*;

const SECURE_PATH: &str = "/usr/sbin:/usr/bin";

fn pairs(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    vars.iter()
        .map(|(n, v)| (OsString::from(n), OsString::from(v)))
        .collect()
}

fn default_keep() -> Vec<String> {
    crate::DEFAULT_ENV_KEEP
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Builds the environment for root run by alice (uid 1000, gid 1000).
fn build(
    caller_env: &[(OsString, OsString)],
    preserve: Preserve<'_>,
    assignments: &[(OsString, OsString)],
    env_keep: &[String],
) -> Vec<(OsString, OsString)> {
    build_env(&request(caller_env, preserve, assignments, env_keep))
}

/// The request [`build`] builds from.
fn request<'a>(
    caller_env: &'a [(OsString, OsString)],
    preserve: Preserve<'a>,
    assignments: &'a [(OsString, OsString)],
    env_keep: &'a [String],
) -> EnvRequest<'a> {
    EnvRequest {
        caller_env,
        preserve,
        assignments,
        env_keep,
        secure_path: SECURE_PATH,
        target: TargetIdentity {
            name: OsStr::new("root"),
            home: OsStr::new("/root"),
            shell: OsStr::new("/bin/bash"),
        },
        caller: CallerIdentity {
            name: OsStr::new("alice"),
            uid: 1000,
            gid: 1001,
        },
        command_line: OsStr::new("/usr/bin/id -u"),
        set_home: false,
    }
}

fn get<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a OsStr> {
    env.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_os_str())
}

fn names(env: &[(OsString, OsString)]) -> Vec<String> {
    env.iter()
        .map(|(n, _)| n.to_string_lossy().into_owned())
        .collect()
}

const FIXED: [&str; 11] = [
    "HOME",
    "LOGNAME",
    "MAIL",
    "PATH",
    "SHELL",
    "SUDO_COMMAND",
    "SUDO_GID",
    "SUDO_UID",
    "SUDO_USER",
    "TERM",
    "USER",
];

#[test]
fn empty_caller_env_gives_exactly_the_fixed_variables() {
    let env = build(&[], Preserve::None, &[], &default_keep());
    let expected = pairs(&[
        ("HOME", "/root"),
        ("LOGNAME", "root"),
        ("MAIL", "/var/mail/root"),
        ("PATH", SECURE_PATH),
        ("SHELL", "/bin/bash"),
        ("SUDO_COMMAND", "/usr/bin/id -u"),
        ("SUDO_GID", "1001"),
        ("SUDO_UID", "1000"),
        ("SUDO_USER", "alice"),
        ("TERM", "unknown"),
        ("USER", "root"),
    ]);
    assert_eq!(env, expected);
}

#[test]
fn term_comes_from_the_caller_when_safe() {
    let env = build(
        &pairs(&[("TERM", "xterm-256color")]),
        Preserve::None,
        &[],
        &[],
    );
    assert_eq!(get(&env, "TERM"), Some(OsStr::new("xterm-256color")));
    let env = build(
        &pairs(&[("TERM", "../../tmp/evil")]),
        Preserve::None,
        &[],
        &[],
    );
    assert_eq!(get(&env, "TERM"), Some(OsStr::new("unknown")));
}

#[test]
fn env_keep_keeps_exact_names_and_prefixes_only() {
    let caller = pairs(&[
        ("DISPLAY", ":0"),
        ("LC_TIME", "de_DE.UTF-8"),
        ("LC_ALL", "C"),
        ("LANG", "en_US.UTF-8"),
        ("LANGUAGEX", "x"),
        ("EDITOR", "vim"),
        ("XAUTHORITY", "/home/alice/.Xauthority"),
    ]);
    let env = build(&caller, Preserve::None, &[], &default_keep());
    assert_eq!(get(&env, "DISPLAY"), Some(OsStr::new(":0")));
    assert_eq!(get(&env, "LC_TIME"), Some(OsStr::new("de_DE.UTF-8")));
    assert_eq!(get(&env, "LC_ALL"), Some(OsStr::new("C")));
    assert_eq!(get(&env, "LANG"), Some(OsStr::new("en_US.UTF-8")));
    assert_eq!(
        get(&env, "XAUTHORITY"),
        Some(OsStr::new("/home/alice/.Xauthority"))
    );
    assert_eq!(get(&env, "LANGUAGEX"), None);
    assert_eq!(get(&env, "EDITOR"), None);
}

#[test]
fn env_check_drops_slash_and_percent_even_when_kept() {
    let caller = pairs(&[
        ("LANG", "../../../tmp/x"),
        ("LC_MESSAGES", "%n"),
        ("COLORTERM", "truecolor"),
        ("TZ", ":/usr/share/zoneinfo/Europe/Paris"),
        ("LANGUAGE", "fr:en"),
    ]);
    let keep: Vec<String> = ["LANG", "LC_*", "COLORTERM", "TZ", "LANGUAGE"]
        .map(String::from)
        .to_vec();
    let env = build(&caller, Preserve::None, &[], &keep);
    assert_eq!(get(&env, "LANG"), None);
    assert_eq!(get(&env, "LC_MESSAGES"), None);
    assert_eq!(get(&env, "COLORTERM"), Some(OsStr::new("truecolor")));
    assert_eq!(
        get(&env, "TZ"),
        Some(OsStr::new(":/usr/share/zoneinfo/Europe/Paris"))
    );
    assert_eq!(get(&env, "LANGUAGE"), Some(OsStr::new("fr:en")));
}

#[test]
fn dangerous_names_are_never_kept_by_env_keep() {
    let caller = pairs(&[
        ("LD_PRELOAD", "/tmp/x.so"),
        ("PYTHONPATH", "/tmp"),
        ("IFS", " "),
    ]);
    let keep: Vec<String> = ["LD_*", "PYTHONPATH", "IFS", "*"]
        .map(String::from)
        .to_vec();
    let env = build(&caller, Preserve::None, &[], &keep);
    assert_eq!(names(&env), FIXED);
}

#[test]
fn preserve_all_keeps_ordinary_variables_but_not_dangerous_ones() {
    let caller = pairs(&[
        ("EDITOR", "vim"),
        ("LD_PRELOAD", "/tmp/evil.so"),
        ("LD_LIBRARY_PATH", "/tmp"),
        ("LD_BIND_NOW", "1"),
        ("BASH_ENV", "/tmp/x"),
        ("BASH_FUNC_ls%%", "() { id; }"),
        ("GREETING", "() { :; }; id"),
        ("MALLOC_CHECK_", "3"),
        ("PATH", "/home/alice/bin:/usr/bin"),
        ("SUDO_USER", "mallory"),
        ("USER", "alice"),
        ("LOGNAME", "alice"),
    ]);
    let env = build(&caller, Preserve::All, &[], &default_keep());
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("vim")));
    for gone in [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_BIND_NOW",
        "BASH_ENV",
        "BASH_FUNC_ls%%",
        "GREETING",
        "MALLOC_CHECK_",
    ] {
        assert_eq!(get(&env, gone), None, "{gone}");
    }
    assert_eq!(get(&env, "PATH"), Some(OsStr::new(SECURE_PATH)));
    assert_eq!(get(&env, "SUDO_USER"), Some(OsStr::new("alice")));
    assert_eq!(get(&env, "USER"), Some(OsStr::new("root")));
    assert_eq!(get(&env, "LOGNAME"), Some(OsStr::new("root")));
}

/// sudo 1.9.13's `-E`: HOME and SHELL stay the caller's, MAIL is not added.
#[test]
fn preserve_all_keeps_the_callers_home_and_shell_and_adds_no_mail() {
    let caller = pairs(&[
        ("HOME", "/home/alice"),
        ("SHELL", "/bin/zsh"),
        ("TERM", "xterm"),
        ("FOO", "bar"),
    ]);
    let env = build(&caller, Preserve::All, &[], &default_keep());
    let expected = pairs(&[
        ("FOO", "bar"),
        ("HOME", "/home/alice"),
        ("LOGNAME", "root"),
        ("PATH", SECURE_PATH),
        ("SHELL", "/bin/zsh"),
        ("SUDO_COMMAND", "/usr/bin/id -u"),
        ("SUDO_GID", "1001"),
        ("SUDO_UID", "1000"),
        ("SUDO_USER", "alice"),
        ("TERM", "xterm"),
        ("USER", "root"),
    ]);
    assert_eq!(env, expected);
}

#[test]
fn preserve_all_passes_the_callers_mail_untouched() {
    let caller = pairs(&[("MAIL", "/var/mail/alice")]);
    let env = build(&caller, Preserve::All, &[], &[]);
    assert_eq!(get(&env, "MAIL"), Some(OsStr::new("/var/mail/alice")));
}

/// Without a HOME of his own, sudo -E leaves HOME unset; SHELL falls back
/// to the target's.
#[test]
fn preserve_all_without_callers_home_or_shell() {
    let env = build(&[], Preserve::All, &[], &default_keep());
    assert_eq!(get(&env, "HOME"), None);
    assert_eq!(get(&env, "MAIL"), None);
    assert_eq!(get(&env, "SHELL"), Some(OsStr::new("/bin/bash")));
    assert_eq!(get(&env, "TERM"), Some(OsStr::new("unknown")));
    let caller = pairs(&[("HOME", "() { id; }"), ("SHELL", "() { id; }")]);
    let env = build(&caller, Preserve::All, &[], &default_keep());
    assert_eq!(get(&env, "HOME"), None);
    assert_eq!(get(&env, "SHELL"), Some(OsStr::new("/bin/bash")));
}

#[test]
fn preserve_none_and_list_give_the_targets_home_shell_and_mail() {
    let caller = pairs(&[
        ("HOME", "/home/alice"),
        ("SHELL", "/bin/zsh"),
        ("MAIL", "/var/mail/alice"),
    ]);
    let list = vec!["FOO".to_owned()];
    for preserve in [Preserve::None, Preserve::List(&list)] {
        let env = build(&caller, preserve, &[], &default_keep());
        assert_eq!(get(&env, "HOME"), Some(OsStr::new("/root")));
        assert_eq!(get(&env, "SHELL"), Some(OsStr::new("/bin/bash")));
        assert_eq!(get(&env, "MAIL"), Some(OsStr::new("/var/mail/root")));
    }
}

#[test]
fn preserve_list_adds_exact_names_to_env_keep() {
    let caller = pairs(&[
        ("EDITOR", "vim"),
        ("EDITORS", "x"),
        ("PAGER", "less"),
        ("DISPLAY", ":1"),
        ("LD_PRELOAD", "/tmp/x.so"),
    ]);
    let list: Vec<String> = ["EDITOR", "LD_PRELOAD", "ABSENT"]
        .map(String::from)
        .to_vec();
    let env = build(&caller, Preserve::List(&list), &[], &default_keep());
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("vim")));
    assert_eq!(get(&env, "DISPLAY"), Some(OsStr::new(":1")));
    assert_eq!(get(&env, "EDITORS"), None);
    assert_eq!(get(&env, "PAGER"), None);
    assert_eq!(get(&env, "LD_PRELOAD"), None);
    assert_eq!(get(&env, "ABSENT"), None);
}

/// As sudo, which turns the list into `VAR=value` assignments: a listed
/// name passes even if dangerous, and even a failing `env_check` value.
#[test]
fn preserve_list_passes_listed_dangerous_names() {
    let caller = pairs(&[
        ("FOO", "1"),
        ("BASH_ENV", "/x"),
        ("LD_BIND_NOW", "1"),
        ("PERL5LIB", "/tmp"),
        ("LANG", "../x"),
        ("IFS", " "),
    ]);
    let list: Vec<String> = ["BASH_ENV", "FOO", "LD_BIND_NOW", "PERL5LIB", "LANG"]
        .map(String::from)
        .to_vec();
    let env = build(&caller, Preserve::List(&list), &[], &default_keep());
    assert_eq!(get(&env, "FOO"), Some(OsStr::new("1")));
    assert_eq!(get(&env, "BASH_ENV"), Some(OsStr::new("/x")));
    assert_eq!(get(&env, "LD_BIND_NOW"), Some(OsStr::new("1")));
    assert_eq!(get(&env, "PERL5LIB"), Some(OsStr::new("/tmp")));
    assert_eq!(get(&env, "LANG"), Some(OsStr::new("../x")));
    assert_eq!(get(&env, "IFS"), None, "not listed");
}

#[test]
fn preserve_list_never_passes_function_values() {
    let caller = pairs(&[("FUNC", "() { id; }"), ("BASH_FUNC_f%%", "() { id; }")]);
    let list: Vec<String> = ["FUNC", "BASH_FUNC_f%%"].map(String::from).to_vec();
    let env = build(&caller, Preserve::List(&list), &[], &[]);
    assert_eq!(names(&env), FIXED);
}

/// env_keep entries stay filtered even with a list; only listed names are not.
#[test]
fn preserve_list_still_filters_env_keep() {
    let caller = pairs(&[("LANG", "../x"), ("BASH_ENV", "/x"), ("TERM", "../t")]);
    let keep: Vec<String> = ["LANG", "BASH_ENV"].map(String::from).to_vec();
    let list = vec!["FOO".to_owned()];
    let env = build(&caller, Preserve::List(&list), &[], &keep);
    assert_eq!(get(&env, "LANG"), None);
    assert_eq!(get(&env, "BASH_ENV"), None);
    assert_eq!(get(&env, "TERM"), Some(OsStr::new("unknown")));
}

/// Listed variables arrive as assignments do, after the fixed ones.
#[test]
fn preserve_list_overrides_the_fixed_variables() {
    let caller = pairs(&[("HOME", "/home/alice"), ("PATH", "/home/alice/bin")]);
    let list: Vec<String> = ["HOME", "PATH"].map(String::from).to_vec();
    let env = build(&caller, Preserve::List(&list), &[], &[]);
    assert_eq!(get(&env, "HOME"), Some(OsStr::new("/home/alice")));
    assert_eq!(get(&env, "PATH"), Some(OsStr::new("/home/alice/bin")));
    let assignments = pairs(&[("HOME", "/srv")]);
    let env = build(&caller, Preserve::List(&list), &assignments, &[]);
    assert_eq!(get(&env, "HOME"), Some(OsStr::new("/srv")));
}

const LOADER_UNSECURE: [&str; 26] = [
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LD_AUDIT",
    "LD_DEBUG",
    "LD_DEBUG_OUTPUT",
    "LD_DYNAMIC_WEAK",
    "LD_HWCAP_MASK",
    "LD_LIBRARY_PATH",
    "LD_ORIGIN_PATH",
    "LD_PRELOAD",
    "LD_PROFILE",
    "LD_SHOW_AUXV",
    "LD_USE_LOAD_BIAS",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_TRACE",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TMPDIR",
    "TZDIR",
    "MALLOC_CHECK_",
    "MALLOC_ARENA_MAX",
];

/// The caller's environment with every loader-unsecure variable and FOO.
fn loader_unsecure_caller() -> Vec<(OsString, OsString)> {
    let mut caller: Vec<(OsString, OsString)> = LOADER_UNSECURE
        .iter()
        .map(|name| (OsString::from(name), OsString::from("/nonexistent")))
        .collect();
    caller.push(("FOO".into(), "1".into()));
    caller
}

#[test]
fn loader_unsecure_variables_never_come_from_the_caller() {
    let caller = loader_unsecure_caller();
    let mut list: Vec<String> = LOADER_UNSECURE.map(String::from).to_vec();
    list.push("FOO".to_owned());
    let keep = vec!["*".to_owned()];
    for preserve in [Preserve::All, Preserve::List(&list), Preserve::None] {
        let env = build(&caller, preserve, &[], &keep);
        for name in LOADER_UNSECURE {
            assert_eq!(get(&env, name), None, "{name} with {preserve:?}");
        }
        if preserve != Preserve::None {
            assert_eq!(get(&env, "FOO"), Some(OsStr::new("1")), "{preserve:?}");
        }
    }
}

#[test]
fn loader_unsecure_assignments_pass_unfiltered() {
    let assignments = loader_unsecure_caller();
    for preserve in [Preserve::All, Preserve::None] {
        let env = build(&[], preserve, &assignments, &[]);
        for name in LOADER_UNSECURE {
            assert_eq!(get(&env, name), Some(OsStr::new("/nonexistent")), "{name}");
        }
    }
}

#[test]
fn refusal_names_keep_order_and_drop_loader_names() {
    let requested = [
        "FOO",
        "LD_PRELOAD",
        "BAR",
        "BASH_ENV",
        "TMPDIR",
        "LD_BIND_NOW",
        "PATH",
        "EDITOR",
        "BASH_FUNC_x%%",
        "GLIBC_TUNABLES",
        "FOO",
    ];
    let names = setenv_refusal_names(requested.iter().map(OsStr::new));
    assert_eq!(
        names,
        [
            "FOO",
            "BAR",
            "BASH_ENV",
            "LD_BIND_NOW",
            "PATH",
            "EDITOR",
            "BASH_FUNC_x%%",
            "FOO"
        ]
    );
    assert!(setenv_refusal_names(std::iter::empty()).is_empty());
}

#[test]
fn assignments_override_everything_but_function_values() {
    let caller = pairs(&[("EDITOR", "vim"), ("TERM", "xterm")]);
    let assignments = pairs(&[
        ("PATH", "/opt/bin"),
        ("EDITOR", "nano"),
        ("LD_LIBRARY_PATH", "/opt/lib"),
        ("TERM", "vt100"),
        ("FUNC", "() { id; }"),
        ("HOME", "/srv"),
    ]);
    let env = build(&caller, Preserve::All, &assignments, &[]);
    assert_eq!(get(&env, "PATH"), Some(OsStr::new("/opt/bin")));
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("nano")));
    assert_eq!(get(&env, "LD_LIBRARY_PATH"), Some(OsStr::new("/opt/lib")));
    assert_eq!(get(&env, "TERM"), Some(OsStr::new("vt100")));
    assert_eq!(get(&env, "HOME"), Some(OsStr::new("/srv")));
    assert_eq!(get(&env, "FUNC"), None);
}

#[test]
fn malformed_variables_are_dropped() {
    let mut caller = pairs(&[("", "x"), ("A=B", "c")]);
    caller.push((
        OsString::from_vec(b"NUL\0NAME".to_vec()),
        OsString::from("x"),
    ));
    caller.push((
        OsString::from("NULVALUE"),
        OsString::from_vec(b"a\0b".to_vec()),
    ));
    let env = build(&caller, Preserve::None, &caller, &["*".to_owned()]);
    assert_eq!(names(&env), FIXED);
    let env = build(&caller, Preserve::All, &caller, &[]);
    let without_home_and_mail: Vec<&str> = FIXED
        .into_iter()
        .filter(|&name| name != "HOME" && name != "MAIL")
        .collect();
    assert_eq!(names(&env), without_home_and_mail);
}

#[test]
fn non_utf8_variables_pass_as_bytes() {
    let name = OsString::from_vec(b"DATA_\xff".to_vec());
    let value = OsString::from_vec(b"\xfe\xfd".to_vec());
    let caller = vec![(name.clone(), value.clone())];
    let env = build(&caller, Preserve::All, &[], &[]);
    assert!(env.contains(&(name, value)));
}

#[test]
fn each_name_appears_once_sorted_and_the_last_wins() {
    let caller = pairs(&[("EDITOR", "vi"), ("EDITOR", "vim"), ("AAA", "1")]);
    let assignments = pairs(&[("ZZZ", "1"), ("ZZZ", "2")]);
    let env = build(&caller, Preserve::All, &assignments, &[]);
    let mut sorted = names(&env);
    sorted.sort();
    sorted.dedup();
    assert_eq!(names(&env), sorted);
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("vim")));
    assert_eq!(get(&env, "ZZZ"), Some(OsStr::new("2")));
    assert_eq!(names(&env)[0], "AAA");
}

/// sudo 1.9.13: `HOME` kept by `env_keep` or `-E` stays the caller's, and
/// `-H` makes it the target's; `--preserve-env=HOME` still wins over `-H`.
#[test]
fn set_home_overrides_a_kept_home() {
    let caller = pairs(&[("HOME", "/home/alice")]);
    let keep = vec!["HOME".to_string()];
    let listed = vec!["HOME".to_string()];
    let home = |r: EnvRequest<'_>| get(&build_env(&r), "HOME").map(OsStr::to_os_string);
    let kept = request(&caller, Preserve::None, &[], &keep);
    assert_eq!(home(kept), Some("/home/alice".into()));
    assert_eq!(
        home(EnvRequest {
            set_home: true,
            ..kept
        }),
        Some("/root".into())
    );
    let all = request(&caller, Preserve::All, &[], &[]);
    assert_eq!(
        home(EnvRequest {
            set_home: true,
            ..all
        }),
        Some("/root".into())
    );
    let list = request(&caller, Preserve::List(&listed), &[], &[]);
    assert_eq!(
        home(EnvRequest {
            set_home: true,
            ..list
        }),
        Some("/home/alice".into())
    );
}

/// sudo sets `PS1` from the caller's `SUDO_PS1`; an assignment still wins.
#[test]
fn sudo_ps1_becomes_ps1() {
    let caller = pairs(&[("SUDO_PS1", "root# "), ("PS1", "$ ")]);
    let env = build(&caller, Preserve::None, &[], &default_keep());
    assert_eq!(get(&env, "PS1"), Some(OsStr::new("root# ")));
    assert_eq!(get(&env, "SUDO_PS1"), None);
    let env = build(
        &caller,
        Preserve::None,
        &pairs(&[("PS1", "y")]),
        &default_keep(),
    );
    assert_eq!(get(&env, "PS1"), Some(OsStr::new("y")));
}
