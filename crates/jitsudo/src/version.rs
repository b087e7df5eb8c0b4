//! `jitsudo -V`: the client's version, then the daemon's and the hash of the
//! policy in force (as `sudo -V` prints its plugins' versions).

use std::os::fd::AsFd;
use std::path::Path;

use jitsudo_proto::{
    decode, encode, send_frame, ClientMessage, DaemonStatus, FrameReader, Hello, ProtoError,
    Request, ServerMessage, MAX_MESSAGE_LEN,
};

use jitsudo::error::Error;

/// Prints the versions; an unreachable daemon is reported on stderr with
/// what to do (the exit status stays 0, as sudo's -V).
pub fn print(socket: &Path) {
    println!("jitsudo version {}", env!("CARGO_PKG_VERSION"));
    match ask_status(socket) {
        Ok(status) => {
            println!(
                "jitsudod version {} (protocol {})",
                status.version, status.protocol
            );
            println!("jitsudod policy hash {}", status.policy_hash);
        }
        Err(reason) => eprintln!("jitsudo: {reason}"),
    }
}

/// Asks the daemon for its status on a fresh connection.
fn ask_status(socket: &Path) -> Result<DaemonStatus, Error> {
    let conn = jitsudo_proto::connect(socket).map_err(Error::Connect)?;
    let mut frames = encode(&ClientMessage::Hello(Hello::current())).map_err(Error::NoAnswer)?;
    frames.extend(encode(&ClientMessage::Request(Request::Status)).map_err(Error::NoAnswer)?);
    send_frame(conn.as_fd(), &frames, &[]).map_err(|e| Error::NoAnswer(e.into()))?;
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    loop {
        let frame = reader.read_frame(conn.as_fd()).map_err(Error::NoAnswer)?;
        let frame = frame.ok_or(Error::NoAnswer(ProtoError::Closed))?;
        match decode::<ServerMessage>(&frame).map_err(Error::NoAnswer)? {
            ServerMessage::Welcome { .. } => continue,
            ServerMessage::Status(status) => return Ok(*status),
            ServerMessage::Error(failure) => {
                return Err(Error::Refused(
                    String::from_utf8_lossy(&failure.message).into_owned(),
                ))
            }
            other => return Err(Error::UnexpectedAnswer(format!("{other:?}"))),
        }
    }
}
