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
    build_env(&EnvRequest {
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
    })
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
        ("BASH_FUNC_ls%%", "() { id; }"),
        ("GREETING", "() { :; }; id"),
        ("MALLOC_CHECK_", "3"),
        ("HOME", "/home/alice"),
        ("PATH", "/home/alice/bin:/usr/bin"),
        ("SUDO_USER", "mallory"),
        ("USER", "alice"),
        ("MAIL", "/var/mail/alice"),
    ]);
    let env = build(&caller, Preserve::All, &[], &default_keep());
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("vim")));
    for gone in [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "BASH_FUNC_ls%%",
        "GREETING",
        "MALLOC_CHECK_",
    ] {
        assert_eq!(get(&env, gone), None, "{gone}");
    }
    assert_eq!(get(&env, "HOME"), Some(OsStr::new("/root")));
    assert_eq!(get(&env, "PATH"), Some(OsStr::new(SECURE_PATH)));
    assert_eq!(get(&env, "SUDO_USER"), Some(OsStr::new("alice")));
    assert_eq!(get(&env, "USER"), Some(OsStr::new("root")));
    assert_eq!(get(&env, "MAIL"), Some(OsStr::new("/var/mail/root")));
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
    let list: Vec<String> = ["EDITOR", "LD_PRELOAD"].map(String::from).to_vec();
    let env = build(&caller, Preserve::List(&list), &[], &default_keep());
    assert_eq!(get(&env, "EDITOR"), Some(OsStr::new("vim")));
    assert_eq!(get(&env, "DISPLAY"), Some(OsStr::new(":1")));
    assert_eq!(get(&env, "EDITORS"), None);
    assert_eq!(get(&env, "PAGER"), None);
    assert_eq!(get(&env, "LD_PRELOAD"), None);
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
    let env = build(&caller, Preserve::All, &caller, &[]);
    assert_eq!(names(&env), FIXED);
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
