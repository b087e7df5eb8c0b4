//! Compliance cases: one script, run against sudo and jitsudo, normalised,
//! checked against the case's own expectations, and compared.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::exec::{Output, RunSpec};
use crate::known::{known_difference, Adjust, KnownDifference};
use crate::pty::PtySpec;
use crate::skip;
use crate::util::{find_bytes, show_bytes};
use crate::world::{world, Impl};

/// A check on one implementation's normalised output.
type CheckFn = Box<dyn Fn(&Output) -> Result<(), String> + Send + Sync>;

/// One expectation.
struct Check {
    what: String,
    test: CheckFn,
    /// Applies to this implementation only (`None`: both).
    only: Option<Impl>,
}

/// A script plus what both implementations must do with it.
pub struct Case {
    name: String,
    spec: RunSpec,
    known: Option<&'static KnownDifference>,
    checks: Vec<Check>,
    scope: Option<Impl>,
}

/// Replaces every occurrence of `from` in `hay` with `to`.
pub fn replace_bytes(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return hay.to_vec();
    }
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Applies `f` to each line (without its `\n`); `None` drops the line.
fn map_lines(text: &[u8], mut f: impl FnMut(&[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut lines = text.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && line.is_empty() {
            break;
        }
        if let Some(new) = f(line) {
            out.extend_from_slice(&new);
            if !last {
                out.push(b'\n');
            }
        }
    }
    out
}

/// sudo's password prompt (Debian's default `[sudo] password for %p: `).
const SUDO_PROMPT: &str = "[sudo] password for ";

/// sudo's self-references at the start of a line, rewritten to jitsudo's
/// (sudo's side only). The password prompt is kept as it is (jitsudo's
/// default `passprompt` is sudo's), but what follows it on the line is
/// treated as a line start.
const SUDO_PREFIXES: &[(&str, &str)] = &[
    ("sudo: ", "jitsudo: "),
    ("usage: sudo ", "usage: jitsudo "),
    (SUDO_PROMPT, SUDO_PROMPT),
    ("sudo - execute a command", "jitsudo - execute a command"),
];

/// Phrases inside sudo's messages that name sudo or its configuration file,
/// rewritten (sudo's side only) to how jitsudo names itself and its policy.
const SUDO_PHRASES: &[(&str, &str)] = &[
    ("the sudoers file", "the jitsudo policy"),
    (" may not run sudo on ", " may not run jitsudo on "),
];

/// Rewrites sudo's names in one line of its output to jitsudo's. A password
/// prompt not followed by a newline (`-S` reads the password from stdin, so
/// nothing echoes one) shares its line with what comes next, so after a
/// prompt (up to its `: `) the rest of the line is treated as a line start.
fn sudo_line_as_jitsudo(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some((from, to)) = SUDO_PREFIXES
        .iter()
        .find(|(from, _)| rest.starts_with(from.as_bytes()))
    {
        out.extend_from_slice(to.as_bytes());
        rest = &rest[from.len()..];
        let prompt_end = (*from == SUDO_PROMPT)
            .then(|| find_bytes(rest, b": "))
            .flatten();
        let Some(at) = prompt_end else { break };
        out.extend_from_slice(&rest[..at + 2]);
        rest = &rest[at + 2..];
    }
    out.extend_from_slice(rest);
    for (from, to) in SUDO_PHRASES {
        out = replace_bytes(&out, from.as_bytes(), to.as_bytes());
    }
    out
}

/// Normalises one stream of `imp`'s output (see docs/compat.md,
/// "Normalisation"): the program path becomes `$SUDO`, pty line ends
/// become `\n`, sudo's name in its own messages becomes jitsudo's, and
/// `JITSUDO_SOCKET=` lines (env listings under -E) are dropped.
pub fn normalise_stream(imp: Impl, bytes: &[u8], pty: bool) -> Vec<u8> {
    let program = world().program(imp);
    let mut text = replace_bytes(bytes, program.as_os_str().as_encoded_bytes(), b"$SUDO");
    if pty {
        text = replace_bytes(&text, b"\r\n", b"\n");
    }
    map_lines(&text, |line| {
        if line.starts_with(b"JITSUDO_SOCKET=") {
            None
        } else if imp == Impl::Sudo {
            Some(sudo_line_as_jitsudo(line))
        } else {
            Some(line.to_vec())
        }
    })
}

/// Replaces usage blocks with `<usage>` (see [`Adjust::CollapseUsage`]).
fn collapse_usage(text: &[u8]) -> Vec<u8> {
    let mut in_usage = false;
    map_lines(text, |line| {
        if line.starts_with(b"usage: ") {
            let first = !in_usage;
            in_usage = true;
            return first.then(|| b"<usage>".to_vec());
        }
        if in_usage && line.first().is_some_and(|b| b.is_ascii_whitespace()) {
            return None;
        }
        in_usage = false;
        Some(line.to_vec())
    })
}

/// Applies a known difference to one side's normalised output.
fn adjust(imp: Impl, known: &KnownDifference, out: &mut Output) {
    match known.adjust {
        Adjust::DropSudoStderrLine(line) if imp == Impl::Sudo => {
            out.stderr = map_lines(&out.stderr, |l| (l != line.as_bytes()).then(|| l.to_vec()));
        }
        Adjust::DropJitsudoStderrPrefix(prefix) if imp == Impl::Jitsudo => {
            out.stderr = map_lines(&out.stderr, |l| {
                (!l.starts_with(prefix.as_bytes())).then(|| l.to_vec())
            });
        }
        Adjust::DropSudoStderrLine(_)
        | Adjust::DropJitsudoStderrPrefix(_)
        | Adjust::IgnoreStdout
        | Adjust::Outcome
        | Adjust::AuditTrail => {}
        Adjust::CollapseUsage => {
            out.stdout = collapse_usage(&out.stdout);
            out.stderr = collapse_usage(&out.stderr);
        }
    }
}

/// The current test's name (the test harness names each thread after it).
fn current_test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed case")
        .to_string()
}

