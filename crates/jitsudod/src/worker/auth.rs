//! PAM in the worker: the conversation relayed to the client, password
//! attempts, account checks and the session around the command.
//!
//! A worker starts its PAM transaction while it waits for a job (reading
//! the service's configuration and loading its modules is the slow part),
//! and learns the user, terminal and client connection when the job comes.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::rc::Rc;

use jitsudo_audit::{Audit, EventKind};
use jitsudo_proto::{Exit, Failure, ServerMessage};

use super::relay::{Cancel, Link, Relay, Trouble};
use super::reply::send;
use crate::audit::AuditRecord;
use crate::pam::{self, Credentials, ErrorCode, Item, Pam, PamError};
use crate::request::job::{PamSpec, PasswordSpec, Report};

/// The PAM service jitsudo authenticates through.
const SERVICE: &std::ffi::CStr = c"jitsudo";

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
    /// Sends `report` to the daemon (best effort).
    pub fn report(&self, report: Report) {
        if let Ok(frame) = jitsudo_proto::encode(&report) {
            let _ = jitsudo_proto::send_frame(self.daemon, &frame, &[]);
        }
    }
}

/// A PAM transaction started before its job arrived.
pub struct Transaction {
    pam: Pam,
    link: Rc<Link>,
}

impl Transaction {
    /// Starts the transaction (configuration read, modules loaded).
    pub fn prepare() -> Result<Transaction, PamError> {
        let link = Rc::new(Link::new());
        let relay = Relay {
            link: Rc::clone(&link),
        };
        let pam = Pam::start(SERVICE, None, Box::new(relay))?;
        Ok(Transaction { pam, link })
    }

    /// Binds the transaction to the job's caller and connection,
    /// authenticates if the job says so, and checks the account.
    /// `Err(None)` means the client is gone or was told why the request
    /// ended (nothing left to tell it).
    pub fn begin(&mut self, spec: &PamSpec, to: &Reporting<'_>) -> Result<(), Option<Failure>> {
        let conn = to
            .conn
            .try_clone()
            .map_err(|e| Some(Failure::new(format!("unable to copy the connection: {e}"))))?;
        *self.link.conn.borrow_mut() = Some(conn);
        *self.link.prompt.borrow_mut() = spec.password.as_ref().map(|p| p.prompt.to_vec());
        let user =
            pam::c_string(&spec.user).ok_or_else(|| Some(Failure::new("invalid user name")))?;
        let fail = |e: PamError| Some(pam_failure(&e));
        self.pam.set_item(Item::User, &user).map_err(fail)?;
        self.pam.set_item(Item::Ruser, &user).map_err(fail)?;
        if let Some(tty) = spec
            .tty
            .as_deref()
            .and_then(|t| pam::c_string(t.as_bytes()))
        {
            self.pam.set_item(Item::Tty, &tty).map_err(fail)?;
        }
        if let Some(password) = &spec.password {
            self.link.timeout.set(password.timeout);
            self.authenticate(password, to)?;
        }
        self.pam.acct_mgmt().map_err(|_| {
            let warning = b"account validation failure, is your account locked?";
            send(
                to.conn,
                &ServerMessage::Warning(warning.to_vec().into()),
                None,
            );
            Some(Failure::new("a password is required"))
        })?;
        self.still_wanted(to)
    }

    /// `Err(None)` if the client ended the request while PAM worked (its
    /// signal is then mirrored: the client dies of it, as if the command
    /// had, and nothing runs).
    fn still_wanted(&self, to: &Reporting<'_>) -> Result<(), Option<Failure>> {
        let Some(cancel) = self.link.cancelled() else {
            return Ok(());
        };
        to.audit.emit(&to.record.rejected(cancel_reason(cancel)));
        if let Cancel::Signal(signal) = cancel {
            let exit = Exit::Signal {
                signal,
                core_dumped: false,
            };
            send(to.conn, &ServerMessage::Exited(exit), None);
        }
        Err(None)
    }

