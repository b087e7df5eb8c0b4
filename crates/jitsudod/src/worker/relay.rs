//! PAM's conversation relayed to the client: each prompt sent as a
//! [`ServerMessage::Prompt`] (PAM's plain "Password: " replaced by the
//! request's prompt, as under sudo), the answer read within
//! `passwd_timeout`, PAM's messages sent as notices; why no answer came is
//! left in [`Link::trouble`] for the transaction (auth.rs) to word.
//!
//! A signal that ends the request under sudo (SIGHUP, SIGINT, SIGQUIT,
//! SIGTERM), relayed by the client before the command started, ends the
//! conversation: the command must not run after its caller cancelled it.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use jitsudo_proto::{decode, ClientMessage, Frame, FrameReader, ServerMessage};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use zeroize::Zeroizing;

use crate::pam::Conversation;

/// Largest client answer accepted (a password line and framing).
const MAX_ANSWER_FRAME: usize = 8192;

/// How many reads [`Link::cancelled`] makes at most: a client sending
/// without pause cannot hold the worker there.
const MAX_PENDING_READS: usize = 64;

/// Why the conversation could not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trouble {
    /// Nothing went wrong.
    None,
    /// The client has no terminal to ask on.
    NoTerminal,
    /// The client went away or misbehaved.
    Gone,
    /// No answer came within `passwd_timeout`.
    TimedOut,
    /// The client relayed a signal that ends the request.
    Interrupted,
}

/// The client ended the request before its command started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cancel {
    /// It relayed this signal, which ends the request.
    Signal(i32),
    /// It closed the connection (or broke the protocol).
    Gone,
}

/// Whether signal `n`, relayed before the command started, ends the
/// request (as these signals end sudo before it runs the command).
fn ends_request(n: i32) -> bool {
    [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM].contains(&n)
}

/// What the conversation needs once the job is known.
pub(super) struct Link {
    /// A copy of the client connection, from [`Transaction::begin`] to
    /// [`Transaction::hang_up`].
    pub(super) conn: RefCell<Option<OwnedFd>>,
    /// Our prompt, replacing PAM's plain "Password: ".
    pub(super) prompt: RefCell<Option<Vec<u8>>>,
    /// How long one prompt waits for its answer.
    pub(super) timeout: Cell<Duration>,
    pub(super) trouble: Cell<Trouble>,
    pub(super) reader: RefCell<FrameReader>,
}

impl Link {
    /// Not yet bound to a job: no connection, no prompt.
    pub(super) fn new() -> Link {
        Link {
            conn: RefCell::new(None),
            prompt: RefCell::new(None),
            timeout: Cell::new(Duration::ZERO),
            trouble: Cell::new(Trouble::None),
            reader: RefCell::new(FrameReader::new(MAX_ANSWER_FRAME)),
        }
    }

    /// Whether the client has, by now, ended the request: a signal that
    /// ends it among the messages it sent (others are dropped, as while a
    /// prompt waits), or its connection closed. Never waits, and reads at
    /// most [`MAX_PENDING_READS`] times (a frame takes two reads).
    pub(super) fn cancelled(&self) -> Option<Cancel> {
        let conn = self.conn.borrow();
        let conn = conn.as_ref()?.as_fd();
        let mut reader = self.reader.borrow_mut();
        for _ in 0..MAX_PENDING_READS {
            loop {
                let frame = match reader.next_frame() {
                    Ok(Some(frame)) => Zeroizing::new(frame),
                    Ok(None) => break,
                    Err(_) => return Some(Cancel::Gone),
                };
                match decode::<ClientMessage>(&frame) {
                    Ok(ClientMessage::Signal(n)) if ends_request(n) => {
                        return Some(Cancel::Signal(n))
                    }
                    Ok(_) => {}
                    Err(_) => return Some(Cancel::Gone),
                }
            }
            let mut fds = [PollFd::new(conn, PollFlags::POLLIN)];
            if !poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
                return None;
            }
            if !matches!(reader.fill(conn), Ok(n) if n > 0) {
                return Some(Cancel::Gone);
            }
        }
        None
    }
}

/// Relays PAM's conversation over the client connection.
pub(super) struct Relay {
    /// What it shares with the transaction.
    pub(super) link: Rc<Link>,
}

impl Relay {
    /// Runs `f` on the client connection, if the transaction has one.
    fn with_conn<T>(&self, f: impl FnOnce(BorrowedFd<'_>) -> T) -> Option<T> {
        let conn = self.link.conn.borrow();
        conn.as_ref().map(|fd| f(fd.as_fd()))
    }

    fn read_answer(&self, conn: BorrowedFd<'_>) -> Option<Zeroizing<Vec<u8>>> {
        let deadline = Instant::now() + self.link.timeout.get();
        let mut reader = self.link.reader.borrow_mut();
        loop {
            let frame = match frame_before(&mut reader, conn, deadline) {
                Ok(frame) => Zeroizing::new(frame),
                Err(trouble) => {
                    self.link.trouble.set(trouble);
                    return None;
                }
            };
            match decode::<ClientMessage>(&frame) {
                Ok(ClientMessage::Answer(Some(answer))) => {
                    return Some(Zeroizing::new(answer.into_vec()))
                }
                Ok(ClientMessage::Answer(None)) => {
                    self.link.trouble.set(Trouble::NoTerminal);
                    return None;
                }
                Ok(ClientMessage::Signal(n)) if ends_request(n) => {
                    self.link.trouble.set(Trouble::Interrupted);
                    return None;
                }
                Ok(ClientMessage::Signal(_) | ClientMessage::Resume { .. }) => continue,
                _ => {
                    self.link.trouble.set(Trouble::Gone);
                    return None;
                }
            }
        }
    }
}

/// The client's next frame, if it comes before `deadline`.
fn frame_before(
    reader: &mut FrameReader,
    conn: BorrowedFd<'_>,
    deadline: Instant,
) -> Result<Frame, Trouble> {
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(_) => return Err(Trouble::Gone),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Trouble::TimedOut);
        }
        let wait = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        match poll(&mut [PollFd::new(conn, PollFlags::POLLIN)], wait) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return Err(Trouble::Gone),
        }
        match reader.fill(conn) {
            Ok(0) | Err(_) => return Err(Trouble::Gone),
            Ok(_) => {}
        }
    }
}

