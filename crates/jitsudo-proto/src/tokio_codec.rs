//! The same frames over a non-blocking tokio [`UnixStream`] (feature
//! `tokio`, the daemon's side; the client and the worker use the blocking
//! [`FrameReader::read_frame`] and [`send_frame`](crate::send_frame)).
//!
//! Reading keeps every bound of [`FrameReader`]: the announced length is
//! checked before the body is read, the buffer grows to the frame and no
//! further, and at most [`MAX_FDS_PER_CONNECTION`](crate::MAX_FDS_PER_CONNECTION)
//! descriptors are accepted. Deadlines are the caller's (wrap a call in
//! `tokio::time::timeout`): a peer that sends nothing holds only its task.

use std::io::ErrorKind;
use std::os::fd::AsFd;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::Interest;
use tokio::net::UnixStream;

use crate::{decode, encode, FrameReader, ProtoError};

/// Reads and decodes the next message, waiting for the socket to be
/// readable as often as needed. The end of the stream between frames is
/// [`ProtoError::Closed`], inside a frame [`ProtoError::Truncated`].
pub async fn read_message<T: DeserializeOwned>(
    stream: &UnixStream,
    reader: &mut FrameReader,
) -> Result<T, ProtoError> {
    loop {
        if let Some(frame) = reader.next_frame()? {
            return decode(&frame);
        }
        stream.readable().await?;
        let filled = stream.try_io(Interest::READABLE, || match reader.fill(stream.as_fd()) {
            Err(ProtoError::Io(e)) => Err(e),
            other => Ok(other),
        });
        match filled {
            Ok(Ok(0)) if reader.buffered() > 0 => return Err(ProtoError::Truncated),
            Ok(Ok(0)) => return Err(ProtoError::Closed),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes a whole encoded frame (no descriptors), waiting for room in the
/// socket as often as needed.
pub async fn write_frame(stream: &UnixStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Encodes `message` and writes it as one frame.
pub async fn write_message<T: Serialize>(
    stream: &UnixStream,
    message: &T,
) -> Result<(), ProtoError> {
    let frame = encode(message)?;
    Ok(write_frame(stream, &frame).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{send_frame, ClientMessage, MAX_MESSAGE_LEN};
    use std::io::Write;
    use std::os::fd::AsRawFd;

    fn pair() -> (std::os::unix::net::UnixStream, UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        (a, UnixStream::from_std(b).unwrap())
    }

    #[tokio::test]
    async fn messages_and_fds_arrive_then_closed() {
        let (a, b) = pair();
        let (extra, _keep) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut bytes = encode(&ClientMessage::Signal(2)).unwrap();
        bytes.extend(encode(&ClientMessage::Resume { foreground: true }).unwrap());
        send_frame(a.as_fd(), &bytes, &[extra.as_raw_fd()]).unwrap();
        drop(a);
        let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
        let first: ClientMessage = read_message(&b, &mut reader).await.unwrap();
        assert_eq!(first, ClientMessage::Signal(2));
        assert_eq!(reader.take_fds().len(), 1);
        let second: ClientMessage = read_message(&b, &mut reader).await.unwrap();
        assert_eq!(second, ClientMessage::Resume { foreground: true });
        let end = read_message::<ClientMessage>(&b, &mut reader).await;
        assert!(matches!(end, Err(ProtoError::Closed)), "{end:?}");
    }

    #[tokio::test]
    async fn an_oversized_prefix_is_refused_before_the_body() {
        let (mut a, b) = pair();
        a.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2]).unwrap();
        let mut reader = FrameReader::new(1024);
        let r = read_message::<ClientMessage>(&b, &mut reader).await;
        assert!(matches!(r, Err(ProtoError::TooLarge { .. })), "{r:?}");
        assert!(reader.buffered() <= 8);
    }

    #[tokio::test]
    async fn a_frame_cut_short_is_truncated() {
        let (mut a, b) = pair();
        a.write_all(&[0, 0, 0, 10, 1, 2, 3]).unwrap();
        drop(a);
        let mut reader = FrameReader::new(1024);
        let r = read_message::<ClientMessage>(&b, &mut reader).await;
        assert!(matches!(r, Err(ProtoError::Truncated)), "{r:?}");
    }

    #[tokio::test]
    async fn a_large_message_is_written_whole_while_the_peer_reads() {
        let (a, b) = pair();
        let message = ClientMessage::Signal(15);
        let payload = vec![7u8; 3 * 1024 * 1024];
        let reading = std::thread::spawn(move || {
            let mut reader = FrameReader::new(MAX_MESSAGE_LEN);
            let big = reader.read_frame(a.as_fd()).unwrap().unwrap();
            let small = reader.read_frame(a.as_fd()).unwrap().unwrap();
            (big, decode::<ClientMessage>(&small).unwrap())
        });
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        write_frame(&b, &frame).await.unwrap();
        write_message(&b, &message).await.unwrap();
        let (big, small) = reading.join().unwrap();
        assert_eq!(big, payload);
        assert_eq!(small, message);
    }
}
