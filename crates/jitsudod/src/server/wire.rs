//! The daemon's side of the wire before a hand-over: the hello and the
//! request read with their descriptors, replies written with a deadline.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use jitsudo_proto::{
    decode, encode, ClientMessage, FrameReader, ProtoError, Request, ServerMessage,
    MAX_MESSAGE_LEN, PROTOCOL_MAGIC, PROTOCOL_VERSION,
};
use tokio::io::Interest;

/// How long a client may take to read the daemon's replies.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes the replies, giving up on a client that does not read them
/// within [`SEND_TIMEOUT`] (it must not hold a daemon task).
pub(super) async fn send_replies(stream: &tokio::net::UnixStream, messages: &[ServerMessage]) {
    let all = async {
        for message in messages {
            let frame = encode(message).map_err(std::io::Error::other)?;
            write_all(stream, &frame).await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, all).await;
}

/// Writes one message as a frame, giving up after [`SEND_TIMEOUT`].
pub(super) async fn send_message<T: serde::Serialize>(
    stream: &tokio::net::UnixStream,
    message: &T,
) {
    if let Ok(frame) = encode(message) {
        let _ = tokio::time::timeout(SEND_TIMEOUT, write_all(stream, &frame)).await;
    }
}

async fn write_all(stream: &tokio::net::UnixStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads the hello (answering it) and the request with its descriptors.
pub(super) async fn read_request(
    stream: &tokio::net::UnixStream,
) -> Result<(Request, Vec<OwnedFd>), String> {
    let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
    match next_message::<ClientMessage>(stream, &mut reader).await? {
        ClientMessage::Hello(hello) if hello.magic != PROTOCOL_MAGIC => {
            return Err("not a jitsudo client".into())
        }
        ClientMessage::Hello(hello) if hello.version != PROTOCOL_VERSION => {
            return Err(format!(
                "unsupported protocol version {} (jitsudod speaks {PROTOCOL_VERSION})",
                hello.version
            ))
        }
        ClientMessage::Hello(_) => {}
        _ => return Err("expected hello".into()),
    }
    let welcome = encode(&ServerMessage::Welcome {
        version: PROTOCOL_VERSION,
    })
    .map_err(|e| e.to_string())?;
    stream
        .try_write(&welcome)
        .map_err(|e| format!("sending welcome: {e}"))?;
    let ClientMessage::Request(request) =
        next_message::<ClientMessage>(stream, &mut reader).await?
    else {
        return Err("expected request".into());
    };
    if reader.buffered() > 0 {
        return Err("unexpected data after the request".into());
    }
    Ok((request, reader.take_fds()))
}

pub(super) async fn next_message<T: serde::de::DeserializeOwned>(
    stream: &tokio::net::UnixStream,
    reader: &mut FrameReader,
) -> Result<T, String> {
    loop {
        if let Some(frame) = reader.next_frame().map_err(|e| e.to_string())? {
            return decode(&frame).map_err(|e| e.to_string());
        }
        stream.readable().await.map_err(|e| e.to_string())?;
        let filled = stream.try_io(Interest::READABLE, || match reader.fill(stream.as_fd()) {
            Err(ProtoError::Io(e)) => Err(e),
            other => Ok(other),
        });
        match filled {
            Ok(Ok(0)) if reader.buffered() > 0 => return Err(ProtoError::Truncated.to_string()),
            Ok(Ok(0)) => return Err("connection closed".into()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}