impl Conversation for Relay {
    fn prompt(&mut self, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        self.with_conn(|conn| self.ask(conn, text, echo)).flatten()
    }

    fn message(&mut self, text: &[u8], _is_error: bool) {
        let notice = ServerMessage::Notice {
            text: text.to_vec().into(),
            prefer_tty: false,
        };
        self.with_conn(|conn| send_to(conn, &notice));
    }
}

impl Relay {
    /// Shows PAM's prompt `text` to the client and reads the answer.
    fn ask(&self, conn: BorrowedFd<'_>, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let ours = self.link.prompt.borrow().clone();
        let shown = match ours {
            // PAM's plain password prompt gives way to ours, as under sudo.
            Some(ours) if !echo && is_plain_password_prompt(text) => ours,
            _ => text.to_vec(),
        };
        let ask = ServerMessage::Prompt {
            text: shown.into(),
            echo,
        };
        if send_to(conn, &ask).is_err() {
            self.link.trouble.set(Trouble::Gone);
            return None;
        }
        self.read_answer(conn)
    }
}

fn send_to(conn: BorrowedFd<'_>, message: &ServerMessage) -> std::io::Result<()> {
    let frame = jitsudo_proto::encode(message).map_err(std::io::Error::other)?;
    jitsudo_proto::send_frame(conn, &frame, &[])
}

/// "Password: " and its variants from pam_unix and friends.
fn is_plain_password_prompt(text: &[u8]) -> bool {
    let trimmed = text.trim_ascii_end();
    trimmed.eq_ignore_ascii_case(b"Password:") || trimmed.ends_with(b"'s Password:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// A link bound to one end of a socketpair, and the client's end.
    fn linked() -> (Relay, UnixStream) {
        let (ours, client) = UnixStream::pair().unwrap();
        let link = Link::new();
        *link.conn.borrow_mut() = Some(OwnedFd::from(ours));
        link.timeout.set(Duration::from_secs(5));
        let relay = Relay {
            link: Rc::new(link),
        };
        (relay, client)
    }

    fn client_sends(client: &UnixStream, message: &ClientMessage) {
        let frame = jitsudo_proto::encode(message).unwrap();
        jitsudo_proto::send_frame(client.as_fd(), &frame, &[]).unwrap();
    }

    #[test]
    fn a_signal_that_ends_the_request_ends_the_prompt() {
        let (mut relay, client) = linked();
        client_sends(&client, &ClientMessage::Signal(libc::SIGWINCH));
        client_sends(&client, &ClientMessage::Signal(libc::SIGTERM));
        client_sends(&client, &ClientMessage::Answer(Some(b"pw".to_vec().into())));
        assert!(relay.prompt(b"Password: ", false).is_none());
        assert_eq!(relay.link.trouble.get(), Trouble::Interrupted);
    }

    #[test]
    fn other_signals_leave_the_prompt_waiting() {
        let (mut relay, client) = linked();
        client_sends(&client, &ClientMessage::Signal(libc::SIGUSR1));
        client_sends(&client, &ClientMessage::Answer(Some(b"pw".to_vec().into())));
        let answer = relay.prompt(b"Password: ", false);
        assert_eq!(answer.as_deref().map(|a| &a[..]), Some(&b"pw"[..]));
    }

    #[test]
    fn cancelled_sees_what_the_client_sent_without_waiting() {
        let (relay, client) = linked();
        assert_eq!(relay.link.cancelled(), None);
        client_sends(&client, &ClientMessage::Signal(libc::SIGUSR1));
        assert_eq!(relay.link.cancelled(), None);
        client_sends(&client, &ClientMessage::Signal(libc::SIGINT));
        assert_eq!(relay.link.cancelled(), Some(Cancel::Signal(libc::SIGINT)));
        drop(client);
        assert_eq!(relay.link.cancelled(), Some(Cancel::Gone));
    }

    #[test]
    fn plain_password_prompts_are_recognised() {
        for prompt in [&b"Password: "[..], b"password:", b"alice's Password: "] {
            assert!(is_plain_password_prompt(prompt), "{prompt:?}");
        }
        for prompt in [&b"Verification code: "[..], b"New password: ", b""] {
            assert!(!is_plain_password_prompt(prompt), "{prompt:?}");
        }
    }
}
