//! The conversation with jitsudod once the request is sent: relaying
//! signals and, when the command has a pty, the caller's terminal.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use jitsudo_proto::{
    decode, encode, encode_answer, send_frame, ClientMessage, EditFile, Exit, FrameReader,
    ProtoError, ServerMessage, MAX_MESSAGE_LEN,
};
use jitsudo_sys::fd::Std;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::unistd::{read, write};

use crate::askpass::{self, PasswordInput};
use crate::edit;
use crate::prompt;
use crate::signals;
use crate::stdio::Stdio;
use crate::terminal::{self, copy_window_size, RawMode};

/// Bytes the client asks for per read of the connection: a frame and
/// the ones sent with it (the command's status) come in one call.
const READ_AHEAD: usize = 4096;

/// How the client must end.
#[derive(Debug)]
pub enum Outcome {
    /// Exit with this status.
    Exit(i32),
    /// Die of the command's signal.
    Signal(i32),
    /// A message for the user, then exit with the status.
    Failure(Vec<u8>, u8),
}

/// The pty relay: caller's terminal ↔ pty master.
///
/// As sudo does, the client takes its terminal (raw mode, keystrokes
/// relayed) only when stdin is that terminal, the client is in its
/// foreground, and no stdio descriptor is a pipe. In a pipeline (`jitsudo
/// cmd | less`) the terminal's modes are left alone and keystrokes stay
/// with whoever reads them, until the command itself asks for the terminal
/// (it is stopped by SIGTTIN or SIGTTOU).
struct Relay {
    /// The command's pty master, or (a recorded session) the worker's
    /// copy of it: a socket, whose size the worker sets.
    master: OwnedFd,
    /// `master` is the worker's socket, not the pty.
    tapped: bool,
    /// The caller's terminal (fd 0 if it is one, else 1 or 2): where
    /// keystrokes come from, and whose hangup ends the session.
    tty: Option<Std>,
    /// Keystrokes are read from fd 0 and relayed.
    reading: bool,
    /// A stdio descriptor is a pipe.
    pipeline: bool,
    /// The terminal hung up: it is neither read nor restored any more.
    hung_up: bool,
    /// Where the command's terminal output goes.
    output: Std,
    raw: Option<RawMode>,
    to_master: Vec<u8>,
    master_open: bool,
}

impl Relay {
    /// Raw mode on the caller's terminal (fd 0), and keystrokes relayed.
    fn take_terminal(&mut self) {
        match &mut self.raw {
            Some(raw) => {
                let _ = raw.reapply();
            }
            None => self.raw = RawMode::enter(Std::In).ok(),
        }
        self.reading = true;
    }

    /// Whether the client may take its terminal now.
    fn may_take_terminal(&self) -> bool {
        self.tty == Some(Std::In) && !self.hung_up && terminal::in_foreground(Std::In)
    }

    /// The client was continued: it takes its terminal again if it had it
    /// (or would have had it, being in the background at the start).
    /// Returns whether it is in its terminal's foreground.
    fn continued(&mut self) -> bool {
        let foreground = self.tty.is_some_and(terminal::in_foreground);
        if !foreground {
            // Continued in the background (`bg`): reading would stop it.
            self.reading = false;
        } else if self.may_take_terminal() && (self.raw.is_some() || !self.pipeline) {
            self.take_terminal();
        }
        foreground
    }

    /// The terminal to poll, and for what: keystrokes while they are read
    /// and the master takes them, else only a hangup (which poll reports
    /// whatever the events asked for).
    fn terminal_events(&self) -> Option<(Std, PollFlags)> {
        let fd = self.tty.filter(|_| !self.hung_up)?;
        let read = self.reading && self.to_master.is_empty() && self.master_open;
        let events = if read {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        };
        Some((fd, events))
    }

    /// The terminal is gone.
    fn hang_up(&mut self) {
        self.hung_up = true;
        self.reading = false;
        if let Some(raw) = &mut self.raw {
            raw.abandon();
        }
    }
}

/// One connection to the daemon, after the request was sent.
pub struct Session {
    conn: UnixStream,
    reader: FrameReader,
    signals: SignalFd,
    stdio: Stdio,
    relay: Option<Relay>,
    /// Where passwords come from (`-S`, `-A`, `-B`).
    input: PasswordInput,
    /// What the client's own messages start with (`jitsudo: `).
    prefix: Vec<u8>,
}

