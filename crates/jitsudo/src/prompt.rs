//! Asking the user for a password: on the terminal with echo off, or from
//! standard input with `-S`. The terminal's settings come back on every
//! path, and answers live in memory that is zeroed when dropped.

use std::os::fd::{AsFd, BorrowedFd};

use jitsudo_sys::fd::Std;
use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signalfd::SignalFd;
use nix::sys::stat::Mode;
use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
use nix::unistd::{isatty, read, write};
use zeroize::Zeroizing;

/// Longest answer accepted; longer input is cut here, as sudo does.
const MAX_ANSWER: usize = 4096;

/// What came of a prompt.
pub enum Answer {
    /// The user's line (without the newline).
    Line(Zeroizing<Vec<u8>>),
    /// End of input before anything was typed.
    Eof,
    /// There is no terminal to ask on (and no `-S`).
    NoTerminal,
    /// The user pressed ^C (or another terminating key) at the prompt.
    Interrupted,
    /// The daemon spoke (or hung up) while the prompt waited: it stopped
    /// waiting for the answer (`passwd_timeout`), and says why.
    Withdrawn,
}

/// What ends a prompt early besides its input: a signal, or the daemon
/// speaking on its connection.
pub struct Interruptions<'a> {
    /// The client's signals.
    pub signals: &'a SignalFd,
    /// The connection to the daemon.
    pub daemon: BorrowedFd<'a>,
}

/// Shows `text` and reads one line.
pub fn ask(text: &[u8], echo: bool, from_stdin: bool, signals: &Interruptions<'_>) -> Answer {
    if from_stdin {
        return ask_on_stdin(text, echo, signals);
    }
    let Ok(tty) = open(
        "/dev/tty",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return Answer::NoTerminal;
    };
    let prompt_and_read = || {
        let _ = write_all(tty.as_fd(), text);
        read_line(tty.as_fd(), signals)
    };
    if echo {
        return prompt_and_read();
    }
    // Echo goes off before the prompt shows, so nothing typed after it
    // appears on the screen or is flushed away.
    let answer = without_echo(tty.as_fd(), prompt_and_read);
    let _ = write_all(tty.as_fd(), b"\n");
    answer
}

/// `-S`: the prompt goes to stderr and the answer comes from stdin. When
/// stdin is a terminal, echo is off while the answer is typed and the
/// newline the user typed is shown afterwards, as sudo does.
fn ask_on_stdin(text: &[u8], echo: bool, signals: &Interruptions<'_>) -> Answer {
    let (input, output) = (Std::In.borrow(), Std::Err.borrow());
    let prompt_and_read = || {
        let _ = write_all(output, text);
        read_line(input, signals)
    };
    let quiet = !echo && isatty(input).unwrap_or(false);
    let answer = if quiet {
        without_echo(input, prompt_and_read)
    } else {
        prompt_and_read()
    };
    if quiet
        || matches!(
            answer,
            Answer::Eof | Answer::Withdrawn | Answer::Interrupted
        )
    {
        let _ = write_all(output, b"\n");
    }
    answer
}

/// Writes a line to the caller's terminal; `false` if there is none.
pub fn tell_terminal(text: &[u8]) -> bool {
    let Ok(tty) = open(
        "/dev/tty",
        OFlag::O_WRONLY | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    let mut line = text.to_vec();
    line.push(b'\n');
    write_all(tty.as_fd(), &line).is_ok()
}

/// Runs `f` with the terminal's echo off, restoring it afterwards. As
/// sudo, the changes wait for pending output but discard no input: an
/// answer typed ahead of the prompt (a script or `-S` feeding a terminal)
/// is kept, and what follows the answer on stdin stays for the command.
fn without_echo(tty: BorrowedFd<'_>, f: impl FnOnce() -> Answer) -> Answer {
    let Ok(saved) = tcgetattr(tty) else {
        return f();
    };
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ECHONL);
    let _ = tcsetattr(tty, SetArg::TCSADRAIN, &quiet);
    let answer = f();
    let _ = tcsetattr(tty, SetArg::TCSADRAIN, &saved);
    answer
}

