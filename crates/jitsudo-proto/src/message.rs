//! The messages exchanged on a jitsudo connection.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::ProtoError;

/// Magic bytes that open every [`Hello`], so a stray connection from another
/// program is recognised at once.
pub const PROTOCOL_MAGIC: [u8; 8] = *b"jitsudo\0";

/// The protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest payload accepted in one frame.
///
/// A request carries the caller's argv and environment, which the kernel
/// caps at `ARG_MAX` (2 MiB with the default 8 MiB stack) plus pointers; the
/// limit leaves room for that and the encoding overhead, and no more.
pub const MAX_MESSAGE_LEN: usize = 4 * 1024 * 1024 + 64 * 1024;

/// Signals a client relays to its command (as sudo relays them) with
/// [`ClientMessage::Signal`]; a worker delivers no others.
pub const RELAYED_SIGNALS: [nix::sys::signal::Signal; 8] = {
    use nix::sys::signal::Signal::*;
    [
        SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
    ]
};

/// Messages sent by the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message of every connection.
    Hello(Hello),
    /// What the caller asks for; stdio and cwd descriptors are attached.
    Request(Box<Request>),
    /// Deliver this signal number to the running command.
    Signal(i32),
    /// The client was continued after a suspension; continue the command.
    Resume,
    /// The answer to a [`ServerMessage::Prompt`]; `None` when the client
    /// cannot ask (no terminal, interrupted). Holds a secret: receivers
    /// zero it after use.
    Answer(Option<ByteBuf>),
}

/// Version handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`PROTOCOL_MAGIC`].
    pub magic: [u8; 8],
    /// The client's [`PROTOCOL_VERSION`].
    pub version: u32,
}

impl Hello {
    /// The hello this build sends.
    pub fn current() -> Self {
        Hello {
            magic: PROTOCOL_MAGIC,
            version: PROTOCOL_VERSION,
        }
    }
}

/// How the command line is turned into a command (`-s`, `-i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShellMode {
    /// Run `argv` as given.
    Direct,
    /// `-s`: run the caller's `$SHELL`, with `-c 'args'` when args are given.
    Shell,
    /// `-i`: run the target's login shell as a login shell in its home.
    Login,
}

/// Which of the caller's environment variables to keep (`-E`, `--preserve-env`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PreserveEnv {
    /// `env_reset`: keep only what the policy's `env_keep` names.
    None,
    /// `-E`: keep everything that is not dangerous.
    All,
    /// `--preserve-env=A,B`: keep these names in addition to `env_keep`.
    List(Vec<ByteBuf>),
}

/// What the caller wants besides running a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Run `argv` (or a shell).
    Run,
    /// `-l [command]`: list the caller's rules, or check one command.
    List,
    /// `-v`: validate (authenticate and refresh cached credentials).
    Validate,
    /// `-k` without a command: invalidate cached credentials.
    Invalidate,
    /// `-K`: remove cached credentials.
    Remove,
    /// `jitsudoctl policy reload` (root only): re-read the policy now and
    /// report its errors.
    ReloadPolicy,
}

/// One request, as the client states it. Everything here is caller input and
/// untrusted: identities come from the kernel, never from this message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// What to do.
    pub action: Action,
    /// Command and arguments exactly as typed (bytes, not UTF-8).
    pub argv: Vec<ByteBuf>,
    /// The caller's environment, `NAME=value` entries.
    pub env: Vec<ByteBuf>,
    /// `VAR=value` assignments given before the command.
    pub assignments: Vec<ByteBuf>,
    /// `-u`: target user name or `#uid`.
    pub user: Option<ByteBuf>,
    /// `-g`: target group name or `#gid`.
    pub group: Option<ByteBuf>,
    /// `-s` / `-i`.
    pub shell: ShellMode,
    /// `-E` / `--preserve-env`.
    pub preserve_env: PreserveEnv,
    /// `-D`: directory to run the command in.
    pub chdir: Option<ByteBuf>,
    /// `-n`: never prompt.
    pub non_interactive: bool,
    /// `-b`: run in the background.
    pub background: bool,
    /// `-k command`: ignore cached credentials for this command.
    pub reset_timestamp: bool,
    /// `-p`: the password prompt, with sudo's `%` escapes unexpanded.
    pub prompt: Option<ByteBuf>,
    /// `-S`: read passwords from standard input.
    pub stdin_password: bool,
    /// `-U`: whose privileges `-l` lists (root only).
    pub list_user: Option<ByteBuf>,
    /// Signals the caller had ignored when the client started (bit n-1 for
    /// signal n); they stay ignored in the command, as under sudo.
    pub ignored_signals: u64,
    /// Which of the caller's fds 0, 1, 2 are attached (a closed one is not).
    /// The attached ones come first, in order, followed by an `O_PATH`
    /// descriptor of the caller's working directory.
    pub stdio: [bool; 3],
}

