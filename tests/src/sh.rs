//! Shell snippets for case scripts.
//!
//! Scripts synchronise with bounded polls, never with bare sleeps: these
//! functions are prepended with [`with_helpers`].

/// `wait_file PATH`: waits until PATH exists (2500 polls: at least 25 s,
/// more on a loaded machine, just under a case's 30 s timeout; else prints
/// a note on stderr and returns 1). `wait_grep TEXT PATH`: waits until PATH
/// contains TEXT. `wait_gone PATTERN`: waits until no process matches
/// PATTERN (pgrep -f). `on_new_terminal CMD`: runs the bash command line
/// CMD on a new pty in a new session (another terminal, as util-linux
/// `script` makes one), stdin `/dev/null`, prints what it showed without
/// carriage returns, and returns its status.
pub const HELPERS: &str = r#"
wait_file() { _n=0; until [ -e "$1" ]; do _n=$((_n+1)); [ $_n -gt 2500 ] && { echo "timeout waiting for $1" >&2; return 1; }; sleep 0.01; done; }
wait_grep() { _n=0; until grep -q -- "$1" "$2" 2>/dev/null; do _n=$((_n+1)); [ $_n -gt 2500 ] && { echo "timeout waiting for $1 in $2" >&2; return 1; }; sleep 0.01; done; }
on_new_terminal() { _out=$(script -qec "$1" /dev/null </dev/null); _rc=$?; [ -z "$_out" ] || printf '%s\n' "$_out" | tr -d '\r'; return $_rc; }
wait_gone() { _n=0; while pgrep -f -- "$1" >/dev/null; do _n=$((_n+1)); [ $_n -gt 2500 ] && { echo "still running: $1" >&2; return 1; }; sleep 0.01; done; }
"#;

/// `script` with [`HELPERS`] defined first.
pub fn with_helpers(script: &str) -> String {
    format!("{HELPERS}\n{script}")
}