/// Reads up to a newline one byte at a time (nothing beyond the line is
/// consumed, so `-S` leaves the rest of stdin to the command), giving up
/// when a signal arrives or the daemon speaks.
fn read_line(fd: BorrowedFd<'_>, stop: &Interruptions<'_>) -> Answer {
    let mut line = Zeroizing::new(Vec::with_capacity(64));
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(stop.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(stop.daemon, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return Answer::Interrupted,
        }
        if fds[1]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
            && interrupted(stop.signals)
        {
            return Answer::Interrupted;
        }
        if fds[2].revents().is_some_and(|r| !r.is_empty()) {
            return Answer::Withdrawn;
        }
        if fds[0].revents().is_none_or(|r| r.is_empty()) {
            continue;
        }
        let mut byte = Zeroizing::new([0u8; 1]);
        match read(fd, &mut *byte) {
            Ok(0) if line.is_empty() => return Answer::Eof,
            Ok(0) => return Answer::Line(line),
            Ok(_) if byte[0] == b'\n' || byte[0] == b'\r' => return Answer::Line(line),
            Ok(_) if line.len() < MAX_ANSWER => line.push(byte[0]),
            Ok(_) => {}
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => return Answer::Line(line),
        }
    }
}

/// Whether a pending signal ends the prompt (anything but a window change).
fn interrupted(signals: &SignalFd) -> bool {
    let mut stop = false;
    while let Ok(Some(info)) = signals.read_signal() {
        stop |= info.ssi_signo as i32 != libc::SIGWINCH && info.ssi_signo as i32 != libc::SIGCONT;
    }
    stop
}

fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::SigSet;
    use nix::sys::signalfd::SfdFlags;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    fn signals() -> SignalFd {
        SignalFd::with_flags(&SigSet::empty(), SfdFlags::SFD_NONBLOCK).unwrap()
    }

    /// Reads a line with no signal pending and a daemon that stays quiet.
    fn read_line(fd: BorrowedFd<'_>, signals: &SignalFd) -> Answer {
        let (daemon, _quiet) = UnixStream::pair().unwrap();
        let stop = Interruptions {
            signals,
            daemon: daemon.as_fd(),
        };
        super::read_line(fd, &stop)
    }

    #[test]
    fn the_daemon_speaking_withdraws_the_prompt() {
        let (_typist, tty) = UnixStream::pair().unwrap();
        let (mut daemon, ours) = UnixStream::pair().unwrap();
        daemon.write_all(b"x").unwrap();
        let signals = signals();
        let stop = Interruptions {
            signals: &signals,
            daemon: ours.as_fd(),
        };
        assert!(matches!(
            super::read_line(tty.as_fd(), &stop),
            Answer::Withdrawn
        ));
    }

    #[test]
    fn reads_one_line_and_no_further() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"secret\nrest").unwrap();
        let Answer::Line(line) = read_line(b.as_fd(), &signals()) else {
            panic!("no line")
        };
        assert_eq!(&line[..], b"secret");
        let mut rest = [0u8; 4];
        assert_eq!(read(b.as_fd(), &mut rest).unwrap(), 4);
        assert_eq!(&rest, b"rest");
    }

    #[test]
    fn eof_before_anything_is_no_answer() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(matches!(read_line(b.as_fd(), &signals()), Answer::Eof));
    }

    #[test]
    fn eof_ends_the_line() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"abc").unwrap();
        drop(a);
        let Answer::Line(line) = read_line(b.as_fd(), &signals()) else {
            panic!("no line")
        };
        assert_eq!(&line[..], b"abc");
    }

    #[test]
    fn overlong_answers_are_cut() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            a.write_all(&vec![b'x'; MAX_ANSWER + 100]).unwrap();
            a.write_all(b"\n").unwrap();
        });
        let Answer::Line(line) = read_line(b.as_fd(), &signals()) else {
            panic!("no line")
        };
        writer.join().unwrap();
        assert_eq!(line.len(), MAX_ANSWER);
    }
}
