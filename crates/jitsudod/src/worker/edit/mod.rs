//! `-e`/`sudoedit`, the worker's half. A child drops to the target user
//! for good, then: opens each file as the target, walking its path one
//! component at a time without following symbolic links and refusing
//! directories the caller may write (the lessons of sudo's sudoedit CVEs:
//! a link or a caller-writable directory lets the caller point the write
//! at another file); sends the contents to the client, whose editor runs
//! as the caller; and writes back the files that changed, as the target:
//! a new file beside the old one, given its mode and owner and renamed
//! over it, or (when the directory does not allow that) rewritten in place.
//! Under a recorded rule, what the edit did to each file (its contents
//! before and after, see [`jitsudo_audit::recording::FileEdit`]) goes to
//! the session's recording, written by the child through the recording's
//! open file; the child tells the worker when that reached the cap, for the
//! worker to log it.

mod open;
mod write;

use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

use jitsudo_audit::{Audit, ExitStatus};
use jitsudo_proto::{
    decode, ClientMessage, EditFile, Exit, Failure, FrameReader, ServerMessage, MAX_EDIT_FILE,
    MAX_MESSAGE_LEN,
};
use nix::errno::Errno;
use nix::sys::stat::{umask, Mode};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{setgroups, setresgid, setresuid, ForkResult, Gid, Uid};

use crate::audit::AuditRecord;
use crate::request::job::EditJob;

use super::record::{Pending, Shared};
use super::reply::send;
use jitsudo_audit::recording::{Chunk, FileEdit, Truncation};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use open::{open, Opened};
use write::write_back;

/// The most the files of one `-e` may hold together (they travel in one
/// message).
const MAX_EDIT_TOTAL: usize = 3 * MAX_EDIT_FILE;

/// Runs the edit in a child that is the target user, reports how it ended
/// and logs it.
pub(in crate::worker) fn run(
    job: &EditJob,
    conn: &OwnedFd,
    record: &AuditRecord,
    audit: &Audit,
    recorded: Option<&Pending>,
) -> ExitCode {
    if let Err(failure) = crate::audit::admit(audit, record) {
        send(conn, &ServerMessage::Error(failure), None);
        return ExitCode::FAILURE;
    }
    let truncation = match recorded.map(|_| pipe2(OFlag::O_CLOEXEC)).transpose() {
        Ok(pipe) => pipe,
        Err(e) => {
            let text = format!("unable to record the session: {}", e.desc());
            send(conn, &ServerMessage::Error(Failure::new(text)), None);
            return ExitCode::FAILURE;
        }
    };
    // The worker is single-threaded; the child only uses what it owns and
    // ends with `exit`.
    let code = match jitsudo_sys::process::fork_single_threaded() {
        Ok(ForkResult::Child) => {
            let recording = recorded
                .zip(truncation.as_ref())
                .map(|(pending, (_, tell))| ChildRecording {
                    recording: &pending.recording,
                    tell,
                });
            std::process::exit(as_target(job, conn, recording.as_ref()))
        }
        Ok(ForkResult::Parent { child }) => loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => break code,
                Ok(WaitStatus::Signaled(..)) => break 1,
                Err(Errno::EINTR) | Ok(_) => continue,
                Err(_) => break 1,
            }
        },
        Err(e) => {
            send(
                conn,
                &ServerMessage::Error(Failure::new(format!("unable to fork: {}", e.desc()))),
                None,
            );
            1
        }
    };
    if let (Some(pending), Some((heard, tell))) = (recorded, truncation) {
        drop(tell);
        if let Some(truncation) = told_truncation(&heard) {
            pending.recording.borrow().report(truncation);
        }
    }
    audit.emit(&record.exited(ExitStatus::Code(code)));
    if code == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The recording as the edit's child writes it: through its open file,
/// telling the worker on `tell` when it reached its cap.
struct ChildRecording<'a> {
    recording: &'a Shared,
    tell: &'a OwnedFd,
}

