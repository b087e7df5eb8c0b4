//! The messages exchanged on a jitsudo connection.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use zeroize::{Zeroize, Zeroizing};

use crate::{
    ExtendAsk, FdLayout, GrantAsk, GrantQuery, GrantRecord, GrantSession, ProtoError, Review,
};

/// Magic bytes that open every [`Hello`], so a stray connection from another
/// program is recognised at once.
pub const PROTOCOL_MAGIC: [u8; 8] = *b"jitsudo\0";

/// The protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 3;

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
    /// What the caller asks for, with the descriptors its
    /// [`Request::fd_layout`] names attached.
    Request(Request),
    /// Deliver this signal number to the running command.
    Signal(i32),
    /// The client was continued after a suspension; continue the command.
    Resume {
        /// The client is in its terminal's foreground: so is the command in
        /// its pty (otherwise it continues in the background).
        foreground: bool,
    },
    /// The answer to a [`ServerMessage::Prompt`]; `None` when the client
    /// cannot ask (no terminal, interrupted). Holds a secret: receivers
    /// zero it after use.
    Answer(Option<ByteBuf>),
    /// The answer to a [`ServerMessage::Edit`]: for each file, in order,
    /// its new content, or `None` when it was left unchanged.
    Edited(Vec<Option<ByteBuf>>),
}

/// One request: a verb and its parameters. Everything here is caller input
/// and untrusted: identities come from the kernel, never from a message.
/// New verbs (grants, approvals) are new variants with their own replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Run a command (or a shell). Replies: [`ServerMessage::Started`],
    /// [`ServerMessage::Suspended`], [`ServerMessage::Exited`].
    Run(Box<RunRequest>),
    /// `-l [command]`: list privileges, or check one command. Replies:
    /// [`ServerMessage::Output`] then [`ServerMessage::Exited`].
    List(Box<ListRequest>),
    /// `-v`: authenticate if needed and refresh cached credentials. Reply:
    /// [`ServerMessage::Done`]. Only the authentication options are used.
    Validate(Box<RunRequest>),
    /// `-k` without a command: invalidate the cached credentials of this
    /// terminal session. Reply: [`ServerMessage::Done`].
    ResetTimestamp,
    /// `-K`: remove all of the caller's cached credentials. Reply:
    /// [`ServerMessage::Done`].
    RemoveTimestamps,
    /// `jitsudoctl policy reload` (root only): re-read the policy now.
    /// Reply: [`ServerMessage::PolicyReloaded`], or an error listing what
    /// is wrong with the new policy.
    ReloadPolicy,
    /// `jitsudoctl policy explain` (root only): what the policy decides for
    /// a described request, and why. Reply: [`ServerMessage::Explained`].
    Explain(Box<ExplainRequest>),
    /// `-e`/`sudoedit`: edit files as the target. Replies:
    /// [`ServerMessage::Edit`], answered with [`ClientMessage::Edited`],
    /// then [`ServerMessage::Exited`].
    Edit(Box<EditRequest>),
    /// `jitsudoctl request`: ask for a grant. Reply: [`ServerMessage::Grants`]
    /// with the new request.
    RequestGrant(Box<GrantAsk>),
    /// `jitsudoctl requests` / `grants`: list. Reply: [`ServerMessage::Grants`].
    ListGrants(Box<GrantQuery>),
    /// `jitsudoctl approve`: the approver authenticates (prompts as for a
    /// run) first. Reply: [`ServerMessage::Grants`] with the request.
    Approve(Box<Review>),
    /// `jitsudoctl deny` (a reason is required); authenticated as `Approve`.
    Deny(Box<Review>),
    /// `jitsudoctl cancel`: the requester withdraws a pending request.
    Cancel(String),
    /// `jitsudoctl revoke`: an approver or root ends a grant now.
    Revoke(Box<Review>),
    /// `jitsudoctl done`: the holder ends a grant now.
    Done(String),
    /// `jitsudoctl extend`: move a grant's end later.
    Extend(Box<ExtendAsk>),
    /// `jitsudoctl justify`: the holder of a break-glass grant says why
    /// (the reason is required), which clears it.
    Justify(Box<Review>),
    /// `jitsudo -V`, `jitsudoctl status`: the daemon's version and state.
    /// Reply: [`ServerMessage::Status`] (its details for root only).
    Status,
    /// `jitsudoctl shell ID` / `run ID -- CMD`: start a shell or a command
    /// under the holder's group, caps or shell grant. Replies as for
    /// [`Request::Run`].
    UseGrant(Box<GrantSession>),
}

