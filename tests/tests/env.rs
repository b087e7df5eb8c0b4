//! The command's environment: env_reset, env_keep, `-E`,
//! `--preserve-env=LIST`, `VAR=value`, SETENV, and the dangerous variables.

use jitsudo_tests::*;

const SECURE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `SUDO_*` lines for `caller` running `command`, sorted as `sort` does.
fn sudo_vars(caller: &str, command: &str) -> String {
    let a = account(caller);
    format!(
        "SUDO_COMMAND={command}\nSUDO_GID={}\nSUDO_UID={}\nSUDO_USER={caller}\n",
        a.gid, a.uid
    )
}

/// Runs `script` (whose output is sorted env lines) as `user`, expecting
/// exactly `lines`.
fn env_is(user: &str, script: &str, lines: &str) {
    Case::new(user, script)
        .status(0)
        .stdout_is(lines)
        .stderr_empty()
        .assert_same();
}

#[test]
fn env_reset_as_root() {
    let want = format!(
        "HOME=/root\nLOGNAME=root\nMAIL=/var/mail/root\n{SECURE_PATH}\nSHELL=/bin/bash\n{}TERM=xterm\nUSER=root\n",
        sudo_vars(ADMIN, "/usr/bin/env")
    );
    Case::new(ADMIN, "FOO=bar LD_PRELOAD=/x $SUDO env | LC_ALL=C sort")
        .known("client-loader")
        .status(0)
        .stdout_is(&want)
        .stderr_empty()
        .assert_same();
}

#[test]
fn env_reset_as_another_user() {
    let want = format!(
        "HOME=/home/jt_target\nLOGNAME=jt_target\nMAIL=/var/mail/jt_target\n{SECURE_PATH}\nSHELL=/bin/bash\n{}TERM=xterm\nUSER=jt_target\n",
        sudo_vars(ADMIN, "/usr/bin/env")
    );
    env_is(ADMIN, "$SUDO -u jt_target env | LC_ALL=C sort", &want);
}

/// sudo sets TERM=unknown when the caller has none.
#[test]
fn missing_term_becomes_unknown() {
    env_is(ADMIN, "env -u TERM $SUDO printenv TERM", "unknown\n");
}

#[test]
fn env_keep_variables_are_kept() {
    env_is(
        ADMIN,
        "LANG=C.UTF-8 LANGUAGE=en LC_ALL=C LC_FOO=x DISPLAY=:0 COLORTERM=truecolor \
         XAUTHORITY=/tmp/xa FOO=no $SUDO env | grep -Ev '^(HOME|LOGNAME|MAIL|PATH|SHELL|SUDO_[A-Z]*|TERM|USER)=' | LC_ALL=C sort",
        "COLORTERM=truecolor\nDISPLAY=:0\nLANG=C.UTF-8\nLANGUAGE=en\nLC_ALL=C\nLC_FOO=x\nXAUTHORITY=/tmp/xa\n",
    );
}

/// Locale and terminal variables with `/` or `%` are dropped even when
/// env_keep lists them (sudo's env_check).
#[test]
fn env_keep_values_with_slash_or_percent_are_dropped() {
    env_is(
        ADMIN,
        "LANG=../x LC_ALL=x%n COLORTERM=a/b LANGUAGE=ok $SUDO env | grep -E '^(LANG|LC_ALL|COLORTERM|LANGUAGE)=' | LC_ALL=C sort",
        "LANGUAGE=ok\n",
    );
}

#[test]
fn sudo_command_has_resolved_path_and_arguments() {
    env_is(
        ADMIN,
        "$SUDO printenv SUDO_COMMAND 'a b'; true",
        "/usr/bin/printenv SUDO_COMMAND a b\n",
    );
}

#[test]
fn preserve_env_keeps_the_caller_environment() {
    let a = account(ADMIN);
    let want = format!(
        "FOO=bar\nHOME={}\nLOGNAME=root\n{SECURE_PATH}\nSHELL=/bin/bash\n{}TERM=xterm\nUSER=root\n",
        a.home,
        sudo_vars(ADMIN, "/usr/bin/env")
    );
    // PWD is exported by sh; drop it (it is the same for both anyway).
    env_is(
        ADMIN,
        "FOO=bar $SUDO -E env | grep -v '^PWD=' | LC_ALL=C sort",
        &want,
    );
}

#[test]
fn preserve_env_long_form() {
    env_is(ADMIN, "FOO=bar $SUDO --preserve-env printenv FOO", "bar\n");
}

