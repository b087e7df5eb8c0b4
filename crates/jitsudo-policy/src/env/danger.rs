//! Which variables are never carried from the caller into a command.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Names that change how the loader, libc, shells or interpreters behave.
const DANGEROUS_NAMES: &[&str] = &[
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "PATH_LOCALE",
    "GLIBC_TUNABLES",
    "IFS",
    "CDPATH",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    "HOSTALIASES",
    "TERMINFO",
    "TERMINFO_DIRS",
    "TERMPATH",
    "TERMCAP",
    "ENV",
    "BASH_ENV",
    "PS4",
    "GLOBIGNORE",
    "BASHOPTS",
    "SHELLOPTS",
    "JAVA_TOOL_OPTIONS",
    "PERLIO_DEBUG",
    "PERLLIB",
    "PERL5LIB",
    "PERL5OPT",
    "PERL5DB",
    "FPATH",
    "NULLCMD",
    "READNULLCMD",
    "ZDOTDIR",
    "TMPPREFIX",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONINSPECT",
    "PYTHONUSERBASE",
    "RUBYLIB",
    "RUBYOPT",
    "KRB5_CONFIG",
    "KRB5_KTNAME",
];

/// Name prefixes that are dangerous whatever follows: the dynamic loader's
/// `LD_*` (and IRIX's `_RLD*`), glibc's `MALLOC_*`, bash's exported functions.
const DANGEROUS_PREFIXES: &[&str] = &["LD_", "_RLD", "MALLOC_", "BASH_FUNC_"];

