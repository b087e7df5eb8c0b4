//! Where the client reads passwords from: the terminal (`-B` rings its
//! bell), standard input (`-S`), or the caller's `SUDO_ASKPASS` helper
//! (`-A`). The helper runs in the client, so as the caller, with the
//! caller's privileges and environment: the daemon never runs it.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::prompt::Answer;

/// Longest answer read from the helper, as for the terminal.
const MAX_ANSWER: usize = 4096;

/// How passwords are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordInput {
    /// From the terminal, with the bell rung first when `bell` (`-B`).
    Terminal {
        /// `-B`.
        bell: bool,
    },
    /// `-S`: from standard input.
    Stdin,
    /// `-A`: from the `SUDO_ASKPASS` helper.
    Askpass,
}

impl PasswordInput {
    /// The prompt as shown: `-B` rings the terminal's bell first.
    pub fn prompt_text(self, text: &[u8]) -> Vec<u8> {
        let mut shown = Vec::with_capacity(text.len() + 1);
        if self == (PasswordInput::Terminal { bell: true }) {
            shown.push(0x07);
        }
        shown.extend_from_slice(text);
        shown
    }
}

/// The caller's `SUDO_ASKPASS` helper, if set (an empty value is none).
fn helper() -> Option<OsString> {
    std::env::var_os("SUDO_ASKPASS").filter(|p| !p.is_empty())
}

/// Whether a password prompt that finds no terminal goes to the helper
/// instead, as with `-A`: sudo's rule when `/dev/tty` cannot be opened and
/// neither `-S` nor `-A` was given is that a helper is set and `DISPLAY`
/// is set (even to nothing). Prompts that echo never switch.
pub fn replaces_missing_terminal() -> bool {
    helper().is_some() && std::env::var_os("DISPLAY").is_some()
}

/// Runs the `SUDO_ASKPASS` helper with the prompt as its argument and
/// reads the first line it prints. `Err` when no helper is set.
pub fn ask(prompt: &[u8]) -> Result<Answer, Error> {
    let helper = helper().ok_or(Error::NoAskpass)?;
    let child = Command::new(&helper)
        .arg(std::ffi::OsStr::from_bytes(prompt))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return Err(Error::Spawn(helper, e)),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(64));
    if let Some(stdout) = child.stdout.take() {
        // Bounded: a helper that prints more is cut, and its pipe closed.
        let _ = stdout.take(MAX_ANSWER as u64 + 1).read_to_end(&mut out);
    }
    let _ = child.wait();
    let end = out.iter().position(|b| *b == b'\n' || *b == b'\r');
    let mut line = Zeroizing::new(out[..end.unwrap_or(out.len())].to_vec());
    line.truncate(MAX_ANSWER);
    Ok(if line.is_empty() && end.is_none() {
        Answer::Eof
    } else {
        Answer::Line(line)
    })
}