    /// Up to `tries` attempts, "Sorry, try again." between them.
    fn authenticate(
        &mut self,
        spec: &PasswordSpec,
        to: &Reporting<'_>,
    ) -> Result<(), Option<Failure>> {
        let tries = spec.tries.max(1);
        let mut failed = 0;
        while failed < tries {
            let result = self.pam.authenticate();
            match (result, self.link.trouble.get()) {
                (Ok(()), _) => {
                    to.report(Report::Authenticated);
                    return Ok(());
                }
                (Err(_), Trouble::Gone) => return Err(gone(to)),
                (Err(_), Trouble::Interrupted) => return Err(interrupted(failed, to)),
                (Err(_), Trouble::NoTerminal) => return Err(no_answer(NO_TERMINAL, to)),
                (Err(_), Trouble::TimedOut) => {
                    to.audit.emit(
                        &to.record
                            .event(EventKind::AuthFail)
                            .reason(TIMED_OUT.escape_ascii().to_string()),
                    );
                    return Err(no_answer(TIMED_OUT, to));
                }
                (Err(e), Trouble::None) => {
                    to.report(Report::AuthFailed);
                    to.audit.emit(
                        &to.record
                            .event(EventKind::AuthFail)
                            .reason(format!("authentication failure: {}", e.text)),
                    );
                    if e.code != ErrorCode::AuthErr {
                        return Err(Some(pam_failure(&e)));
                    }
                    failed += 1;
                    // A signal relayed during PAM's delay after a wrong
                    // password ends the request before the next prompt.
                    match self.link.cancelled() {
                        Some(Cancel::Gone) => return Err(gone(to)),
                        Some(Cancel::Signal(_)) => return Err(interrupted(failed, to)),
                        None => {}
                    }
                    if failed < tries {
                        let again = ServerMessage::Notice {
                            text: b"Sorry, try again.".to_vec().into(),
                            prefer_tty: true,
                        };
                        send(to.conn, &again, None);
                    }
                }
            }
        }
        Err(Some(incorrect_attempts(tries)))
    }

    /// Opens the session for the target user, as sudo does.
    pub fn open_session(&mut self, target: &[u8]) -> Result<(), Failure> {
        let target = pam::c_string(target).ok_or_else(|| Failure::new("invalid target user"))?;
        self.pam
            .set_item(Item::User, &target)
            .and_then(|()| self.pam.setcred(Credentials::Establish))
            .and_then(|()| self.pam.open_session())
            .map_err(|e| pam_failure(&e))
    }

    /// The PAM environment after the session opened.
    pub fn env(&self) -> Vec<Vec<u8>> {
        self.pam.env()
    }

    /// Closes the session after the command ended.
    pub fn close_session(&mut self) {
        let _ = self.pam.close_session();
        let _ = self.pam.setcred(Credentials::Delete);
    }

    /// Lets go of the client connection: PAM has nothing more to say to
    /// the client, and the connection closes when the worker drops its own.
    pub fn hang_up(&self) {
        self.link.conn.borrow_mut().take();
    }
}

/// Tells the client why no password was read, in sudo's words; the
/// request fails as sudo's does.
fn no_answer(why: &[u8], to: &Reporting<'_>) -> Option<Failure> {
    send(to.conn, &ServerMessage::Warning(why.to_vec().into()), None);
    Some(Failure::new("a password is required"))
}

/// The client relayed a signal that ends the request while a prompt
/// waited, after `failed` wrong passwords: logged, and sudo's words.
fn interrupted(failed: u32, to: &Reporting<'_>) -> Option<Failure> {
    to.audit
        .emit(&to.record.event(EventKind::AuthFail).reason(CANCELLED));
    Some(match failed {
        0 => Failure::new("a password is required"),
        n => incorrect_attempts(n),
    })
}

/// The client went away while a prompt waited: logged; nothing to tell.
fn gone(to: &Reporting<'_>) -> Option<Failure> {
    let reason = cancel_reason(Cancel::Gone);
    to.audit
        .emit(&to.record.event(EventKind::AuthFail).reason(reason));
    None
}

/// sudo's words after `n` wrong passwords.
fn incorrect_attempts(n: u32) -> Failure {
    let plural = if n == 1 { "" } else { "s" };
    Failure::new(format!("{n} incorrect password attempt{plural}"))
}

/// The log's reason for a request its caller cancelled by a signal.
const CANCELLED: &str = "cancelled by a signal before the command started";

/// Why the log says the request ended before its command started.
fn cancel_reason(cancel: Cancel) -> &'static str {
    match cancel {
        Cancel::Signal(_) => CANCELLED,
        Cancel::Gone => "the client went away before the command started",
    }
}

/// sudo's words when no answer came within `passwd_timeout`.
const TIMED_OUT: &[u8] = b"timed out reading password";

/// sudo's words when a password is needed and nothing can ask for it.
const NO_TERMINAL: &[u8] = b"a terminal is required to read the password; either use the -S \
    option to read from standard input or configure an askpass helper";

fn pam_failure(e: &PamError) -> Failure {
    Failure::new(e.text.clone())
}
