//! Builds a command's environment from arbitrary caller variables, `env_keep`
//! patterns, `-E` / `--preserve-env=LIST` choices and `VAR=value`
//! assignments, and checks what the daemon relies on:
//!
//! * names are sorted and unique; every variable can be passed to `execve`;
//! * a loader-unsecure variable (`LD_PRELOAD`, …) only ever comes from an
//!   explicit assignment (which the policy allows with `setenv` only);
//! * every other variable is set by the daemon itself, assigned, named in
//!   `--preserve-env=LIST`, or is a caller variable that was asked for and
//!   is not dangerous;
//! * without assignments or a list, `PATH`, the target's identity and the
//!   `SUDO_*` variables are exactly the daemon's.

#![no_main]

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use jitsudo_policy::env::{
    build_env, is_dangerous, is_loader_unsecure, CallerIdentity, EnvRequest, Preserve,
    TargetIdentity,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Names the filter treats specially, so that inputs reach them often.
const NAMES: &[&str] = &[
    "PATH",
    "TERM",
    "TZ",
    "LANG",
    "LC_ALL",
    "HOME",
    "SHELL",
    "MAIL",
    "USER",
    "LOGNAME",
    "SUDO_USER",
    "SUDO_UID",
    "SUDO_COMMAND",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_BIND_NOW",
    "GLIBC_TUNABLES",
    "GCONV_PATH",
    "TMPDIR",
    "PYTHONPATH",
    "BASH_ENV",
    "BASH_FUNC_f%%",
    "IFS",
    "MALLOC_CHECK_",
    "DISPLAY",
    "FOO",
];

/// Values the filter treats specially.
const VALUES: &[&str] = &[
    "() { :; }",
    "/tmp/x",
    "xterm",
    "%s%n",
    ":/usr/share/zoneinfo/Europe/Paris",
    ":/usr/share/zoneinfo/../../../tmp/x",
    "",
];

const SECURE_PATH: &str = "/usr/sbin:/usr/bin";

/// One input, decoded.
struct Input {
    caller_env: Vec<(OsString, OsString)>,
    assignments: Vec<(OsString, OsString)>,
    env_keep: Vec<String>,
    list: Vec<String>,
    preserve: u8,
    set_home: bool,
    command_line: OsString,
}

fn pick(u: &mut Unstructured<'_>, known: &[&str]) -> Result<OsString> {
    if u.arbitrary()? {
        Ok(known[u.choose_index(known.len())?].into())
    } else {
        Ok(OsString::from_vec(u.arbitrary()?))
    }
}

fn variables(u: &mut Unstructured<'_>) -> Result<Vec<(OsString, OsString)>> {
    let n = u.int_in_range(0..=12)?;
    (0..n)
        .map(|_| Ok((pick(u, NAMES)?, pick(u, VALUES)?)))
        .collect()
}

fn names(u: &mut Unstructured<'_>) -> Result<Vec<String>> {
    let n = u.int_in_range(0..=6)?;
    (0..n)
        .map(|_| Ok(pick(u, NAMES)?.to_string_lossy().into_owned()))
        .collect()
}

fn input(u: &mut Unstructured<'_>) -> Result<Input> {
    let mut command_line = OsString::from("/usr/bin/x ");
    command_line.push(OsString::from_vec(
        u.arbitrary::<Vec<u8>>()?
            .into_iter()
            .filter(|&b| b != 0)
            .collect(),
    ));
    Ok(Input {
        caller_env: variables(u)?,
        assignments: variables(u)?,
        env_keep: names(u)?,
        list: names(u)?,
        preserve: u.int_in_range(0..=2)?,
        set_home: u.arbitrary()?,
        command_line,
    })
}

/// Whether `name` equals an `env_keep` entry or starts with the stem of one
/// ending in `*`.
fn kept_by(env_keep: &[String], name: &[u8]) -> bool {
    env_keep.iter().any(|k| match k.strip_suffix('*') {
        Some(stem) => name.starts_with(stem.as_bytes()),
        None => name == k.as_bytes(),
    })
}

fn check(input: &Input) {
    let target = TargetIdentity {
        name: OsStr::new("root"),
        home: OsStr::new("/root"),
        shell: OsStr::new("/bin/bash"),
    };
    let caller = CallerIdentity {
        name: OsStr::new("alice"),
        uid: 1000,
        gid: 1001,
    };
    let preserve = match input.preserve {
        0 => Preserve::None,
        1 => Preserve::All,
        _ => Preserve::List(&input.list),
    };
    let request = EnvRequest {
        caller_env: &input.caller_env,
        preserve,
        assignments: &input.assignments,
        env_keep: &input.env_keep,
        secure_path: SECURE_PATH,
        target,
        caller,
        command_line: &input.command_line,
        set_home: input.set_home,
    };
    let env = build_env(&request);
    assert_eq!(env, build_env(&request), "not deterministic");
    assert!(env.windows(2).all(|w| w[0].0 < w[1].0), "not sorted/unique");

    let daemon_values: [(&str, &OsStr); 7] = [
        ("USER", OsStr::new("root")),
        ("LOGNAME", OsStr::new("root")),
        ("PATH", OsStr::new(SECURE_PATH)),
        ("SUDO_USER", OsStr::new("alice")),
        ("SUDO_UID", OsStr::new("1000")),
        ("SUDO_GID", OsStr::new("1001")),
        ("SUDO_COMMAND", &input.command_line),
    ];
    let targets: [(&str, &OsStr); 3] = [
        ("HOME", target.home),
        ("SHELL", target.shell),
        ("MAIL", OsStr::new("/var/mail/root")),
    ];
    for (name, value) in &env {
        let (n, v) = (name.as_bytes(), value.as_bytes());
        assert!(!n.is_empty() && !n.contains(&b'=') && !n.contains(&0) && !v.contains(&0));
        let assigned = input
            .assignments
            .iter()
            .any(|(a, b)| a == name && b == value);
        let listed = matches!(preserve, Preserve::List(l) if l.iter().any(|x| x.as_bytes() == n));
        if is_loader_unsecure(name) {
            assert!(assigned, "{name:?}={value:?} reached the command unasked");
        }
        if assigned || listed {
            continue;
        }
        let by_daemon = daemon_values
            .iter()
            .any(|(d, x)| d.as_bytes() == n && x == value)
            || (preserve != Preserve::All
                && targets.iter().any(|(d, x)| d.as_bytes() == n && x == value))
            || (preserve == Preserve::All && n == b"SHELL" && value == target.shell)
            || (input.set_home && n == b"HOME" && value == target.home)
            || (n == b"TERM" && v == b"unknown");
        if by_daemon {
            continue;
        }
        assert!(
            input
                .caller_env
                .iter()
                .any(|(a, b)| a == name && b == value),
            "{name:?}={value:?} came from nowhere"
        );
        assert!(
            !is_dangerous(name, value),
            "dangerous {name:?}={value:?} kept"
        );
        let asked = preserve == Preserve::All || n == b"TERM" || kept_by(&input.env_keep, n);
        assert!(asked, "{name:?} kept though nobody asked for it");
    }
    if input.assignments.is_empty() && !matches!(preserve, Preserve::List(_)) {
        for (d, x) in daemon_values {
            let got = env.iter().find(|(n, _)| n == d).map(|(_, v)| v.as_os_str());
            assert_eq!(got, Some(x), "{d} is not the daemon's");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = input(&mut Unstructured::new(data)) {
        check(&input);
    }
});