impl Request {
    /// The descriptors that must accompany this request.
    pub fn fd_layout(&self) -> FdLayout {
        match self {
            Request::Run(run) | Request::Validate(run) => run.fd_layout(),
            Request::UseGrant(session) => session.request.fd_layout(),
            Request::List(list) => list.request.fd_layout(),
            Request::Edit(edit) => edit.request.fd_layout(),
            // A review's worker (PAM) needs a working directory like any.
            Request::Explain(_) | Request::Approve(_) | Request::Deny(_) => FdLayout {
                stdio: [false; 3],
                cwd: true,
                kept: 0,
            },
            Request::ResetTimestamp
            | Request::RemoveTimestamps
            | Request::ReloadPolicy
            | Request::RequestGrant(_)
            | Request::ListGrants(_)
            | Request::Cancel(_)
            | Request::Revoke(_)
            | Request::Done(_)
            | Request::Extend(_)
            | Request::Justify(_)
            | Request::Status => FdLayout::NONE,
        }
    }
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

/// A command to run, as the caller states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
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
    /// `-H`: set `HOME` to the target's home even when `-E` keeps the
    /// caller's.
    pub set_home: bool,
    /// `-P`: keep the caller's supplementary groups.
    pub preserve_groups: bool,
    /// `-N`: do not remember a successful authentication.
    pub no_update: bool,
    /// `-T`: end the command after this many seconds (if the policy
    /// allows the caller to choose).
    pub command_timeout: Option<u64>,
    /// `-C`: the lowest descriptor closed in the command (if the policy
    /// allows the caller to choose).
    pub close_from: Option<u32>,
    /// Signals the caller had ignored when the client started (bit n-1 for
    /// signal n); they stay ignored in the command, as under sudo.
    pub ignored_signals: u64,
    /// Which of the caller's fds 0, 1, 2 are attached; the working
    /// directory always is (see [`FdLayout`]).
    pub stdio: [bool; 3],
    /// Which of the caller's descriptors above 2 are attached, to stay
    /// open in the command at their numbers (`-C`; [`FdLayout::kept`]).
    pub kept_fds: u64,
    /// The client's process group is its terminal's foreground one (or it
    /// has no terminal). When not (`jitsudo vi &`), a command on a pty
    /// starts in the background of it, as under sudo, and gets it when the
    /// client is brought to the foreground.
    pub terminal_foreground: bool,
}

impl RunRequest {
    /// A request to run `argv` as `jitsudo argv…` asks it with no option
    /// given: as root, no environment passed, no descriptors. Callers set
    /// what they know with struct update syntax (`..RunRequest::new(argv)`),
    /// so a field added later gets its plain value everywhere.
    pub fn new(argv: Vec<ByteBuf>) -> RunRequest {
        RunRequest {
            argv,
            env: Vec::new(),
            assignments: Vec::new(),
            user: None,
            group: None,
            shell: ShellMode::Direct,
            preserve_env: PreserveEnv::None,
            chdir: None,
            non_interactive: false,
            background: false,
            reset_timestamp: false,
            prompt: None,
            stdin_password: false,
            set_home: false,
            preserve_groups: false,
            no_update: false,
            command_timeout: None,
            close_from: None,
            ignored_signals: 0,
            stdio: [false; 3],
            kept_fds: 0,
            terminal_foreground: true,
        }
    }

    /// The descriptors that accompany this request.
    pub fn fd_layout(&self) -> FdLayout {
        FdLayout {
            stdio: self.stdio,
            cwd: true,
            kept: self.kept_fds,
        }
    }
}

/// `-l [command]`, optionally about another user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRequest {
    /// The command to check (empty `argv`: list every rule) and the
    /// authentication options.
    pub request: RunRequest,
    /// `-U`: whose privileges to list (root only).
    pub user: Option<ByteBuf>,
    /// `-ll`: list in the long format.
    pub long: bool,
}

/// `-e FILE…` / `sudoedit FILE…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditRequest {
    /// The files, as typed (relative ones against the attached working
    /// directory); every word is a file name, `VAR=value` included.
    pub files: Vec<ByteBuf>,
    /// The target (`-u`, `-g`) and the authentication options; its `argv`
    /// is empty.
    pub request: RunRequest,
}

