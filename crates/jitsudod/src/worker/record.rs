//! Session recording for rules with `record = true`: the recording is made
//! before `exec.accept` is logged (so the event names it) and the command
//! does not start without it. A command's pty is copied through the worker
//! by [`Tap`], its standard streams that are no terminal by [`Pipes`]; a
//! `-e` edit records what it changed to each file (see `edit`). The write
//! that reaches the cap logs `record.truncated`.

use std::cell::RefCell;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use jitsudo_audit::recording::{new_id, Chunk, Recorder, Truncation};
use jitsudo_audit::{Event, EventKind, FieldName};
use jitsudo_proto::Failure;
use nix::poll::PollFlags;
use serde_json::json;

use super::pipes::Pipes;
use super::received::CallerFds;
use super::spawn::caller_terminal;
use super::tap::{End, Tap};
use crate::audit::AuditRecord;

/// A recording being written, and the `record.truncated` event it logs
/// when it reaches its cap.
pub(super) struct Recording {
    recorder: Recorder,
    id: String,
    truncated: Event,
}

/// A recording shared by the copies that feed it (the worker is
/// single-threaded).
pub(super) type Shared = Rc<RefCell<Recording>>;

impl Recording {
    /// Appends `chunk`; the write that reaches the cap is logged.
    pub(super) fn keep(&mut self, chunk: &Chunk) {
        if let Some(truncation) = self.write(chunk) {
            self.report(truncation);
        }
    }

    /// Appends `chunk`, telling whether that reached the cap (for a
    /// process that cannot log, which passes it on to [`Self::report`]).
    pub(super) fn write(&mut self, chunk: &Chunk) -> Option<Truncation> {
        self.recorder.write(chunk)
    }

    /// Logs `record.truncated` for `truncation`.
    pub(super) fn report(&self, truncation: Truncation) {
        let mut event = self.truncated.clone().reason(format!(
            "session recording {} reached its cap of {} bytes; {} bytes of the session \
             were left out, and the rest of it is not recorded",
            self.id, truncation.max_bytes, truncation.dropped
        ));
        let fields = [
            ("JITSUDO_RECORD_MAX_BYTES", truncation.max_bytes),
            ("JITSUDO_RECORD_DROPPED", truncation.dropped),
        ];
        for (name, value) in fields {
            if let Ok(name) = FieldName::new(name) {
                event = event.field(name, value.to_string());
            }
        }
        crate::audit::sinks().emit(&event);
    }
}

/// A recording made, waiting for the command's pty or pipes.
pub(super) struct Pending {
    pub(super) recording: Shared,
    pub(super) input: bool,
}

/// Makes the recording `record`'s rule asks for, if any, of `command`
/// (the executable, or `sudoedit`), and names it in the record. Without it
/// the command must not run.
pub(super) fn begin(record: &mut AuditRecord, command: &[u8]) -> Result<Option<Pending>, Failure> {
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
        "command": String::from_utf8_lossy(command),
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
    record.recording = Some(id.clone());
    let truncated = record.event(EventKind::RecordTruncated);
    Ok(Some(Pending {
        recording: Rc::new(RefCell::new(Recording {
            recorder,
            id,
            truncated,
        })),
        input: recording.input,
    }))
}

/// A copy of the caller's terminal, whose size a recorded pty follows.
pub(super) fn caller_tty(background: bool, caller: &CallerFds) -> Option<OwnedFd> {
    if background {
        return None;
    }
    caller_terminal(caller).and_then(|fd| fd.try_clone_to_owned().ok())
}

/// The copies of a recorded command's pty and pipes, and the end the
/// client gets in place of the pty's master.
pub(super) fn tap(
    pending: Option<&Pending>,
    master: Option<&OwnedFd>,
    pipes: Option<Pipes>,
    caller_tty: Option<OwnedFd>,
) -> Result<(Option<Taps>, Option<OwnedFd>), Failure> {
    let Some(pending) = pending else {
        return Ok((None, None));
    };
    let (pty, end) = match master {
        Some(master) => {
            let (tap, end) = Tap::new(
                master.as_fd(),
                caller_tty,
                pending.recording.clone(),
                pending.input,
            )
            .map_err(|e| Failure::new(format!("unable to record the session: {e}")))?;
            (Some(tap), Some(end))
        }
        None => (None, None),
    };
    Ok((Some(Taps { pty, pipes }), end))
}

/// A recorded command's copies: its pty's and its pipes'.
pub(super) struct Taps {
    pty: Option<Tap>,
    pipes: Option<Pipes>,
}

/// Which copy, and which of its descriptors, a poll result belongs to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Which {
    Pty(End),
    Pipe(usize, bool),
}

impl Taps {
    /// The descriptors to poll and what for.
    pub(super) fn interest(&self) -> Vec<(Which, BorrowedFd<'_>, PollFlags)> {
        let mut wanted = Vec::new();
        if let Some(pty) = &self.pty {
            let ends = pty.interest().into_iter();
            wanted.extend(ends.map(|(end, fd, flags)| (Which::Pty(end), fd, flags)));
        }
        if let Some(pipes) = &self.pipes {
            let ends = pipes.interest().into_iter();
            wanted.extend(ends.map(|(i, to, fd, flags)| (Which::Pipe(i, to), fd, flags)));
        }
        wanted
    }

    /// Moves what `which` has ready.
    pub(super) fn ready(&mut self, which: Which, events: PollFlags) {
        match (which, &mut self.pty, &mut self.pipes) {
            (Which::Pty(end), Some(pty), _) => pty.ready(end, events),
            (Which::Pipe(i, to), _, Some(pipes)) => {
                pipes.ready(i, to, events);
            }
            _ => {}
        }
    }

    /// The caller's terminal changed size.
    pub(super) fn resize(&mut self) {
        if let Some(pty) = &mut self.pty {
            pty.resize();
        }
    }

    /// The command ended: what it left on its pty and pipes reaches the
    /// recording and the caller, until `deadline` for the pty and while
    /// the pipes keep moving.
    pub(super) fn finish(&mut self, deadline: Instant) {
        if let Some(pty) = &mut self.pty {
            pty.finish(deadline);
        }
        if let Some(pipes) = &mut self.pipes {
            pipes.finish();
        }
    }
}
