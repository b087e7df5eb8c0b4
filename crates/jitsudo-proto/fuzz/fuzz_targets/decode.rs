//! Feeds arbitrary bytes to the daemon's side of a connection, as a hostile
//! local peer can: the first byte picks the frame limit (so the too-large
//! path is reached), the rest is written to a socket and split into frames
//! by `FrameReader`, and every frame is decoded as a client and as a server
//! message. Checks: no panic, no frame above the limit, and what decodes
//! re-encodes to a frame no longer than the input that decodes to the same
//! message (the encoding is canonical).

#![no_main]

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use jitsudo_proto::{decode, encode, ClientMessage, FrameReader, ServerMessage};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

/// Decodes `payload` as `T`; if that works, the message must survive an
/// encode/decode round trip and its canonical frame must not be longer.
fn round_trip<T>(payload: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(message) = decode::<T>(payload) else {
        return;
    };
    let frame = encode(&message).expect("a decoded message encodes");
    assert!(frame.len() - 4 <= payload.len(), "{message:?} grew");
    let again: T = decode(&frame[4..]).expect("an encoded message decodes");
    assert_eq!(again, message);
}

fuzz_target!(|data: &[u8]| {
    let Some((&limit, stream)) = data.split_first() else {
        return;
    };
    let max_len = usize::from(limit) * 16;
    let (mut peer, daemon) = UnixStream::pair().expect("socketpair");
    // libFuzzer's inputs (4 KiB by default) fit in the socket buffer.
    peer.write_all(stream).expect("write the input");
    drop(peer);
    let mut reader = FrameReader::new(max_len);
    while let Ok(Some(frame)) = reader.read_frame(daemon.as_fd()) {
        assert!(frame.len() <= max_len);
        round_trip::<ClientMessage>(&frame);
        round_trip::<ServerMessage>(&frame);
    }
    assert!(reader.take_fds().is_empty());
});
