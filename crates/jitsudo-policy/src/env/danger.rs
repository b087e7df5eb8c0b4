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

/// Sudo's `env_check` names: kept only when the value holds no `/` or `%`.
const CHECKED_NAMES: &[&str] = &["TERM", "COLORTERM", "LANG", "LANGUAGE", "LINGUAS", "TZ"];

/// Sudo's `env_check` prefixes.
const CHECKED_PREFIXES: &[&str] = &["LC_"];

/// The directory a `TZ=:/path` value may point into.
const ZONEINFO: &str = ":/usr/share/zoneinfo/";

/// Whether a caller variable must never reach the command through
/// `env_keep`, `-E` or `--preserve-env`: a dangerous name (see the crate
/// docs), a value starting with `()` (a shell function), or an `env_check`
/// variable (`TERM`, `LANG`, `LC_*`, `TZ`, …) whose value contains `/` or `%`.
/// `TZ` may also be `:` followed by a path under `/usr/share/zoneinfo/`
/// without a `..` component.
pub fn is_dangerous(name: &OsStr, value: &OsStr) -> bool {
    let name = name.as_bytes();
    let value = value.as_bytes();
    value.starts_with(b"()") || is_dangerous_name(name) || fails_env_check(name, value)
}

/// Whether the name is in the dangerous list or has a dangerous prefix.
fn is_dangerous_name(name: &[u8]) -> bool {
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
