//! Requests a hostile client crafts itself, past the real client's checks.

use jitsudo_proto::{encode, ClientMessage, Hello, PreserveEnv, Request, RunRequest, ShellMode};
use serde_bytes::ByteBuf;

/// A non-interactive `Run` of `argv` as root, every other field as the
/// client sends it without options (no descriptor kept, stdio open).
pub fn run_request(argv: &[&[u8]]) -> RunRequest {
    RunRequest {
        argv: argv
            .iter()
            .map(|word| ByteBuf::from(word.to_vec()))
            .collect(),
        env: Vec::new(),
        assignments: Vec::new(),
        user: None,
        group: None,
        shell: ShellMode::Direct,
        preserve_env: PreserveEnv::None,
        chdir: None,
        non_interactive: true,
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

/// What a client writes first: its Hello and the `Run` request, in one
/// write (the descriptors go with it).
pub fn hello_and_run(run: RunRequest) -> Vec<u8> {
    let mut frames = encode(&ClientMessage::Hello(Hello::current())).expect("encode Hello");
    frames
        .extend(encode(&ClientMessage::Request(Request::Run(Box::new(run)))).expect("encode Run"));
    frames
}