impl Session {
    /// Wraps a connection on which the request has been written; the
    /// client's own messages are prefixed with `program: `.
    pub fn new(
        conn: UnixStream,
        signals: SignalFd,
        stdio: Stdio,
        input: PasswordInput,
        program: &str,
    ) -> Session {
        Session {
            conn,
            reader: FrameReader::new(MAX_MESSAGE_LEN).with_read_ahead(READ_AHEAD),
            signals,
            stdio,
            relay: None,
            input,
            prefix: format!("{program}: ").into_bytes(),
        }
    }

    /// Runs until the daemon reports how the command ended.
    pub fn run(mut self) -> Outcome {
        loop {
            match self.step() {
                Ok(Some(outcome)) => {
                    self.finish();
                    return outcome;
                }
                Ok(None) => {}
                Err(e) => {
                    self.finish();
                    return Outcome::Failure(
                        format!("lost connection to jitsudod: {e}").into_bytes(),
                        1,
                    );
                }
            }
        }
    }

    fn step(&mut self) -> Result<Option<Outcome>, ProtoError> {
        let ready = self.wait()?;
        if ready.signal {
            self.handle_signals()?;
        }
        if ready.input {
            self.read_input();
        }
        if ready.master_out {
            self.flush_to_master();
        }
        if ready.master_in {
            self.copy_master_output(false);
        }
        if ready.conn {
            return self.read_messages();
        }
        Ok(None)
    }

    fn wait(&self) -> Result<Ready, ProtoError> {
        let conn = self.conn.as_fd();
        let sig = self.signals.as_fd();
        let mut fds = vec![
            PollFd::new(conn, PollFlags::POLLIN),
            PollFd::new(sig, PollFlags::POLLIN),
        ];
        let relay = self.relay.as_ref();
        let input = relay.and_then(Relay::terminal_events);
        if let Some((fd, events)) = input {
            fds.push(PollFd::new(fd.borrow(), events));
        }
        if let Some(r) = relay.filter(|r| r.master_open) {
            let mut flags = PollFlags::POLLIN;
            if !r.to_master.is_empty() {
                flags |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(r.master.as_fd(), flags));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(ProtoError::Io(e.into())),
        }
        let hit = |fd: &PollFd, mask: PollFlags| fd.revents().is_some_and(|r| r.intersects(mask));
        let any_in = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        let mut ready = Ready {
            conn: hit(&fds[0], any_in),
            signal: hit(&fds[1], PollFlags::POLLIN),
            ..Ready::default()
        };
        let mut rest = fds[2..].iter();
        if input.is_some() {
            ready.input = rest.next().is_some_and(|fd| hit(fd, any_in));
        }
        if let Some(master) = rest.next() {
            ready.master_in = hit(master, any_in);
            ready.master_out = hit(master, PollFlags::POLLOUT);
        }
        Ok(ready)
    }

