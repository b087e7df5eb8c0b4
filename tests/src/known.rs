//! The one list of intended differences between sudo and jitsudo.
//!
//! A compliance case that cannot agree byte for byte names an entry here
//! (`Case::known`) instead of branching on the implementation. Each entry
//! says why, and how the comparison is adjusted. `docs/compat.md` carries the
//! same table; a unit test keeps the two in step.

/// How a known difference changes the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjust {
    /// Remove this exact line (after normalisation) from sudo's stderr.
    DropSudoStderrLine(&'static str),
    /// Remove the lines starting with this from jitsudo's stderr.
    DropJitsudoStderrPrefix(&'static str),
    /// Replace each usage block (a line starting `usage: ` and its indented
    /// continuation lines) with the single line `<usage>` on both sides.
    CollapseUsage,
    /// Do not compare stdout (the case's own checks still apply to each
    /// side).
    IgnoreStdout,
    /// The outcome differs on purpose: nothing is compared; the case states
    /// each side's expected behaviour with `Case::on`.
    Outcome,
    /// Output is compared as usual; the difference lies in what is logged,
    /// which the test checks per side.
    AuditTrail,
}

/// One intended difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDifference {
    /// Stable identifier used by cases and the docs.
    pub id: &'static str,
    /// What differs.
    pub what: &'static str,
    /// Why it is intended.
    pub reason: &'static str,
    /// How the comparison is adjusted.
    pub adjust: Adjust,
}

/// Every intended difference.
pub const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        id: "usage-text",
        what: "The usage lines printed for a usage error.",
        reason: "sudo's usage has a line for -e and lists -r, -t and -R, which jitsudo \
                 refuses, and wraps its lines differently. The error line before the usage, the \
                 exit status and stdout are still compared.",
        adjust: Adjust::CollapseUsage,
    },
    KnownDifference {
        id: "help-text",
        what: "The text of -h/--help.",
        reason: "It documents options; jitsudo has fewer. Exit status and stderr are compared, \
                 and each side must print a usage line on stdout.",
        adjust: Adjust::IgnoreStdout,
    },
    KnownDifference {
        id: "version-text",
        what: "The text of -V/--version.",
        reason: "sudo prints its own and its plugins' versions; jitsudo prints its own version. \
                 Exit status and stderr are compared.",
        adjust: Adjust::IgnoreStdout,
    },
    KnownDifference {
        id: "audit-plugin-line",
        what: "sudo adds 'sudo: error initializing audit plugin sudoers_audit' after \
               'unknown user' / 'unknown group'.",
        reason: "An artefact of sudo's plugin architecture (the audit plugin fails to start for \
                 the same reason); jitsudo has no plugins and reports the error once.",
        adjust: Adjust::DropSudoStderrLine(
            "jitsudo: error initializing audit plugin sudoers_audit",
        ),
    },
    KnownDifference {
        id: "client-loader",
        what: "LD_PRELOAD, LD_AUDIT and the like in the caller's environment act on the \
               client itself, and the loader's complaints about them are printed.",
        reason: "jitsudo is an ordinary, non-setuid program: the caller's loader variables \
                 apply to the caller's own process (no privilege is involved), while setuid \
                 sudo runs in glibc's secure mode, which ignores them. What the command gets \
                 is the same (the daemon strips them).",
        adjust: Adjust::DropJitsudoStderrPrefix("ERROR: ld.so: "),
    },
    KnownDifference {
        id: "exact-argv",
        what: "A rule allowing a command with exact arguments (`/usr/bin/echo exact args`).",
        reason: "sudoers compares the arguments joined with spaces, so the single argument \
                 'exact args' matches a rule written for the two arguments exact, args. jitsudo \
                 compares the argument vector element by element and refuses it.",
        adjust: Adjust::Outcome,
    },
    KnownDifference {
        id: "glibc-tunables",
        what: "GLIBC_TUNABLES in the caller's environment with -E or --preserve-env.",
        reason: "For setuid sudo, glibc's loader keeps the variable but strips every tunable \
                 not safe for setuid programs, so the command sees `GLIBC_TUNABLES=` (empty). \
                 jitsudo is not setuid; the daemon removes the variable altogether. Either way \
                 no caller tunable reaches the command.",
        adjust: Adjust::Outcome,
    },
    KnownDifference {
        id: "refusal-logging",
        what: "Logging of a refusal under -n for a user without a rule or a disallowed command.",
        reason: "sudo stops at 'a password is required' and logs nothing (it logs 'user NOT in \
                 sudoers' or 'command not allowed' only when it could have prompted). jitsudo \
                 logs every refusal (issue: refusals always logged). The client's output is \
                 the same; only the audit trail differs.",
        adjust: Adjust::AuditTrail,
    },
    KnownDifference {
        id: "auth-failure-logging",
        what: "Logging of wrong passwords followed by the right one.",
        reason: "sudo's own log records failed attempts only when it gives up ('3 incorrect \
                 password attempts'); when the right password follows, only pam_unix's \
                 'authentication failure' lines show them. jitsudo also logs an auth.fail \
                 event for each failed attempt (issue: each failure is logged). The client's \
                 output is the same; only the audit trail differs.",
        adjust: Adjust::AuditTrail,
    },
    KnownDifference {
        id: "unsupported-options",
        what: "-R (chroot), -r and -t (SELinux role and type).",
        reason: "jitsudo does not change the root directory or set SELinux contexts: it \
                 refuses these options with the reason, exit status 1. sudo \
                 refuses -R unless the policy allows it, and without SELinux runs the command \
                 with -r and -t ignored; running a command without the context asked for \
                 would not fail closed.",
        adjust: Adjust::Outcome,
    },
    KnownDifference {
        id: "script-name",
        what: "`$0` in a `#!` script run through jitsudo.",
        reason: "sudo executes the script by its path, which the caller may re-point between \
                 sudo's check and the exec. jitsudo executes the open file it decided on \
                 (execveat with AT_EMPTY_PATH), so the kernel gives the interpreter \
                 /dev/fd/N instead of the name typed (as sudo's own fdexec does). \
                 SUDO_COMMAND and the working directory are the same.",
        adjust: Adjust::IgnoreStdout,
    },
];

/// The entry with this id; panics on an unknown id (a typo in a case).
pub fn known_difference(id: &str) -> &'static KnownDifference {
    KNOWN_DIFFERENCES
        .iter()
        .find(|k| k.id == id)
        .unwrap_or_else(|| panic!("no KNOWN_DIFFERENCES entry with id {id:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::workspace_root;

    #[test]
    fn ids_are_unique() {
        for (i, k) in KNOWN_DIFFERENCES.iter().enumerate() {
            assert!(
                KNOWN_DIFFERENCES[..i].iter().all(|o| o.id != k.id),
                "duplicate id {}",
                k.id
            );
        }
    }

    /// docs/compat.md must have one table row per entry, starting with the
    /// id in backquotes, and no row for an id that no longer exists.
    #[test]
    fn compat_doc_lists_every_known_difference() {
        let path = workspace_root().join("docs/compat.md");
        let doc = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let rows: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .collect();
        for k in KNOWN_DIFFERENCES {
            assert!(
                rows.contains(&k.id),
                "docs/compat.md has no row for known difference `{}`",
                k.id
            );
        }
        for id in rows {
            assert!(
                KNOWN_DIFFERENCES.iter().any(|k| k.id == id),
                "docs/compat.md lists `{id}`, which is not in KNOWN_DIFFERENCES"
            );
        }
    }
}
