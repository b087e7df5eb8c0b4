//! A job's life in the worker: PAM (authenticate, account, session), then
//! the reply, or the command: started ([`super::spawn`]), watched until it
//! ends ([`super::watch`]), its exit reported and logged, and the session
//! closed.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;
use std::process::ExitCode;

use jitsudo_audit::ExitStatus;
use jitsudo_proto::{Exit, Failure, ServerMessage};
use jitsudo_sys::process::{set_urgency, Urgency};

use super::auth::{Reporting, Transaction};
use super::received::{CallerFds, Received};
use super::reply::send;
use super::spawn::{start, Place, Started};
use super::tree::Leftovers;
use super::watch::{Supervisor, HANGUP_GRACE};
use crate::audit::AuditRecord;
use crate::request::job::{Exec, Job, Report, Then};

/// Runs the job to completion: PAM, then the command or the reply.
pub fn run(
    mut pam: Transaction,
    audit: &jitsudo_audit::Audit,
    job: Job,
    received: Received,
    daemon: BorrowedFd<'_>,
    cgroup: Option<&Path>,
) -> ExitCode {
    let Received { conn, caller } = received;
    let record = job.audit_record();
    crate::audit::enable(&record.guard.log, &record.guard.required);
    let reporting = Reporting {
        conn: &conn,
        daemon,
        audit,
        record: &record,
    };
    if let Err(failure) = pam.begin(&job.pam, &reporting) {
        if let Some(failure) = failure {
            let reason = String::from_utf8_lossy(&failure.message).into_owned();
            audit.emit(&record.rejected(&reason));
            send(&conn, &ServerMessage::Error(failure), None);
        }
        return ExitCode::FAILURE;
    }
    let caller_uid = job.caller_uid;
    let mut exec = match job.then {
        Then::Run(exec) => exec,
        Then::Reply(messages) => {
            for message in &messages {
                send(&conn, message, None);
            }
            return ExitCode::SUCCESS;
        }
        Then::Edit(files) => {
            let mut record = record;
            let Ok(recording) = start_recording(&mut record, b"sudoedit", &conn, audit) else {
                return ExitCode::FAILURE;
            };
            return super::edit::run(&files, &conn, &record, audit, recording.as_ref());
        }
        Then::Review => return super::reply::relay_review(&conn, daemon),
    };
    let mut record = record;
    let Ok(recorder) = start_recording(&mut record, &exec.path, &conn, audit) else {
        return ExitCode::FAILURE;
    };
    if let Err(failure) = crate::audit::admit(audit, &record) {
        send(&conn, &ServerMessage::Error(failure), None);
        return ExitCode::FAILURE;
    }
    // A grant's use counts only now: a command refused before (its session
    // recording or its audit record failed) uses none of it.
    if exec.grant.is_some() {
        let reporting = Reporting {
            conn: &conn,
            daemon,
            audit,
            record: &record,
        };
        reporting.report(Report::Admitted);
        if let Err(reason) = super::reply::grant_admission(&conn, daemon) {
            audit.emit(&record.rejected(&reason));
            return ExitCode::FAILURE;
        }
    }
    if let Err(failure) = pam.open_session(&job.pam.target) {
        send(&conn, &ServerMessage::Error(failure), None);
        return ExitCode::FAILURE;
    }
    merge_env(&mut exec.env, pam.env());
    let place = Place {
        caller_uid,
        cwd: &record.cwd,
        cgroup,
    };
    let (status, leftovers) = run_command(&exec, &place, &conn, caller, recorder, (&record, audit));
    pam.close_session();
    pam.hang_up();
    drop(conn);
    if let Some(leftovers) = leftovers {
        leftovers.finish(HANGUP_GRACE);
    }
    status
}

/// The recording `record`'s rule asks for, of `command`; a recording that
/// cannot be made refuses the command, logged and told to the client.
fn start_recording(
    record: &mut AuditRecord,
    command: &[u8],
    conn: &OwnedFd,
    audit: &jitsudo_audit::Audit,
) -> Result<Option<super::record::Pending>, ()> {
    super::record::begin(record, command).map_err(|failure| {
        audit.emit(&record.rejected(&failure_text(&failure)));
        send(conn, &ServerMessage::Error(failure), None);
    })
}

/// Adds PAM's environment (pam_env and friends) where the command's own
/// environment does not already set the name.
fn merge_env(env: &mut Vec<serde_bytes::ByteBuf>, pam_env: Vec<Vec<u8>>) {
    let name = |entry: &[u8]| entry.split(|b| *b == b'=').next().map(<[u8]>::to_vec);
    for entry in pam_env {
        let Some(new) = name(&entry) else { continue };
        if !env.iter().any(|e| name(e).as_deref() == Some(&new[..])) {
            env.push(entry.into());
        }
    }
}

fn run_command(
    exec: &Exec,
    place: &Place<'_>,
    conn: &OwnedFd,
    caller: CallerFds,
    recorder: Option<super::record::Pending>,
    (record, audit): (&AuditRecord, &jitsudo_audit::Audit),
) -> (ExitCode, Option<Leftovers>) {
    let began = std::time::Instant::now();
    let caller_tty = recorder
        .as_ref()
        .and_then(|_| super::record::caller_tty(exec.background, &caller));
    let failed = |failure: Failure| {
        send(conn, &ServerMessage::Error(failure.clone()), None);
        audit.emit(
            &record
                .exited(ExitStatus::Code(1))
                .reason(failure_text(&failure)),
        );
        (ExitCode::FAILURE, None)
    };
    let started = match start(exec, place, caller, conn, recorder.as_ref()) {
        Ok(started) => started,
        Err(failure) => return failed(failure),
    };
    let Started {
        child,
        tree,
        sigchld,
        pty: master,
        pipes,
    } = started;
    let pty = master.is_some();
    let tapped = super::record::tap(recorder.as_ref(), master.as_ref(), pipes, caller_tty);
    let (tap, client_end) = match tapped {
        Ok(tapped) => tapped,
        Err(failure) => {
            tree.kill();
            let _ = nix::sys::wait::waitpid(child, None);
            return failed(failure);
        }
    };
    send(
        conn,
        &ServerMessage::Started { pty },
        client_end.as_ref().or(master.as_ref()),
    );
    drop(client_end);
    let conn = if exec.background {
        // `-b`: the client is gone by design; nothing ties the command to it.
        send(conn, &ServerMessage::Exited(Exit::Code(0)), None);
        None
    } else {
        conn.try_clone().ok()
    };
    let mut supervisor = Supervisor::new(child, tree, sigchld, conn, master, tap, exec.timeout);
    let exit = supervisor.wait();
    supervisor.finish_tap();
    supervisor.send(&ServerMessage::Exited(exit));
    // The client has the exit status: what is left (the exit record, the
    // PAM session's end, the cgroup) is tidying up nobody waits for.
    let _ = set_urgency(Urgency::Background);
    let status = match exit {
        Exit::Code(code) => ExitStatus::Code(code),
        Exit::Signal { signal, .. } => ExitStatus::Signal(signal),
    };
    audit.emit(&record.exited(status).run_time(began.elapsed()));
    (ExitCode::SUCCESS, Some(supervisor.leftovers()))
}

fn failure_text(failure: &Failure) -> String {
    String::from_utf8_lossy(&failure.message).into_owned()
}
