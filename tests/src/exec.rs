//! Running a shell script as a test user, with `$SUDO` standing for the
//! implementation under test, on pipes or on a pty.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::case::replace_bytes;
use crate::fixtures::account;
use crate::pty::{self, PtySpec};
use crate::util::{poll_until, shell_quote};
use crate::world::{world, Impl};

/// `PATH` of the caller's environment (deliberately not secure_path).
pub const CALLER_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/games";
/// `TERM` of the caller's environment.
pub const CALLER_TERM: &str = "xterm";
/// How long a run may take unless the case says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// After the script exits, how long to wait for its output pipes to close.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit status of `sh -c script` (128 + n if it died of signal n).
    pub status: i32,
    /// Its stdout (on a pty: everything the terminal showed).
    pub stdout: Vec<u8>,
    /// Its stderr (always empty on a pty).
    pub stderr: Vec<u8>,
    /// Whether the run was killed for taking too long or left its output
    /// open; the case fails in that case.
    pub timed_out: bool,
}

impl Output {
    /// stdout as (lossy) text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as (lossy) text.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Everything about how a script is run, independent of the implementation.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Test user running the script.
    pub user: String,
    /// `sh -c` script; `$SUDO` is replaced by the program under test.
    pub script: String,
    /// Bytes for stdin (pipe runs); `None` means `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    /// Working directory (default: the world's scratch directory).
    pub cwd: Option<PathBuf>,
    /// Give each run a fresh, empty, world-writable directory as its cwd,
    /// named `$DIR` in the script; its path reads `$DIR` in the output.
    pub fresh_dir: bool,
    /// Extra environment variables of the caller.
    pub env: Vec<(OsString, OsString)>,
    /// Socket for jitsudo (default: the shared daemon's).
    pub socket: Option<OsString>,
    /// Run on a pty instead of pipes.
    pub pty: Option<PtySpec>,
    /// Upper bound for the whole run.
    pub timeout: Duration,
}