impl ChildRecording<'_> {
    /// Records what the edit did to `file`: its content before (none for a
    /// new file) and the content written (none if it was left unchanged).
    fn keep(&self, file: &Opened, written: Option<&[u8]>) {
        let before = file.file.as_ref().map(|_| &file.content[..]);
        let edit = FileEdit::new(&file.path, before, written);
        // A file left unchanged is named with its hash only.
        let edit = match written {
            Some(_) => edit,
            None => edit.without_content(),
        };
        let chunk = Chunk::Edit(Box::new(edit));
        if let Some(truncation) = self.recording.borrow_mut().write(&chunk) {
            let mut told = [0u8; 16];
            told[..8].copy_from_slice(&truncation.max_bytes.to_le_bytes());
            told[8..].copy_from_slice(&truncation.dropped.to_le_bytes());
            let _ = nix::unistd::write(self.tell, &told);
        }
    }
}

/// What the edit's child told of the recording's cap, once it ended.
fn told_truncation(heard: &OwnedFd) -> Option<Truncation> {
    let mut told = [0u8; 16];
    let n = nix::unistd::read(heard, &mut told).ok()?;
    let number = |bytes: &[u8]| bytes.try_into().ok().map(u64::from_le_bytes);
    (n == told.len()).then_some(Truncation {
        max_bytes: number(&told[..8])?,
        dropped: number(&told[8..])?,
    })
}

/// The child: becomes the target, edits, tells the client.
fn as_target(job: &EditJob, conn: &OwnedFd, recording: Option<&ChildRecording<'_>>) -> i32 {
    let outcome = become_target(job)
        .map_err(|e| format!("unable to change to the target user: {}", e.desc()).into_bytes())
        .and_then(|()| edit(job, conn, recording));
    match outcome {
        Ok(()) => {
            send(conn, &ServerMessage::Exited(Exit::Code(0)), None);
            0
        }
        Err(message) => {
            send(conn, &ServerMessage::Error(Failure::new(message)), None);
            1
        }
    }
}

fn become_target(job: &EditJob) -> nix::Result<()> {
    let groups: Vec<Gid> = job.groups.iter().copied().map(Gid::from_raw).collect();
    setgroups(&groups)?;
    let gid = Gid::from_raw(job.gid);
    setresgid(gid, gid, gid)?;
    let uid = Uid::from_raw(job.uid);
    setresuid(uid, uid, uid)?;
    umask(Mode::from_bits_truncate(job.umask));
    Ok(())
}

fn edit(
    job: &EditJob,
    conn: &OwnedFd,
    recording: Option<&ChildRecording<'_>>,
) -> Result<(), Vec<u8>> {
    let opened = job
        .files
        .iter()
        .map(|path| open(path, job))
        .collect::<Result<Vec<_>, _>>()?;
    if opened.iter().map(|o| o.content.len()).sum::<usize>() > MAX_EDIT_TOTAL {
        return Err(format!(
            "the files are too large to edit together (over {MAX_EDIT_TOTAL} bytes)"
        )
        .into_bytes());
    }
    let files = opened
        .iter()
        .map(|o| EditFile {
            path: o.path.clone().into(),
            content: o.content.clone().into(),
        })
        .collect();
    send(conn, &ServerMessage::Edit(files), None);
    let edited = receive_edited(conn, opened.len())?;
    for (file, content) in opened.iter().zip(edited) {
        let changed = content.filter(|content| content[..] != file.content[..]);
        if let Some(content) = &changed {
            write_back(file, content)?;
        }
        if let Some(recording) = recording {
            recording.keep(file, changed.as_deref().map(|c| &c[..]));
        }
    }
    Ok(())
}

/// Waits for the client's [`ClientMessage::Edited`]; signals relayed
/// meanwhile are ignored (there is no command to deliver them to).
fn receive_edited(
    conn: &OwnedFd,
    count: usize,
) -> Result<Vec<Option<serde_bytes::ByteBuf>>, Vec<u8>> {
    let gone = || b"the client went away; nothing was written".to_vec();
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    loop {
        let frame = reader
            .read_frame(conn.as_fd())
            .map_err(|_| gone())?
            .ok_or_else(gone)?;
        match decode::<ClientMessage>(&frame) {
            Ok(ClientMessage::Edited(edited)) if edited.len() == count => return Ok(edited),
            Ok(ClientMessage::Signal(_) | ClientMessage::Resume { .. }) => {}
            _ => return Err(b"protocol error: unexpected message while editing".to_vec()),
        }
    }
}
