//! Session recording for rules with `record = true`: the recording is made
//! before `exec.accept` is logged (so the event names it) and the command
//! does not start without it; once the command has a pty, [`Tap`] copies
//! its terminal through the worker.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

use jitsudo_audit::recording::{new_id, Recorder};
use jitsudo_proto::Failure;
use serde_json::json;

use super::received::CallerFds;
use super::spawn::caller_terminal;
use super::tap::Tap;
use crate::audit::AuditRecord;
use crate::request::job::Exec;

/// A recording made, waiting for the command's pty.
pub(super) struct Pending {
    recorder: Recorder,
    input: bool,
}

/// Makes the recording `record`'s rule asks for, if any, and names it in
/// the record. Without it the command must not run.
pub(super) fn begin(record: &mut AuditRecord, exec: &Exec) -> Result<Option<Pending>, Failure> {
    let Some(recording) = record.guard.recording else {
        return Ok(None);
    };
    let unable = |e: std::io::Error| {
        Failure::new(format!(
            "unable to record the session ({e}), so the command was not run: ask an \
             administrator to check {}",
            crate::audit::session_dir().display()
        ))
    };
    let id = new_id().map_err(unable)?;
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |t| t.as_secs_f64());
    let header = json!({
        "start": started,
        "user": String::from_utf8_lossy(&record.user),
        "uid": record.uid,
        "run_as": String::from_utf8_lossy(&record.run_as),
        "command": String::from_utf8_lossy(&exec.path),
        "rule": record.rule,
        "input": recording.input,
    });
    let recorder = Recorder::create(
        &crate::audit::session_dir(),
        &id,
        header,
        recording.max_bytes,
    )
    .map_err(unable)?;
    record.recording = Some(id);
    Ok(Some(Pending {
        recorder,
        input: recording.input,
    }))
}

/// A copy of the caller's terminal, whose size a recorded pty follows.
pub(super) fn caller_tty(exec: &Exec, caller: &CallerFds) -> Option<OwnedFd> {
    if exec.background {
        return None;
    }
    caller_terminal(caller).and_then(|fd| fd.try_clone_to_owned().ok())
}

/// The tap of a recorded command's pty `master`, and the end the client
/// gets in its place; nothing for an unrecorded command or one without a
/// pty (whose output does not pass through jitsudo).
pub(super) fn tap(
    pending: Option<Pending>,
    master: Option<&OwnedFd>,
    caller_tty: Option<OwnedFd>,
) -> Result<(Option<Tap>, Option<OwnedFd>), Failure> {
    let (Some(pending), Some(master)) = (pending, master) else {
        return Ok((None, None));
    };
    let (tap, end) = Tap::new(master.as_fd(), caller_tty, pending.recorder, pending.input)
        .map_err(|e| Failure::new(format!("unable to record the session: {e}")))?;
    Ok((Some(tap), Some(end)))
}