    fn handle_signals(&mut self) -> Result<(), ProtoError> {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let signo = info.ssi_signo as i32;
            match Signal::try_from(signo) {
                Ok(Signal::SIGWINCH) => self.resize(),
                Ok(Signal::SIGCONT) => self.resumed()?,
                // For a command on a pty, the worker takes SIGHUP as a hang-up.
                _ => self.send(&ClientMessage::Signal(signo))?,
            }
        }
        Ok(())
    }

    fn resize(&self) {
        match &self.relay {
            // Lost only if the worker is gone, and the command with it.
            Some(r) if r.tapped => {
                let _ = self.send(&ClientMessage::Signal(libc::SIGWINCH));
            }
            Some(r) => copy_window_size(r.output, r.master.as_fd()),
            None => {}
        }
    }

    fn resumed(&mut self) -> Result<(), ProtoError> {
        let foreground = self.relay.as_mut().is_none_or(Relay::continued);
        self.resize();
        self.send(&ClientMessage::Resume { foreground })
    }

    fn send(&self, message: &ClientMessage) -> Result<(), ProtoError> {
        send_frame(self.conn.as_fd(), &encode(message)?, &[])?;
        Ok(())
    }

    fn read_messages(&mut self) -> Result<Option<Outcome>, ProtoError> {
        if self.reader.fill(self.conn.as_fd())? == 0 {
            return Err(ProtoError::Truncated);
        }
        while let Some(frame) = self.reader.next_frame()? {
            let message: ServerMessage = decode(&frame)?;
            if let Some(outcome) = self.handle(message)? {
                return Ok(Some(outcome));
            }
        }
        Ok(None)
    }

    fn handle(&mut self, message: ServerMessage) -> Result<Option<Outcome>, ProtoError> {
        match message {
            ServerMessage::Welcome { .. } => {}
            ServerMessage::Output(bytes) => {
                let _ = std::io::stdout().write_all(&bytes);
                let _ = std::io::stdout().flush();
            }
            ServerMessage::Warning(text) => print_line(&self.prefix, &text),
            ServerMessage::Notice { text, prefer_tty } => {
                if !(prefer_tty && prompt::tell_terminal(&text)) {
                    print_line(b"", &text)
                }
            }
            ServerMessage::Prompt { text, echo } => return self.answer(&text, echo),
            ServerMessage::Started { pty } => {
                let fds = self.reader.take_fds();
                if pty {
                    self.start_relay(fds)?;
                }
            }
            ServerMessage::Suspended { signal } => self.suspended(signal)?,
            ServerMessage::Edit(files) => return self.edit(files),
            ServerMessage::Error(failure) => {
                return Ok(Some(Outcome::Failure(
                    failure.message.into_vec(),
                    failure.status,
                )))
            }
            ServerMessage::Exited(Exit::Code(code)) => return Ok(Some(Outcome::Exit(code))),
            ServerMessage::Done => return Ok(Some(Outcome::Exit(0))),
            // Answers to jitsudoctl's verbs, which this client never sends.
            ServerMessage::PolicyReloaded
            | ServerMessage::Explained { .. }
            | ServerMessage::Grants(_)
            | ServerMessage::Status(_) => {
                return Ok(Some(Outcome::Failure(
                    b"unexpected answer from jitsudod".to_vec(),
                    1,
                )))
            }
            ServerMessage::Exited(Exit::Signal { signal, .. }) => {
                return Ok(Some(Outcome::Signal(signal)))
            }
        }
        Ok(None)
    }

    /// Answers a prompt. End of input or ^C at the prompt ends the client
    /// with sudo's words and status 1.
    fn answer(&mut self, text: &[u8], echo: bool) -> Result<Option<Outcome>, ProtoError> {
        let required = || Outcome::Failure(b"a password is required".to_vec(), 1);
        if self.reader.buffered() > 0 {
            // The daemon spoke after its prompt: it no longer waits for
            // the answer (the messages that follow say why).
            return Ok(None);
        }
        let stop = prompt::Interruptions {
            signals: &self.signals,
            daemon: self.conn.as_fd(),
        };
        let asked = match self.input {
            PasswordInput::Askpass => None,
            input => Some(prompt::ask(
                &input.prompt_text(text),
                echo,
                input == PasswordInput::Stdin,
                &stop,
            )),
        };
        let answer = match asked {
            Some(prompt::Answer::NoTerminal) if !echo && askpass::replaces_missing_terminal() => {
                None
            }
            asked => asked,
        };
        let answer = match answer.map(Ok).unwrap_or_else(|| askpass::ask(text)) {
            Ok(answer) => answer,
            Err(e) => return Ok(Some(Outcome::Failure(e.to_string().into_bytes(), 1))),
        };
        let line = match answer {
            prompt::Answer::Line(line) => Some(line),
            prompt::Answer::NoTerminal => None,
            prompt::Answer::Eof => {
                print_line(&self.prefix, b"no password was provided");
                return Ok(Some(required()));
            }
            prompt::Answer::Interrupted => return Ok(Some(required())),
            // The daemon's next messages say why.
            prompt::Answer::Withdrawn => return Ok(None),
        };
        let frame = encode_answer(line.as_deref().map(|l| &l[..]))?;
        send_frame(self.conn.as_fd(), &frame, &[])?;
        Ok(None)
    }

    /// `-e`: edits copies of the files and sends back what changed; sudo's
    /// "FILE unchanged" for the others.
    fn edit(&mut self, files: Vec<EditFile>) -> Result<Option<Outcome>, ProtoError> {
        let paths: Vec<Vec<u8>> = files.iter().map(|f| f.path.to_vec()).collect();
        let edited = match edit::edit(files) {
            Ok(edited) => edited,
            Err(e) => return Ok(Some(Outcome::Failure(e.to_string().into_bytes(), 1))),
        };
        for (path, content) in paths.iter().zip(&edited) {
            if content.is_none() {
                print_line(&self.prefix, &[&path[..], b" unchanged"].concat());
            }
        }
        self.send(&ClientMessage::Edited(edited))?;
        Ok(None)
    }

    fn start_relay(&mut self, fds: Vec<OwnedFd>) -> Result<(), ProtoError> {
        let master = fds.into_iter().next().ok_or(ProtoError::Truncated)?;
        let _ = fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        let find_tty = |order: [Std; 3]| order.into_iter().find(|fd| self.stdio.is_tty(*fd));
        let tapped = !nix::unistd::isatty(&master).unwrap_or(false);
        let mut relay = Relay {
            master,
            tapped,
            tty: find_tty(Std::ALL),
            reading: false,
            pipeline: terminal::in_pipeline(&self.stdio),
            hung_up: false,
            output: find_tty([Std::Out, Std::Err, Std::In]).unwrap_or(Std::Out),
            raw: None,
            to_master: Vec::new(),
            master_open: true,
        };
        if !relay.pipeline && relay.may_take_terminal() {
            relay.take_terminal();
        }
        self.relay = Some(relay);
        Ok(())
    }

    /// The command was stopped by `signal`. A command in a pipeline that
    /// asks for the terminal the client holds gets it, as under sudo;
    /// otherwise the client gives its terminal back and stops with the same
    /// signal, so the caller's shell reports the job as stopped.
    fn suspended(&mut self, signal: i32) -> Result<(), ProtoError> {
        let wants_terminal = signal == libc::SIGTTIN || signal == libc::SIGTTOU;
        if let Some(relay) = self.relay.as_mut() {
            if wants_terminal && !relay.reading && relay.may_take_terminal() {
                relay.take_terminal();
                return self.send(&ClientMessage::Resume { foreground: true });
            }
            if let Some(raw) = &mut relay.raw {
                raw.restore();
            }
        }
        signals::stop_self(signal);
        Ok(())
    }

    fn read_input(&mut self) {
        let Some(relay) = self.relay.as_mut() else {
            return;
        };
        let Some(fd) = relay.tty.filter(|_| relay.reading) else {
            // Only a hangup (or an error) wakes a terminal that is not read.
            return self.terminal_gone();
        };
        let mut buf = [0u8; 4096];
        match read(fd.borrow(), &mut buf) {
            // A terminal in raw mode reads 0 bytes only once it hung up.
            Ok(0) | Err(Errno::EIO) => self.terminal_gone(),
            Ok(n) => relay.to_master.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }

    /// The caller's terminal hung up (a closed window, an SSH disconnect):
    /// the command is hung up too, as under sudo. A send failure means the
    /// worker is gone already, and with it the command.
    fn terminal_gone(&mut self) {
        if let Some(relay) = self.relay.as_mut() {
            relay.hang_up();
        }
        let _ = self.send(&ClientMessage::Signal(libc::SIGHUP));
    }

    fn flush_to_master(&mut self) {
        let Some(relay) = self.relay.as_mut() else {
            return;
        };
        match write(&relay.master, &relay.to_master) {
            Ok(n) => {
                relay.to_master.drain(..n);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(_) => relay.to_master.clear(),
        }
    }

    /// Copies what the command wrote to its terminal. With `drain`, keeps
    /// reading until nothing is left (the command has exited).
    fn copy_master_output(&mut self, drain: bool) {
        let Some(relay) = self.relay.as_mut() else {
            return;
        };
        let mut buf = [0u8; 16384];
        while relay.master_open {
            match read(&relay.master, &mut buf) {
                Ok(0) | Err(Errno::EIO) => relay.master_open = false,
                Ok(n) => write_all(relay.output, &buf[..n]),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
            if !drain {
                break;
            }
        }
    }

    fn finish(&mut self) {
        self.copy_master_output(true);
        if let Some(raw) = self.relay.as_mut().and_then(|r| r.raw.as_mut()) {
            raw.restore();
        }
    }
}

#[derive(Default)]
struct Ready {
    conn: bool,
    signal: bool,
    input: bool,
    master_in: bool,
    master_out: bool,
}

fn print_line(prefix: &[u8], text: &[u8]) {
    let mut line = prefix.to_vec();
    line.extend_from_slice(text);
    line.push(b'\n');
    let _ = std::io::stderr().write_all(&line);
}

fn write_all(fd: Std, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match write(fd.borrow(), bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => continue,
            Err(_) => return,
        }
    }
}