impl Request {
    /// How many descriptors must accompany this request.
    pub fn expected_fds(&self) -> usize {
        self.stdio.iter().filter(|present| **present).count() + 1
    }
}

/// Messages sent by the daemon or the worker that took over the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMessage {
    /// Handshake accepted.
    Welcome {
        /// The daemon's protocol version.
        version: u32,
    },
    /// The request failed; print the message and exit with the status.
    Error(Failure),
    /// Output for the client's stdout (e.g. `-l`).
    Output(ByteBuf),
    /// A diagnostic the client prints as `jitsudo: <text>` before going on.
    Warning(ByteBuf),
    /// A line the client prints as it is (a refusal, `Sorry, try again.`,
    /// PAM's own messages): on stderr, or on the terminal when
    /// `prefer_tty` and there is one.
    Notice {
        /// The line.
        text: ByteBuf,
        /// Whether the terminal is the better place for it.
        prefer_tty: bool,
    },
    /// Ask the user; answer with [`ClientMessage::Answer`].
    Prompt {
        /// The prompt text.
        text: ByteBuf,
        /// Whether the answer may be echoed.
        echo: bool,
    },
    /// The command runs. With `pty`, the pty master is attached.
    Started {
        /// Whether a pty master descriptor is attached.
        pty: bool,
    },
    /// The command was stopped by this signal (job control).
    Suspended {
        /// The stop signal.
        signal: i32,
    },
    /// The command ended.
    Exited(Exit),
}

/// A refusal or error, reported to the user as `jitsudo: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Message bytes (may embed non-UTF-8 command names verbatim).
    pub message: ByteBuf,
    /// Exit status for the client.
    pub status: u8,
}

impl Failure {
    /// A failure with exit status 1, as sudo uses for its own errors.
    pub fn new(message: impl Into<Vec<u8>>) -> Self {
        Failure {
            message: ByteBuf::from(message.into()),
            status: 1,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exit {
    /// Normal exit with this status.
    Code(i32),
    /// Killed by this signal.
    Signal {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
}

/// Encodes a message as a complete frame (length prefix included).
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, ProtoError> {
    let mut frame = postcard::to_extend(message, vec![0u8; 4])?;
    let len = frame.len() - 4;
    if len > MAX_MESSAGE_LEN {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_MESSAGE_LEN,
        });
    }
    let prefix = u32::try_from(len).map_err(|_| ProtoError::TooLarge {
        len,
        max: MAX_MESSAGE_LEN,
    })?;
    frame[..4].copy_from_slice(&prefix.to_be_bytes());
    Ok(frame)
}

/// Decodes one payload; trailing bytes are an error.
pub fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, ProtoError> {
    let (message, rest) = postcard::take_from_bytes(payload)?;
    if rest.is_empty() {
        Ok(message)
    } else {
        Err(ProtoError::Codec(postcard::Error::DeserializeBadEncoding))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_request() -> Request {
        Request {
            action: Action::Run,
            argv: vec![
                ByteBuf::from(b"id".to_vec()),
                ByteBuf::from(vec![0xff, 0, b'x']),
            ],
            env: vec![ByteBuf::from(b"A=\xfe".to_vec())],
            assignments: vec![],
            user: Some(ByteBuf::from(b"#0".to_vec())),
            group: None,
            shell: ShellMode::Direct,
            preserve_env: PreserveEnv::List(vec![ByteBuf::from(b"A".to_vec())]),
            chdir: None,
            non_interactive: true,
            background: false,
            reset_timestamp: false,
            prompt: None,
            stdin_password: false,
            list_user: None,
            ignored_signals: 0,
            stdio: [true, false, true],
        }
    }

    #[test]
    fn request_round_trips_with_binary_bytes() {
        let request = sample_request();
        let frame = encode(&ClientMessage::Request(Box::new(request.clone()))).unwrap();
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
        let back: ClientMessage = decode(&frame[4..]).unwrap();
        assert_eq!(back, ClientMessage::Request(Box::new(request)));
    }

    #[test]
    fn expected_fds_counts_present_stdio_and_cwd() {
        assert_eq!(sample_request().expected_fds(), 3);
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let mut frame = encode(&ClientMessage::Signal(15)).unwrap();
        frame.push(0);
        assert!(decode::<ClientMessage>(&frame[4..]).is_err());
    }

    #[test]
    fn garbage_payload_is_rejected() {
        assert!(decode::<ClientMessage>(&[0xff, 0xff, 0xff]).is_err());
        assert!(decode::<ServerMessage>(&[]).is_err());
    }

    #[test]
    fn oversized_message_is_refused_at_encoding() {
        let mut request = sample_request();
        request.argv = vec![ByteBuf::from(vec![b'a'; MAX_MESSAGE_LEN])];
        assert!(matches!(
            encode(&ClientMessage::Request(Box::new(request))),
            Err(ProtoError::TooLarge { .. })
        ));
    }
}