/// `jitsudoctl policy explain`: a request described rather than made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainRequest {
    /// The caller to explain for (name or `#uid`).
    pub user: ByteBuf,
    /// The target user (name or `#uid`), as `-u`; default root.
    pub run_as: Option<ByteBuf>,
    /// The target group (name or `#gid`), as `-g`.
    pub group: Option<ByteBuf>,
    /// The command and its arguments; a relative name is looked up as for
    /// a run, from the attached working directory.
    pub argv: Vec<ByteBuf>,
    /// Whether the caller has a terminal.
    pub tty: bool,
    /// Where the caller's session comes from; default: local with a
    /// terminal, none without.
    pub origin: Option<SessionOrigin>,
    /// The host name; default: the daemon's.
    pub host: Option<String>,
    /// When, in seconds since the epoch; default: now.
    pub at: Option<i64>,
    /// Candidate policy files (absolute paths, main file first) to decide
    /// with instead of the policy in force; read with the same checks.
    pub policy: Vec<ByteBuf>,
    /// How the explanation is rendered.
    pub format: ExplainFormat,
}

/// How the caller's session reached the host (`when.origin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionOrigin {
    /// A local terminal.
    Local,
    /// An ssh session.
    Ssh,
    /// No terminal session at all.
    None,
}

/// How an explanation is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExplainFormat {
    /// Lines for people.
    Text,
    /// One JSON document for tools.
    Json,
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
    /// The verb succeeded (`-v`, `-k`, `-K`); the client exits with 0.
    Done,
    /// The policy was reloaded ([`Request::ReloadPolicy`]).
    PolicyReloaded,
    /// The answer to [`Request::Explain`].
    Explained {
        /// Whether the request would run.
        allowed: bool,
        /// The explanation, rendered as asked.
        text: ByteBuf,
    },
    /// The answer to a grant verb: the records concerned (a list, or the
    /// one request or grant acted on).
    Grants(Vec<GrantRecord>),
    /// The files of a [`Request::Edit`], opened and read as the target. The
    /// client edits copies as the caller and answers
    /// [`ClientMessage::Edited`].
    Edit(Vec<EditFile>),
    /// The answer to [`Request::Status`].
    Status(Box<DaemonStatus>),
}

/// What [`Request::Status`] reports: versions and the policy's hash for
/// everyone (as `sudo -V` prints its plugins' versions), the rest for root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// The daemon's package version.
    pub version: String,
    /// The daemon's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// SHA-256 naming the policy in force (as in every log event).
    pub policy_hash: String,
    /// The daemon's state; `None` for callers other than root.
    pub details: Option<StatusDetails>,
}

/// The daemon's state, for root (`jitsudoctl status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetails {
    /// Seconds since the daemon started.
    pub uptime_secs: u64,
    /// The policy files in force, in order.
    pub policy_files: Vec<String>,
    /// Seconds since the policy in force was loaded.
    pub policy_age_secs: u64,
    /// The last reload: `None` if there was none, else its outcome.
    pub last_reload: Option<ReloadOutcome>,
    /// Connections held, not yet answered or handed to a worker.
    pub connections: u32,
    /// Requests whose worker waits at a password prompt.
    pub pending_auth: u32,
    /// The worker processes.
    pub workers: WorkerCounts,
    /// The grant store's counts; `None` if it could not be read.
    pub grants: Option<GrantCounts>,
    /// Whether each audit sink could take an event.
    pub audit_sinks: Vec<SinkHealth>,
}

/// The daemon's worker processes, by what they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCounts {
    /// Started, waiting in the pool for a request.
    pub idle: u32,
    /// Being started to refill the pool.
    pub starting: u32,
    /// Given a request, waiting for its caller's password.
    pub bound: u32,
    /// Given a request, past authentication: running a command or an
    /// edit, recording a review; until the worker exits.
    pub busy: u32,
}

/// How many grants and requests the grant store holds, by state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantCounts {
    /// Requests waiting for a review.
    pub pending_requests: u32,
    /// Grants approved whose time has not started.
    pub approved: u32,
    /// Grants in force.
    pub active: u32,
}

/// One audit sink in [`StatusDetails`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkHealth {
    /// `journald`, `syslog` or `file`.
    pub name: String,
    /// Whether the policy requires it (`audit_sinks`).
    pub required: bool,
    /// `None` if it is reachable, else why not.
    pub error: Option<String>,
}

/// How the last policy reload ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// Seconds since it happened.
    pub age_secs: u64,
    /// `None` if the new policy is in force, else why it was refused.
    pub error: Option<String>,
}