impl RunSpec {
    /// A script run by `user` on pipes with the default timeout.
    pub fn new(user: &str, script: &str) -> Self {
        RunSpec {
            user: user.into(),
            script: script.into(),
            stdin: None,
            cwd: None,
            fresh_dir: false,
            env: Vec::new(),
            socket: None,
            pty: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The script with `$SUDO` replaced by the quoted program path and
    /// `$DIR` by the quoted `dir`, if any.
    pub fn script_for(&self, imp: Impl, dir: Option<&Path>) -> String {
        let program = world().program(imp);
        let script = substitute_word(
            &self.script,
            "$SUDO",
            &shell_quote(&program.to_string_lossy()),
        );
        match dir {
            Some(d) => substitute_word(&script, "$DIR", &shell_quote(&d.to_string_lossy())),
            None => {
                assert!(
                    substitute_word(&script, "$DIR", "") == script,
                    "the script uses $DIR: the case needs in_fresh_dir()"
                );
                script
            }
        }
    }

    /// The `setpriv … sh -c script` command, with the caller's clean
    /// environment and cwd (`dir` if given), but no stdio set up yet.
    pub fn command(&self, imp: Impl, dir: Option<&Path>) -> Command {
        let acct = account(&self.user);
        let w = world();
        let mut cmd = Command::new("/usr/bin/setpriv");
        cmd.arg(format!("--reuid={}", acct.uid))
            .arg(format!("--regid={}", acct.gid))
            .arg("--init-groups")
            .arg("--")
            .arg("/bin/sh")
            .arg("-c")
            .arg(self.script_for(imp, dir));
        cmd.env_clear()
            .env("PATH", CALLER_PATH)
            .env("HOME", &acct.home)
            .env("USER", &acct.name)
            .env("LOGNAME", &acct.name)
            .env("SHELL", &acct.shell)
            .env("TERM", CALLER_TERM);
        if imp == Impl::Jitsudo {
            let socket = self.socket.clone().unwrap_or_else(|| w.default_socket());
            cmd.env("JITSUDO_SOCKET", socket);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let cwd = dir
            .map(Path::to_path_buf)
            .or_else(|| self.cwd.clone())
            .unwrap_or_else(|| w.scratch.clone());
        cmd.current_dir(cwd);
        cmd
    }

    /// Runs the script with `imp` and collects its output.
    pub fn run(&self, imp: Impl) -> Output {
        let dir = self.fresh_dir.then(|| world().scratch_dir(imp.name()));
        let dir = dir.as_deref();
        let mut out = match &self.pty {
            Some(spec) => pty::run(self.command(imp, dir), &self.user, spec, self.timeout),
            None => self.run_on_pipes(imp, dir),
        };
        if let Some(d) = dir {
            let path = d.as_os_str().as_encoded_bytes();
            out.stdout = replace_bytes(&out.stdout, path, b"$DIR");
            out.stderr = replace_bytes(&out.stderr, path, b"$DIR");
        }
        out
    }

    fn run_on_pipes(&self, imp: Impl, dir: Option<&Path>) -> Output {
        let mut cmd = self.command(imp, dir);
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        // A session of its own (so also its own process group): no
        // controlling terminal even when the test runner has one, so sudo
        // never sees a tty here.
        // SAFETY: setsid, sigaction and sigprocmask are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                reset_signals();
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        if let Some(input) = self.stdin.clone() {
            let mut stdin = child.stdin.take().expect("piped stdin");
            // The script may exit without reading everything: ignore EPIPE.
            thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
        let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
        let (status, mut timed_out) = wait_bounded(&mut child, self.timeout);
        let mut collect = |rx: mpsc::Receiver<Vec<u8>>| {
            rx.recv_timeout(DRAIN_GRACE).unwrap_or_else(|_| {
                timed_out = true;
                Vec::new()
            })
        };
        let stdout = collect(stdout);
        let stderr = collect(stderr);
        Output {
            status: shell_status(status),
            stdout,
            stderr,
            timed_out,
        }
    }
}

/// Replaces each `word` (`$SUDO`, `$DIR`) that is not the start of a
/// longer name (such as `$SUDO_USER`) with `value`.
pub fn substitute_word(script: &str, word: &str, value: &str) -> String {
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(at) = rest.find(word) {
        let after = &rest[at + word.len()..];
        let longer = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if longer { word } else { value });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Gives the calling process default dispositions for every signal and an
/// empty signal mask, so a caller script never inherits what the test
/// runner happened to ignore or block. Meant for `pre_exec`.
pub fn reset_signals() {
    use jitsudo_sys::signal::{set_disposition, Disposition};
    for sig in 1..=64 {
        // KILL and STOP cannot be changed: those just fail.
        let _ = set_disposition(sig, Disposition::Default);
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
}

/// Reads `r` to its end on a thread; the bytes arrive on the channel.
fn read_in_background(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Waits for `child` at most `timeout`; past that, kills its process group
/// and reports a timeout.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> (ExitStatus, bool) {
    let started = Instant::now();
    if let Some(status) = poll_until(timeout, || child.try_wait().expect("waitpid")) {
        return (status, false);
    }
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let status = child.wait().expect("waitpid after kill");
    eprintln!(
        "run killed after {:?} (timeout {timeout:?})",
        started.elapsed()
    );
    (status, true)
}

/// The status a shell would report for `status`.
pub fn shell_status(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .expect("exited or signalled")
}

#[cfg(test)]
mod tests {
    use super::substitute_word;

    #[test]
    fn only_the_bare_word_is_substituted() {
        assert_eq!(
            substitute_word("$SUDO id; echo $SUDO_USER \"$SUDO\"", "$SUDO", "P"),
            "P id; echo $SUDO_USER \"P\""
        );
        assert_eq!(
            substitute_word("cd $DIR/x $DIRS", "$DIR", "D"),
            "cd D/x $DIRS"
        );
    }
}