/// The variables the dynamic loader of Debian 12's glibc (2.36) neutralises
/// in a setuid program's environment (`unsecvars.h`, the `MALLOC_CHECK_`
/// tunable alias, and `GLIBC_TUNABLES`, which it empties of unsafe
/// tunables): sudo never sees them, so jitsudo, which is not setuid, drops
/// them itself. The suite checks this list against the real loader
/// (`tests/tests/env.rs`: `loader_unsecure_names_are_what_glibc_strips`).
///
/// Only these (and [`ALSO_UNSECURE_NAMES`]): the loader leaves the other
/// `LD_*` names (`LD_BIND_NOW`, `LD_WARN`, …) alone, so sudo passes them
/// when they are named in `--preserve-env=LIST`, and so does jitsudo.
pub const LOADER_UNSECURE_NAMES: &[&str] = &[
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

/// Names glibc 2.36 leaves alone but other glibc versions or builds strip
/// from a setuid program (x86-64's `LD_PREFER_MAP_32BIT_EXEC`, the old
/// `LD_USE_LOAD_BIAS`, the `MALLOC_ARENA_MAX` tunable alias): treated as
/// loader-unsecure too, which is stricter than sudo on Debian 12 (sudo
/// passes them when named in `--preserve-env=LIST`).
pub const ALSO_UNSECURE_NAMES: &[&str] = &[
    "LD_PREFER_MAP_32BIT_EXEC",
    "LD_USE_LOAD_BIAS",
    "MALLOC_ARENA_MAX",
];

/// Sudo's `env_check` names: kept only when the value holds no `/` or `%`.
const CHECKED_NAMES: &[&str] = &["TERM", "COLORTERM", "LANG", "LANGUAGE", "LINGUAS", "TZ"];

/// Sudo's `env_check` prefixes.
const CHECKED_PREFIXES: &[&str] = &["LC_"];

/// The directory a `TZ=:/path` value may point into.
const ZONEINFO: &str = ":/usr/share/zoneinfo/";

/// Whether a caller variable must never reach the command through
/// `env_keep` or `-E` (a name listed in `--preserve-env=LIST` passes anyway,
/// as in sudo, see [`super::Preserve::List`]): a dangerous name (the
/// loader's `LD_*`, `IFS`, `BASH_ENV`, `PERL5LIB`, `PYTHONPATH`, …), a value starting with `()` (a shell function), or an `env_check`
/// variable (`TERM`, `LANG`, `LC_*`, `TZ`, …) whose value contains `/` or `%`.
/// `TZ` may also be `:` followed by a path under `/usr/share/zoneinfo/`
/// without a `..` component.
pub fn is_dangerous(name: &OsStr, value: &OsStr) -> bool {
    let name = name.as_bytes();
    let value = value.as_bytes();
    value.starts_with(b"()") || is_dangerous_name(name) || fails_env_check(name, value)
}

/// Whether a caller variable is one glibc's loader strips from a setuid
/// program's environment, so that sudo never sees it (the names of
/// [`LOADER_UNSECURE_NAMES`] and [`ALSO_UNSECURE_NAMES`]): `GCONV_PATH`,
/// `GETCONF_DIR`, `GLIBC_TUNABLES`, `HOSTALIASES`, `LD_AUDIT`, `LD_DEBUG`,
/// `LD_DEBUG_OUTPUT`, `LD_DYNAMIC_WEAK`, `LD_HWCAP_MASK`, `LD_LIBRARY_PATH`,
/// `LD_ORIGIN_PATH`, `LD_PREFER_MAP_32BIT_EXEC`, `LD_PRELOAD`, `LD_PROFILE`,
/// `LD_SHOW_AUXV`, `LD_USE_LOAD_BIAS`, `LOCALDOMAIN`, `LOCPATH`,
/// `MALLOC_ARENA_MAX`, `MALLOC_CHECK_`, `MALLOC_TRACE`, `NIS_PATH`,
/// `NLSPATH`, `RESOLV_HOST_CONF`, `RES_OPTIONS`, `TMPDIR` and `TZDIR`.
///
/// Such a variable never reaches the command from the caller's
/// environment, whatever was asked for; only an explicit `VAR=value`
/// assignment can set it. Other `LD_*` names (`LD_BIND_NOW`, …) are not
/// loader-unsecure, only dangerous (see [`is_dangerous`]).
pub fn is_loader_unsecure(name: &OsStr) -> bool {
    let name = name.as_bytes();
    LOADER_UNSECURE_NAMES
        .iter()
        .chain(ALSO_UNSECURE_NAMES)
        .any(|n| n.as_bytes() == name)
}

/// Whether the name is in the dangerous list or has a dangerous prefix.
pub(super) fn is_dangerous_name(name: &[u8]) -> bool {
    DANGEROUS_NAMES.iter().any(|n| n.as_bytes() == name)
        || DANGEROUS_PREFIXES
            .iter()
            .any(|p| name.starts_with(p.as_bytes()))
}

/// Whether an `env_check` variable carries a value that could name a file or
/// a format string.
fn fails_env_check(name: &[u8], value: &[u8]) -> bool {
    let checked = CHECKED_NAMES.iter().any(|n| n.as_bytes() == name)
        || CHECKED_PREFIXES
            .iter()
            .any(|p| name.starts_with(p.as_bytes()));
    if !checked || (name == b"TZ" && is_zoneinfo_path(value)) {
        return false;
    }
    value.contains(&b'/') || value.contains(&b'%')
}

/// Whether a `TZ` value is `:/usr/share/zoneinfo/…` with no `..` component
/// and no `%`.
fn is_zoneinfo_path(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(ZONEINFO.as_bytes()) else {
        return false;
    };
    !rest.contains(&b'%') && !rest.split(|&b| b == b'/').any(|part| part == b"..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(name: &str, value: &str) -> bool {
        is_dangerous(OsStr::new(name), OsStr::new(value))
    }

    #[test]
    fn every_listed_name_is_dangerous() {
        for name in DANGEROUS_NAMES {
            assert!(bad(name, "x"), "{name}");
        }
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "_RLD_ROOT",
            "_RLDX",
        ] {
            assert!(bad(name, "x"), "{name}");
        }
        for name in ["MALLOC_CHECK_", "MALLOC_PERTURB_", "BASH_FUNC_foo%%"] {
            assert!(bad(name, "x"), "{name}");
        }
    }

    #[test]
    fn other_names_are_not_loader_unsecure() {
        for name in [
            "HOME",
            "BASH_ENV",
            "PYTHONPATH",
            "LDFLAGS",
            "XLD_PRELOAD",
            "ld_preload",
            "MALLOC_PERTURB_",
            "LD_BIND_NOW",
            "LD_WARN",
            "LD_PRELOADX",
            "TMPDIRS",
            "TZ",
            "",
        ] {
            assert!(!is_loader_unsecure(OsStr::new(name)), "{name}");
        }
    }

    #[test]
    fn ordinary_names_are_fine() {
        for name in [
            "HOME",
            "EDITOR",
            "LDFLAGS",
            "XLD_PRELOAD",
            "MALLOC",
            "PATHX",
            "ENVX",
        ] {
            assert!(!bad(name, "/some/path%s"), "{name}");
        }
    }

    #[test]
    fn shell_function_values_are_dangerous_under_any_name() {
        assert!(bad("EDITOR", "() { :; }; echo pwned"));
        assert!(bad("FOO", "()"));
        assert!(!bad("FOO", " ()"));
    }

    #[test]
    fn env_check_names_refuse_slash_and_percent() {
        for name in [
            "TERM",
            "COLORTERM",
            "LANG",
            "LANGUAGE",
            "LINGUAS",
            "LC_ALL",
            "LC_TIME",
            "TZ",
        ] {
            assert!(!bad(name, "en_US.UTF-8"), "{name} plain");
            assert!(bad(name, "../../etc/x"), "{name} slash");
            assert!(bad(name, "%n%n"), "{name} percent");
        }
        assert!(!bad("DISPLAY", "localhost:10.0/x%"));
    }

    #[test]
    fn tz_may_point_into_zoneinfo() {
        assert!(!bad("TZ", ":/usr/share/zoneinfo/Europe/Paris"));
        assert!(!bad("TZ", "UTC"));
        assert!(bad("TZ", ":/usr/share/zoneinfo/../../../etc/shadow"));
        assert!(bad("TZ", ":/usr/share/zoneinfo/a/../b"));
        assert!(bad("TZ", ":/etc/localtime"));
        assert!(bad("TZ", "/usr/share/zoneinfo/UTC"));
        assert!(bad("TZ", "Europe/Paris"));
        assert!(bad("TZ", ":/usr/share/zoneinfo/%s"));
    }
}