/// Largest file `-e` edits; a larger one is refused before the editor
/// runs, and a copy that grew past it is not written back.
pub const MAX_EDIT_FILE: usize = 1024 * 1024;

/// One file of a [`ServerMessage::Edit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditFile {
    /// The file's absolute path, as the policy allowed it.
    pub path: ByteBuf,
    /// Its content (empty for a file that does not exist yet).
    pub content: ByteBuf,
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

/// Room for what an [`ClientMessage::Answer`] frame holds besides the
/// secret: the length prefix, the variant, the option's tag and the
/// secret's length (varints).
const ANSWER_OVERHEAD: usize = 4 + 16;

/// Encodes the answer to a prompt (a secret, maybe a password) as a
/// complete frame, leaving no copy behind: the frame is written into a
/// buffer sized up front (nothing grows and leaves a copy in freed memory)
/// that is zeroed on drop, and the message's own copy is zeroed before
/// this returns, on every path.
pub fn encode_answer(answer: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let len = answer.map_or(0, <[u8]>::len);
    if len > MAX_MESSAGE_LEN {
        return Err(ProtoError::TooLarge {
            len,
            max: MAX_MESSAGE_LEN,
        });
    }
    let mut frame = Zeroizing::new(vec![0u8; ANSWER_OVERHEAD + len]);
    let mut message = ClientMessage::Answer(answer.map(|a| ByteBuf::from(a.to_vec())));
    let used = postcard::to_slice(&message, &mut frame[4..]).map(|payload| payload.len());
    if let ClientMessage::Answer(Some(secret)) = &mut message {
        secret.zeroize();
    }
    let used = used?;
    frame.truncate(4 + used);
    let prefix = u32::try_from(used).map_err(|_| ProtoError::TooLarge {
        len: used,
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

    /// An answer's frame is the one `encode` makes, written without the
    /// buffer ever growing (no copy of the secret left in freed memory).
    #[test]
    fn an_answer_is_encoded_as_encode_does_in_its_first_buffer() {
        for answer in [
            None,
            Some(&b""[..]),
            Some(b"hunter2"),
            Some(&[0xff; 300][..]),
        ] {
            let frame = encode_answer(answer).expect("encode the answer");
            let message = ClientMessage::Answer(answer.map(|a| ByteBuf::from(a.to_vec())));
            assert_eq!(&frame[..], &encode(&message).expect("encode")[..]);
            let len = answer.map_or(0, <[u8]>::len);
            assert_eq!(frame.capacity(), ANSWER_OVERHEAD + len, "the buffer grew");
        }
    }

    fn sample_request() -> RunRequest {
        RunRequest {
            env: vec![ByteBuf::from(b"A=\xfe".to_vec())],
            user: Some(ByteBuf::from(b"#0".to_vec())),
            preserve_env: PreserveEnv::List(vec![ByteBuf::from(b"A".to_vec())]),
            non_interactive: true,
            stdio: [true, false, true],
            ..RunRequest::new(vec![
                ByteBuf::from(b"id".to_vec()),
                ByteBuf::from(vec![0xff, 0, b'x']),
            ])
        }
    }

    #[test]
    fn request_round_trips_with_binary_bytes() {
        let request = sample_request();
        let message = ClientMessage::Request(Request::Run(Box::new(request)));
        let frame = encode(&message).unwrap();
        let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
        let back: ClientMessage = decode(&frame[4..]).unwrap();
        assert_eq!(back, message);
    }

    #[test]
    fn each_verb_names_its_descriptors() {
        let run = Box::new(sample_request());
        assert_eq!(Request::Run(run.clone()).fd_layout().count(), 3);
        let list = ListRequest {
            request: (*run).clone(),
            user: None,
            long: false,
        };
        assert_eq!(Request::List(Box::new(list)).fd_layout().count(), 3);
        let edit = EditRequest {
            files: vec![ByteBuf::from(b"/etc/motd".to_vec())],
            request: *run,
        };
        assert_eq!(Request::Edit(Box::new(edit)).fd_layout().count(), 3);
        assert_eq!(Request::ReloadPolicy.fd_layout(), FdLayout::NONE);
        assert_eq!(Request::ResetTimestamp.fd_layout().count(), 0);
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
            encode(&ClientMessage::Request(Request::Run(Box::new(request)))),
            Err(ProtoError::TooLarge { .. })
        ));
    }
}
