//! Small helpers shared by the harness modules.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Interval between two checks of a bounded poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Polls `cond` every [`POLL_INTERVAL`] until it returns `Some`, or gives up
/// after `timeout` and returns `None`. Used instead of fixed sleeps.
pub fn poll_until<T>(timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// Panics with the command line and its output unless it succeeded.
pub fn check_status(cmd: &Command, out: &Output) {
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a set-up command, panicking with its output on failure.
pub fn run_checked(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    check_status(cmd, &out);
    out
}

/// Runs a set-up command with `input` on its stdin; panics on failure.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input)
        .expect("write set-up input");
    let out = child.wait_with_output().expect("wait for set-up command");
    check_status(&cmd, &out);
    out
}

/// Writes `contents` to `path` atomically (temporary file in the same
/// directory, then rename) with the given mode. The temporary name starts
/// with a dot, so sudo's `@includedir` never reads a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) {
    let dir = path.parent().expect("path has a parent");
    let name = path.file_name().expect("path has a file name");
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    fs::write(&tmp, contents).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    set_mode(&tmp, mode);
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

/// Puts a copy of program `from` at `to` with `mode`, ready to run at once.
///
/// The copy is written by a child process (`install`), never by this one:
/// a file this multi-threaded process has open for writing is also open in
/// every child another test thread forks, until that child execs, and
/// running the file in that window fails with "Text file busy" (ETXTBSY;
/// O_CLOEXEC does not close it before the exec).
pub fn install_program(from: &Path, to: &Path, mode: u32) {
    run_checked(
        Command::new("install")
            .arg("-m")
            .arg(format!("{mode:o}"))
            .arg("-T")
            .args([from, to]),
    );
}

/// Writes the program (a script) `contents` to `path` with `mode`, ready to
/// run at once: the text goes to a temporary file that is never run, and
/// [`install_program`] copies it into place.
pub fn write_program(path: &Path, contents: &[u8], mode: u32) {
    let source = path.with_file_name(format!(
        ".{}.{}.src",
        path.file_name()
            .expect("path has a file name")
            .to_string_lossy(),
        std::process::id()
    ));
    write_atomic(&source, contents, 0o600);
    install_program(&source, path, mode);
    fs::remove_file(&source).unwrap_or_else(|e| panic!("remove {}: {e}", source.display()));
}

/// Makes program `from` runnable at `to`: a hard link, which costs no space
/// and has no writer, or on another file system an [`install_program`] copy
/// (mode 0755).
pub fn link_program(from: &Path, to: &Path) {
    if fs::hard_link(from, to).is_err() {
        install_program(from, to, 0o755);
    }
}

/// Sets the mode of `path` exactly.
pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Creates `path` (and parents) and sets its mode exactly.
pub fn make_dir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    set_mode(path, mode);
}

/// A string no other run has used (for finding a run's log records).
pub fn marker(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("jt-{tag}-{}-{nanos}", std::process::id())
}

/// Position of the first `needle` in `hay` (an empty needle is at 0).
pub fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Quotes `s` for a POSIX shell (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Renders bytes for a failure message: text as is, other bytes escaped.
pub fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\t' => out.push(c),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_until_returns_first_value_and_gives_up() {
        let mut n = 0;
        assert_eq!(
            poll_until(Duration::from_secs(1), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        let started = Instant::now();
        assert_eq!(poll_until(Duration::from_millis(30), || None::<()>), None);
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn find_bytes_locates_needles() {
        assert_eq!(find_bytes(b"abcabc", b"ca"), Some(2));
        assert_eq!(find_bytes(b"abc", b"x"), None);
        assert_eq!(find_bytes(b"abc", b""), Some(0));
        assert_eq!(find_bytes(b"", b"x"), None);
    }

    #[test]
    fn show_bytes_escapes_only_what_is_unprintable() {
        assert_eq!(show_bytes(b"a'b\n\x01\xff"), "a'b\n\\u{1}\\xff");
    }

    #[test]
    fn shell_quote_survives_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
    }
}
