//! PAM in the worker: the conversation relayed to the client, password
//! attempts, account checks and the session around the command.

use std::cell::Cell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use jitsudo_audit::{Audit, EventKind};
use jitsudo_proto::{decode, ClientMessage, Failure, FrameReader, ServerMessage};
use zeroize::Zeroizing;

use super::supervise::send;
use crate::audit::AuditRecord;
use crate::job::{PamSpec, PasswordSpec, Report};
use crate::pam::{self, Conversation, Pam, PamError};

/// The PAM service jitsudo authenticates through.
const SERVICE: &std::ffi::CStr = c"jitsudo";

/// Largest client answer accepted (a password line and framing).
const MAX_ANSWER_FRAME: usize = 8192;

/// Why the conversation could not get an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    /// Nothing went wrong.
    None,
    /// The client has no terminal to ask on.
    NoTerminal,
    /// The client went away or misbehaved.
    Gone,
}

/// Relays PAM's conversation over the client connection.
struct Relay<'a> {
    conn: BorrowedFd<'a>,
    reader: FrameReader,
    prompt: Option<&'a [u8]>,
    trouble: &'a Cell<Trouble>,
}

impl Conversation for Relay<'_> {
    fn prompt(&mut self, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let shown = match self.prompt {
            // PAM's plain password prompt gives way to ours, as under sudo.
            Some(ours) if !echo && is_plain_password_prompt(text) => ours,
            _ => text,
        };
        let ask = ServerMessage::Prompt {
            text: shown.to_vec().into(),
            echo,
        };
        if send_to(self.conn, &ask).is_err() {
            self.trouble.set(Trouble::Gone);
            return None;
        }
        while let Ok(Some(frame)) = self.reader.read_frame(self.conn) {
            let frame = Zeroizing::new(frame);
            match decode::<ClientMessage>(&frame) {
                Ok(ClientMessage::Answer(Some(answer))) => {
                    return Some(Zeroizing::new(answer.into_vec()))
                }
                Ok(ClientMessage::Answer(None)) => {
                    self.trouble.set(Trouble::NoTerminal);
                    return None;
                }
                Ok(ClientMessage::Signal(_) | ClientMessage::Resume) => continue,
                _ => break,
            }
        }
        self.trouble.set(Trouble::Gone);
        None
    }

    fn message(&mut self, text: &[u8], _is_error: bool) {
        let _ = send_to(self.conn, &ServerMessage::Notice(text.to_vec().into()));
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

/// Where the worker's PAM transaction reports.
pub struct Reporting<'a> {
    /// The client connection.
    pub conn: &'a OwnedFd,
    /// The daemon's channel.
    pub daemon: BorrowedFd<'a>,
    /// Audit sinks.
    pub audit: &'a Audit,
    /// The request's record.
    pub record: &'a AuditRecord,
}

impl Reporting<'_> {
    fn report(&self, report: Report) {
        if let Ok(frame) = jitsudo_proto::encode(&report) {
            let _ = jitsudo_proto::send_frame(self.daemon, &frame, &[]);
        }
    }
}

/// Starts the transaction for the invoking user, authenticates if the job
/// says so, and checks the account. `Err(None)` means the client is gone
/// (nothing left to tell it).
pub fn begin<'c>(
    spec: &'c PamSpec,
    trouble: &'c Cell<Trouble>,
    to: &Reporting<'c>,
) -> Result<Pam<'c>, Option<Failure>> {
    let relay = Relay {
        conn: to.conn.as_fd(),
        reader: FrameReader::new(MAX_ANSWER_FRAME),
        prompt: spec.password.as_ref().map(|p| &p.prompt[..]),
        trouble,
    };
    let user = pam::c_string(&spec.user).ok_or_else(|| Some(Failure::new("invalid user name")))?;
    let mut pam = Pam::start(SERVICE, &user, Box::new(relay)).map_err(|e| Some(pam_failure(&e)))?;
    pam.set_item(pam::ITEM_RUSER, &user)
        .map_err(|e| Some(pam_failure(&e)))?;
    if let Some(tty) = spec
        .tty
        .as_deref()
        .and_then(|t| pam::c_string(t.as_bytes()))
    {
        pam.set_item(pam::ITEM_TTY, &tty)
            .map_err(|e| Some(pam_failure(&e)))?;
    }
    if let Some(password) = &spec.password {
        authenticate(&mut pam, password, trouble, to)?;
    }
    pam.acct_mgmt().map_err(|e| Some(pam_failure(&e)))?;
    Ok(pam)
}

/// Up to `tries` attempts, "Sorry, try again." between them.
fn authenticate(
    pam: &mut Pam<'_>,
    spec: &PasswordSpec,
    trouble: &Cell<Trouble>,
    to: &Reporting<'_>,
) -> Result<(), Option<Failure>> {
    let tries = spec.tries.max(1);
    for attempt in 1..=tries {
        let result = pam.authenticate();
        match (result, trouble.get()) {
            (Ok(()), _) => {
                to.report(Report::Authenticated);
                return Ok(());
            }
            (Err(_), Trouble::Gone) => {
                to.report(Report::AuthEnded);
                return Err(None);
            }
            (Err(_), Trouble::NoTerminal) => {
                to.report(Report::AuthEnded);
                send(
                    to.conn,
                    &ServerMessage::Warning(
                        b"a terminal is required to read the password; either use the -S \
                          option to read from standard input or configure an askpass helper"
                            .to_vec()
                            .into(),
                    ),
                    None,
                );
                return Err(Some(Failure::new("a password is required")));
            }
            (Err(e), Trouble::None) => {
                to.report(Report::AuthFailed);
                to.audit.emit(
                    &to.record
                        .event(EventKind::AuthFail)
                        .reason(format!("authentication failure: {}", e.text)),
                );
                if e.code != pam::AUTH_ERR {
                    to.report(Report::AuthEnded);
                    return Err(Some(pam_failure(&e)));
                }
                if attempt < tries {
                    send(
                        to.conn,
                        &ServerMessage::Notice(b"Sorry, try again.".to_vec().into()),
                        None,
                    );
                }
            }
        }
    }
    to.report(Report::AuthEnded);
    let plural = if tries == 1 { "" } else { "s" };
    Err(Some(Failure::new(format!(
        "{tries} incorrect password attempt{plural}"
    ))))
}

/// Opens the session for the target user, as sudo does.
pub fn open_session(pam: &mut Pam<'_>, target: &[u8]) -> Result<(), Failure> {
    let target = pam::c_string(target).ok_or_else(|| Failure::new("invalid target user"))?;
    pam.set_item(pam::ITEM_USER, &target)
        .and_then(|()| pam.setcred(pam::ESTABLISH_CRED))
        .and_then(|()| pam.open_session())
        .map_err(|e| pam_failure(&e))
}

/// Closes the session after the command ended.
pub fn close_session(pam: &mut Pam<'_>) {
    let _ = pam.close_session();
    let _ = pam.setcred(pam::DELETE_CRED);
}

fn pam_failure(e: &PamError) -> Failure {
    Failure::new(e.text.clone())
}

/// A fresh conversation state.
pub fn trouble() -> Cell<Trouble> {
    Cell::new(Trouble::None)
}