/// `-E` never passes the loader's, shells' or libc's dangerous variables,
/// exported functions, or TERM/locale values with `/` or `%`.
#[test]
fn preserve_env_strips_dangerous_variables() {
    let script = "env LD_PRELOAD= LD_LIBRARY_PATH=/x LD_AUDIT= GCONV_PATH=/x LOCPATH=/x \
         BASH_ENV=/x ENV=/x IFS=x PS4=x SHELLOPTS=xtrace PERL5LIB=/x PYTHONHOME=/x \
         TZ=/etc/x LANG=a/b LC_ALL=x%n TERM=../x 'BASH_FUNC_f%%=() { echo pwned; }' \
         FUNCVAL='() { echo pwned; }' SAFE=ok \
         $SUDO -E env | grep -Ev '^(HOME|LOGNAME|PATH|PWD|SHELL|SUDO_[A-Z]*|USER)=' | LC_ALL=C sort";
    Case::new(ADMIN, script)
        .status(0)
        .stdout_has("SAFE=ok\n")
        .stdout_lacks("pwned")
        .stdout_lacks("=/x")
        .stdout_lacks("LD_")
        .stdout_is("SAFE=ok\nTERM=unknown\n")
        .stderr_empty()
        .assert_same();
}

#[test]
fn preserve_env_list_keeps_only_the_named_variables() {
    env_is(
        ADMIN,
        "FOO=1 BAR=2 BAZ=3 $SUDO --preserve-env=FOO,BAR env | grep -E '^(FOO|BAR|BAZ)=' | LC_ALL=C sort",
        "BAR=2\nFOO=1\n",
    );
}

/// Variables named in `--preserve-env=LIST` pass even if sudo's own
/// env_delete list has them (BASH_ENV here)...
#[test]
fn preserve_env_list_passes_named_variables() {
    env_is(
        ADMIN,
        "FOO=1 BASH_ENV=/x LD_BIND_NOW=1 $SUDO --preserve-env=BASH_ENV,FOO,LD_BIND_NOW env | grep -E '^(FOO|BASH_ENV|LD_BIND_NOW)=' | LC_ALL=C sort",
        "BASH_ENV=/x\nFOO=1\nLD_BIND_NOW=1\n",
    );
}

/// The variables glibc's loader removes from the environment of a setuid
/// program (glibc 2.36 unsecvars.h; sudo never even sees them). jitsudo
/// is not setuid, so the
/// daemon has to remove them itself. (LD_SHOW_AUXV is left out: it makes
/// the non-setuid client's own loader print, which is the caller's
/// business.)
const LOADER_UNSECURE: &[&str] = &[
    "GCONV_PATH",
    "GETCONF_DIR",
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
];

/// Variables the client's own (non-secure) loader would act on get an empty
/// value: still present, so still caught if they are passed on.
fn loader_safe_assignment(name: &str) -> String {
    match name {
        "LD_AUDIT" | "LD_DEBUG" | "LD_PRELOAD" | "LD_PROFILE" => format!("{name}="),
        _ => format!("{name}=/nonexistent"),
    }
}

/// ...but never the loader's unsecure variables, with -E or named.
#[test]
fn loader_unsecure_variables_never_arrive() {
    let assignments: Vec<String> = LOADER_UNSECURE
        .iter()
        .map(|v| loader_safe_assignment(v))
        .collect();
    let names = LOADER_UNSECURE.join(",");
    let pattern = LOADER_UNSECURE.join("|");
    for flag in ["-E", &format!("--preserve-env={names},FOO")] {
        env_is(
            ADMIN,
            &format!(
                "env {} FOO=1 $SUDO {flag} env | grep -E '^({pattern}|FOO)='",
                assignments.join(" ")
            ),
            "FOO=1\n",
        );
    }
}

/// glibc's secure mode keeps GLIBC_TUNABLES but empties it of every
/// tunable not marked safe; jitsudo drops it. Either way the caller's
/// tunables never reach a root command.
#[test]
fn glibc_tunables_never_arrive() {
    Case::new(
        ADMIN,
        "GLIBC_TUNABLES=glibc.malloc.check=3 $SUDO --preserve-env=GLIBC_TUNABLES env | grep '^GLIBC_TUNABLES='; true",
    )
    .known("glibc-tunables")
    .stdout_lacks("glibc.malloc")
    .status(0)
    .on(Impl::Sudo)
    .stdout_is("GLIBC_TUNABLES=\n")
    .assert_same();
}

#[test]
fn variable_assignment_before_the_command() {
    env_is(
        ADMIN,
        "$SUDO FOO=bar 'SP=a b' printenv FOO SP",
        "bar\na b\n",
    );
}

/// As in sudoers, a rule whose command is ALL implies SETENV, and
/// variables set explicitly on the command line are not filtered.
#[test]
fn variable_assignment_with_setenv_is_not_filtered() {
    env_is(
        ADMIN,
        "$SUDO LD_LIBRARY_PATH=/nonexistent printenv LD_LIBRARY_PATH",
        "/nonexistent\n",
    );
}

#[test]
fn setenv_on_a_specific_command_allows_preserve_env() {
    env_is(
        SETENV,
        "FOO=bar $SUDO -n -E env | grep '^FOO='",
        "FOO=bar\n",
    );
    env_is(SETENV, "$SUDO -n FOO=baz env | grep '^FOO='", "FOO=baz\n");
}

