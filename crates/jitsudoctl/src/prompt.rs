//! Answering the daemon's prompts (an approver's password) on the
//! controlling terminal, echo off unless the prompt says otherwise; the
//! terminal's settings come back on every path and answers are zeroed.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};

use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
use zeroize::Zeroizing;

/// Longest answer accepted.
const MAX_ANSWER: u64 = 4096;

/// Asks `text` on `/dev/tty`; `None` when there is no terminal or input
/// ended.
pub fn ask(text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
    let mut tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let saved = tcgetattr(&tty).ok()?;
    // Echo goes off before the prompt shows, and without flushing: an
    // answer typed as soon as the prompt appears is neither shown nor lost.
    if !echo {
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&tty, SetArg::TCSADRAIN, &quiet).ok()?;
    }
    let mut line = Zeroizing::new(Vec::new());
    let read = tty
        .write_all(text)
        .and_then(|()| BufReader::new((&tty).take(MAX_ANSWER)).read_until(b'\n', &mut line));
    let _ = tcsetattr(&tty, SetArg::TCSADRAIN, &saved);
    if !echo {
        let _ = tty.write_all(b"\n");
    }
    match read {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            Some(line)
        }
    }
}
