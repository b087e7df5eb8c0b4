//! Asking jitsudod: one request on a fresh connection, its answer back
//! (answering PAM's prompts on the terminal meanwhile).

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::ExitCode;

use jitsudo_proto::{
    decode, encode, encode_answer, send_frame, ClientMessage, FrameReader, Hello, PassedFds,
    Request, ServerMessage, MAX_MESSAGE_LEN,
};

use crate::error::Error;
use crate::prompt;

/// Sends `request` (with this process's working directory when its layout
/// wants one) and returns the daemon's first answer after the welcome.
pub fn ask(socket: &Path, request: Request) -> Result<ServerMessage, Error> {
    let conn = jitsudo_proto::connect(socket)?;
    let cwd = OwnedFd::from(std::fs::File::open(".")?);
    let layout = request.fd_layout();
    let passed = PassedFds {
        stdio: [None, None, None],
        cwd: Some(cwd.as_fd()),
        kept: Vec::new(),
    }
    .matching(layout);
    let mut frames = encode(&ClientMessage::Hello(Hello::current()))?;
    frames.extend(encode(&ClientMessage::Request(request))?);
    send_frame(conn.as_fd(), &frames, &passed.raw())?;
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    loop {
        let frame = reader.read_frame(conn.as_fd())?.ok_or(Error::Closed)?;
        match decode::<ServerMessage>(&frame)? {
            ServerMessage::Welcome { .. } => continue,
            ServerMessage::Prompt { text, echo } => {
                // The answer is zeroed when dropped; the frame holding it too.
                let answer = prompt::ask(&text, echo);
                let frame = encode_answer(answer.as_deref().map(|a| &a[..]))?;
                send_frame(conn.as_fd(), &frame, &[])?;
            }
            ServerMessage::Notice { text, .. } => {
                let _ = std::io::stderr().write_all(&text);
                eprintln!();
            }
            ServerMessage::Warning(text) => {
                eprintln!("jitsudoctl: {}", String::from_utf8_lossy(&text));
            }
            answer => return Ok(answer),
        }
    }
}

/// Prints a refusal or error from the daemon as it is; returns its status.
pub fn print_failure(answer: Result<ServerMessage, Error>, socket: &Path) -> ExitCode {
    match answer {
        Ok(ServerMessage::Error(failure)) => {
            let _ = std::io::stderr().write_all(&failure.message);
            eprintln!();
            ExitCode::from(failure.status)
        }
        Ok(other) => {
            eprintln!("jitsudoctl: unexpected answer from jitsudod: {other:?}");
            ExitCode::FAILURE
        }
        Err(e @ Error::Connect(_)) => {
            eprintln!("jitsudoctl: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("jitsudoctl: {}: {e}", socket.display());
            ExitCode::FAILURE
        }
    }
}

/// `policy reload`.
pub fn reload(socket: &Path) -> ExitCode {
    match ask(socket, Request::ReloadPolicy) {
        Ok(ServerMessage::PolicyReloaded) => {
            println!("policy reloaded");
            ExitCode::SUCCESS
        }
        other => print_failure(other, socket),
    }
}