/// A refusal for lack of SETENV: exit 1 and sudo's message.
fn refused_setenv(script: &str, message: &str) {
    Case::new(LIMITED, script)
        .status(1)
        .stdout_is("")
        .stderr_is(&format!("jitsudo: {message}\n"))
        .assert_same();
}

#[test]
fn preserve_env_without_setenv_is_refused() {
    refused_setenv(
        "FOO=1 $SUDO -n -E printenv FOO",
        "sorry, you are not allowed to preserve the environment",
    );
}

#[test]
fn variable_assignment_without_setenv_is_refused() {
    refused_setenv(
        "$SUDO -n FOO=1 printenv FOO",
        "sorry, you are not allowed to set the following environment variables: FOO",
    );
}

#[test]
fn preserve_env_list_without_setenv_is_refused() {
    refused_setenv(
        "FOO=1 BAR=2 $SUDO -n --preserve-env=FOO,BAR printenv FOO",
        "sorry, you are not allowed to set the following environment variables: FOO, BAR",
    );
}

/// Dangerous names are removed before the SETENV check, so only the others
/// are named in the refusal.
#[test]
fn preserve_env_list_refusal_names_only_safe_variables() {
    refused_setenv(
        "FOO=1 LD_PRELOAD= $SUDO -n --preserve-env=LD_PRELOAD,FOO printenv FOO",
        "sorry, you are not allowed to set the following environment variables: FOO",
    );
}

#[test]
fn login_shell_environment() {
    Case::new(ADMIN, "$SUDO -i env | grep -v '^_=' | LC_ALL=C sort")
        .status(0)
        .stdout_has("HOME=/root\n")
        .stdout_has("PWD=/root\n")
        .stdout_has("SHELL=/bin/bash\n")
        .stdout_has("USER=root\n")
        .stderr_empty()
        .assert_same();
}

/// The value every probed variable gets: one `GLIBC_TUNABLES` would act on,
/// harmless for every other name.
const PROBE_VALUE: &str = "glibc.malloc.check=3";

/// The dynamic loader this test runs under, from `/proc/self/maps`.
fn loader_path() -> std::path::PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(std::path::PathBuf::from)
        .find(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("ld-"))
        })
        .expect("a dynamic loader is mapped")
}

/// Every identifier-like string in the loader binary: each environment
/// variable it looks at is among them.
fn loader_strings() -> std::collections::BTreeSet<String> {
    let bytes = std::fs::read(loader_path()).expect("read the loader");
    bytes
        .split(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
        .filter(|w| w.len() >= 3 && (w[0].is_ascii_uppercase() || w[0] == b'_'))
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

/// The names among `candidates` that the loader removes or rewrites when it
/// starts a setuid program: `env` copied, owned by nobody and setuid, run
/// by root (real uid 0, effective uid 65534: the loader's secure mode).
fn stripped_by_the_loader(candidates: &[String]) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = world().scratch_dir("setuid-env");
    let env = dir.join("env");
    jitsudo_tests::util::install_program(std::path::Path::new("/usr/bin/env"), &env, 0o755);
    std::os::unix::fs::chown(&env, Some(65534), None).expect("chown env");
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o4755)).expect("chmod env");
    let out = std::process::Command::new(&env)
        .env_clear()
        .envs(candidates.iter().map(|n| (n, PROBE_VALUE)))
        .stderr(std::process::Stdio::null())
        .output()
        .expect("run the setuid env");
    assert!(out.status.success(), "setuid env: {:?}", out.status);
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    candidates
        .iter()
        .filter(|n| !seen.lines().any(|l| l == format!("{n}={PROBE_VALUE}")))
        .cloned()
        .collect()
}

/// jitsudo's list of the loader's unsecure variables is exactly what this
/// system's glibc neutralises for a setuid program (so what sudo never
/// sees), not a copy of itself; the extra names it also drops are ones this
/// glibc leaves alone.
#[test]
fn loader_unsecure_names_are_what_glibc_strips() {
    use jitsudo_policy::env::{ALSO_UNSECURE_NAMES, LOADER_UNSECURE_NAMES};
    let mut candidates = loader_strings();
    candidates.extend(LOADER_UNSECURE_NAMES.iter().map(|n| n.to_string()));
    candidates.extend(ALSO_UNSECURE_NAMES.iter().map(|n| n.to_string()));
    let candidates: Vec<String> = candidates.into_iter().collect();
    let mut stripped = stripped_by_the_loader(&candidates);
    stripped.sort();
    let mut listed: Vec<String> = LOADER_UNSECURE_NAMES
        .iter()
        .map(|n| n.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        stripped, listed,
        "glibc's secure mode (left) and LOADER_UNSECURE_NAMES (right) differ"
    );
    for name in ALSO_UNSECURE_NAMES {
        assert!(
            !stripped.iter().any(|s| s == name),
            "{name} belongs in LOADER_UNSECURE_NAMES"
        );
    }
}
