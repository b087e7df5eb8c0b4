//! The daemon's side of the wire before a hand-over: the hello and the
//! request read with their descriptors, replies written with a deadline.
//! The framing itself is `jitsudo_proto::tokio_codec`.

use std::os::fd::OwnedFd;
use std::time::Duration;

use jitsudo_proto::tokio_codec::{read_message, write_frame, write_message};
use jitsudo_proto::{
    encode, ClientMessage, FrameReader, Request, ServerMessage, MAX_MESSAGE_LEN, PROTOCOL_MAGIC,
    PROTOCOL_VERSION,
};

use crate::error::Error;

/// How long a client may take to read the daemon's replies.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes the replies, giving up on a client that does not read them
/// within [`SEND_TIMEOUT`] (it must not hold a daemon task).
pub(super) async fn send_replies(stream: &tokio::net::UnixStream, messages: &[ServerMessage]) {
    let all = async {
        for message in messages {
            write_message(stream, message).await?;
        }
        Ok::<(), jitsudo_proto::ProtoError>(())
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, all).await;
}

/// Writes one message as a frame, giving up after [`SEND_TIMEOUT`].
pub(super) async fn send_message<T: serde::Serialize>(
    stream: &tokio::net::UnixStream,
    message: &T,
) {
    if let Ok(frame) = encode(message) {
        let _ = tokio::time::timeout(SEND_TIMEOUT, write_frame(stream, &frame)).await;
    }
}

/// Reads the hello (answering it) and the request with its descriptors.
pub(super) async fn read_request(
    stream: &tokio::net::UnixStream,
) -> Result<(Request, Vec<OwnedFd>), Error> {
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    match read_message::<ClientMessage>(stream, &mut reader).await? {
        ClientMessage::Hello(hello) if hello.magic != PROTOCOL_MAGIC => {
            return Err(Error::NotAClient)
        }
        ClientMessage::Hello(hello) if hello.version != PROTOCOL_VERSION => {
            return Err(Error::Version(hello.version))
        }
        ClientMessage::Hello(_) => {}
        _ => return Err(Error::Expected("hello")),
    }
    let welcome = encode(&ServerMessage::Welcome {
        version: PROTOCOL_VERSION,
    })?;
    stream.try_write(&welcome).map_err(Error::Welcome)?;
    let ClientMessage::Request(request) =
        read_message::<ClientMessage>(stream, &mut reader).await?
    else {
        return Err(Error::Expected("request"));
    };
    if reader.buffered() > 0 {
        return Err(Error::TrailingData);
    }
    Ok((request, reader.take_fds()))
}