impl Case {
    /// A case running `script` as `user` (on pipes, stdin `/dev/null`).
    pub fn new(user: &str, script: impl AsRef<str>) -> Self {
        Case {
            name: current_test_name(),
            spec: RunSpec::new(user, script.as_ref()),
            known: None,
            checks: Vec::new(),
            scope: None,
        }
    }

    /// Expectations added after this apply to `imp` only (for a known
    /// difference of kind [`Adjust::Outcome`]).
    pub fn on(mut self, imp: Impl) -> Self {
        self.scope = Some(imp);
        self
    }

    /// The run specification (for cases that need to look at it).
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// Feeds these bytes on stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.spec.stdin = Some(bytes.into());
        self
    }

    /// Runs in this directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.cwd = Some(dir.into());
        self
    }

    /// Runs each implementation in a fresh empty directory of its own
    /// (world-writable, sticky), named `$DIR` in the script and shown as
    /// `$DIR` in the output. Use it whenever the script creates files.
    pub fn in_fresh_dir(mut self) -> Self {
        self.spec.fresh_dir = true;
        self
    }

    /// Adds a variable to the caller's environment.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.spec.env.push((key.into(), value.into()));
        self
    }

    /// Points jitsudo at another socket.
    pub fn socket(mut self, path: impl Into<OsString>) -> Self {
        self.spec.socket = Some(path.into());
        self
    }

    /// Runs on a pty, playing `spec`.
    pub fn pty(mut self, spec: PtySpec) -> Self {
        self.spec.pty = Some(spec);
        self
    }

    /// Overrides the run's time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.spec.timeout = timeout;
        self
    }

    /// Declares the intended difference `id` (from `KNOWN_DIFFERENCES`).
    pub fn known(mut self, id: &str) -> Self {
        self.known = Some(known_difference(id));
        self
    }

    /// Adds a custom expectation.
    pub fn expect(
        mut self,
        what: impl Into<String>,
        test: impl Fn(&Output) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Check {
            what: what.into(),
            test: Box::new(test),
            only: self.scope,
        });
        self
    }

    /// Expects this exit status.
    pub fn status(self, code: i32) -> Self {
        self.expect(format!("exit status {code}"), move |o| {
            (o.status == code)
                .then_some(())
                .ok_or_else(|| format!("status was {}", o.status))
        })
    }

    /// Expects stdout to be exactly `text`.
    pub fn stdout_is(self, text: impl AsRef<[u8]>) -> Self {
        let want = text.as_ref().to_vec();
        self.expect(format!("stdout is {:?}", show_bytes(&want)), move |o| {
            (o.stdout == want)
                .then_some(())
                .ok_or_else(|| "differs".into())
        })
    }

    /// Expects stdout to contain `text`.
    pub fn stdout_has(self, text: &str) -> Self {
        self.expect_stream(true, text, true)
    }

    /// Expects stdout not to contain `text`.
    pub fn stdout_lacks(self, text: &str) -> Self {
        self.expect_stream(true, text, false)
    }

    /// Expects stderr to be exactly `text`.
    pub fn stderr_is(self, text: &str) -> Self {
        let want = text.as_bytes().to_vec();
        self.expect(format!("stderr is {text:?}"), move |o| {
            (o.stderr == want)
                .then_some(())
                .ok_or_else(|| "differs".into())
        })
    }

    /// Expects stderr to contain `text`.
    pub fn stderr_has(self, text: &str) -> Self {
        self.expect_stream(false, text, true)
    }

    /// Expects stderr to be empty.
    pub fn stderr_empty(self) -> Self {
        self.stderr_is("")
    }

    fn expect_stream(self, stdout: bool, text: &str, present: bool) -> Self {
        let needle = text.as_bytes().to_vec();
        let stream = if stdout { "stdout" } else { "stderr" };
        let verb = if present { "contains" } else { "lacks" };
        self.expect(format!("{stream} {verb} {text:?}"), move |o| {
            let hay = if stdout { &o.stdout } else { &o.stderr };
            let found = hay
                .windows(needle.len().max(1))
                .any(|w| w == needle.as_slice());
            (found == present).then_some(()).ok_or_else(|| "no".into())
        })
    }

    /// Runs with `imp`, normalised and adjusted for the known difference.
    pub fn output(&self, imp: Impl) -> Output {
        let raw = self.spec.run(imp);
        let pty = self.spec.pty.is_some();
        let mut out = Output {
            stdout: normalise_stream(imp, &raw.stdout, pty),
            stderr: normalise_stream(imp, &raw.stderr, pty),
            ..raw
        };
        if let Some(k) = self.known {
            adjust(imp, k, &mut out);
        }
        out
    }

    /// Failures of the case's own expectations on `imp`'s `out`.
    fn failures(&self, imp: Impl, out: &Output) -> Vec<String> {
        let mut failed = Vec::new();
        if out.timed_out {
            failed.push("timed out (or left its output open)".to_string());
        }
        for c in self
            .checks
            .iter()
            .filter(|c| c.only.is_none_or(|i| i == imp))
        {
            if let Err(why) = (c.test)(out) {
                failed.push(format!("expected {}: {why}", c.what));
            }
        }
        failed
    }

    /// Runs the case with every enabled implementation, checks each against
    /// the expectations and, when both ran, compares them. Panics with a
    /// side-by-side report on any failure. Returns the outputs. When
    /// `JITSUDO_TESTS_ONLY` leaves one implementation out, the test is
    /// recorded as half-skipped.
    pub fn assert_same(self) -> Vec<(Impl, Output)> {
        let outputs: Vec<(Impl, Output)> = Impl::ALL
            .into_iter()
            .filter(|i| i.enabled())
            .map(|i| (i, self.output(i)))
            .collect();
        if let [(ran, _)] = outputs.as_slice() {
            skip::record(
                skip::Skipped::Half,
                &format!(
                    "only the {} half ran (JITSUDO_TESTS_ONLY); nothing was compared",
                    ran.name()
                ),
            );
        }
        let mut problems = Vec::new();
        for (imp, out) in &outputs {
            for f in self.failures(*imp, out) {
                problems.push(format!("{}: {f}", imp.name()));
            }
        }
        let compare = self.known.is_none_or(|k| k.adjust != Adjust::Outcome);
        if let ([(_, s), (_, j)], true) = (outputs.as_slice(), compare) {
            if s.status != j.status {
                problems.push(format!(
                    "status differs: sudo {} jitsudo {}",
                    s.status, j.status
                ));
            }
            let ignore_stdout = self.known.is_some_and(|k| k.adjust == Adjust::IgnoreStdout);
            if !ignore_stdout && s.stdout != j.stdout {
                problems.push("stdout differs".into());
            }
            if s.stderr != j.stderr {
                problems.push("stderr differs".into());
            }
        }
        if !problems.is_empty() {
            panic!("{}", self.report(&outputs, &problems));
        }
        outputs
    }

    /// Runs only `imp` (if enabled), checks the expectations and returns the
    /// output; `None` when `JITSUDO_TESTS_ONLY` excludes it (the test is
    /// then recorded as skipped).
    pub fn assert_one(self, imp: Impl) -> Option<Output> {
        if !skip::runs(imp) {
            return None;
        }
        let out = self.output(imp);
        let problems: Vec<String> = self
            .failures(imp, &out)
            .into_iter()
            .map(|f| format!("{}: {f}", imp.name()))
            .collect();
        let outputs = [(imp, out)];
        if !problems.is_empty() {
            panic!("{}", self.report(&outputs, &problems));
        }
        let [(_, out)] = outputs;
        Some(out)
    }

    /// jitsudo-only case: [`Case::assert_one`] with jitsudo.
    pub fn assert_jitsudo(self) -> Option<Output> {
        self.assert_one(Impl::Jitsudo)
    }

    fn report(&self, outputs: &[(Impl, Output)], problems: &[String]) -> String {
        let mut r = String::new();
        let _ = writeln!(r, "case {} failed (user {}):", self.name, self.spec.user);
        for p in problems {
            let _ = writeln!(r, "  - {p}");
        }
        if let Some(k) = self.known {
            let _ = writeln!(r, "known difference: {} ({:?})", k.id, k.adjust);
        }
        let _ = writeln!(r, "script:\n{}", indent(&self.spec.script));
        match outputs {
            [(_, s), (_, j)] => {
                let _ = writeln!(r, "status: sudo {} | jitsudo {}", s.status, j.status);
                let _ = writeln!(r, "stdout:\n{}", side_by_side(&s.stdout, &j.stdout));
                let _ = writeln!(r, "stderr:\n{}", side_by_side(&s.stderr, &j.stderr));
            }
            _ => {
                for (imp, o) in outputs {
                    let _ = writeln!(r, "{} status: {}", imp.name(), o.status);
                    let _ = writeln!(
                        r,
                        "{} stdout:\n{}",
                        imp.name(),
                        indent(&show_bytes(&o.stdout))
                    );
                    let _ = writeln!(
                        r,
                        "{} stderr:\n{}",
                        imp.name(),
                        indent(&show_bytes(&o.stderr))
                    );
                }
            }
        }
        if let Some(d) = world().started_daemon() {
            let _ = writeln!(r, "shared daemon log: {}", d.log.display());
        }
        r
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Two byte streams as two columns, `|` marking differing lines.
pub fn side_by_side(left: &[u8], right: &[u8]) -> String {
    const WIDTH: usize = 60;
    let split = |b: &[u8]| -> Vec<String> { show_bytes(b).lines().map(String::from).collect() };
    let (l, r) = (split(left), split(right));
    let mut out = format!("    {:<WIDTH$}   {}\n", "sudo", "jitsudo");
    for i in 0..l.len().max(r.len()) {
        let a = l.get(i).map_or("", String::as_str);
        let b = r.get(i).map_or("", String::as_str);
        let mark = if a == b { ' ' } else { '|' };
        let a: String = a.chars().take(WIDTH).collect();
        let _ = writeln!(out, "    {a:<WIDTH$} {mark} {b}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_bytes_replaces_all() {
        assert_eq!(replace_bytes(b"a-b-c", b"-", b"+/"), b"a+/b+/c");
        assert_eq!(replace_bytes(b"abc", b"", b"x"), b"abc");
    }

    #[test]
    fn map_lines_keeps_final_newline_state() {
        let upper = |l: &[u8]| Some(l.to_ascii_uppercase());
        assert_eq!(map_lines(b"a\nb\n", upper), b"A\nB\n");
        assert_eq!(map_lines(b"a\nb", upper), b"A\nB");
        assert_eq!(
            map_lines(b"a\nx\nb\n", |l| (l != b"x").then(|| l.to_vec())),
            b"a\nb\n"
        );
    }

    #[test]
    fn sudo_names_become_jitsudo_names() {
        let cases: &[(&str, &str)] = &[
            (
                "sudo: a password is required",
                "jitsudo: a password is required",
            ),
            ("[sudo] password for bob: ", "[sudo] password for bob: "),
            (
                "[sudo] password for bob: Sorry, try again.",
                "[sudo] password for bob: Sorry, try again.",
            ),
            (
                "[sudo] password for bob: sudo: 3 incorrect password attempts",
                "[sudo] password for bob: jitsudo: 3 incorrect password attempts",
            ),
            (
                "[sudo] password for bob: bob is not in the sudoers file.",
                "[sudo] password for bob: bob is not in the jitsudo policy.",
            ),
            (
                "Sorry, user bob may not run sudo on host.",
                "Sorry, user bob may not run jitsudo on host.",
            ),
            ("echo sudo: mid-line", "echo sudo: mid-line"),
            ("[sudo] password for", "[sudo] password for"),
        ];
        for (sudo, jitsudo) in cases {
            assert_eq!(
                show_bytes(&sudo_line_as_jitsudo(sudo.as_bytes())),
                *jitsudo,
                "from {sudo:?}"
            );
        }
    }

    #[test]
    fn usage_blocks_collapse() {
        let text = b"jitsudo: invalid option -- 'Z'\nusage: jitsudo -h\nusage: jitsudo -v [-A]\n            [x]\ntail\n";
        assert_eq!(
            collapse_usage(text),
            b"jitsudo: invalid option -- 'Z'\n<usage>\ntail\n".to_vec()
        );
    }

    #[test]
    fn side_by_side_marks_differences() {
        let s = side_by_side(b"same\nleft\n", b"same\nright\n");
        assert!(s.contains("same"));
        assert!(s
            .lines()
            .any(|l| l.contains("left") && l.contains('|') && l.contains("right")));
    }
}
