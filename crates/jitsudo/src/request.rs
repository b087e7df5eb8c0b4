//! Building the request frames from the parsed command line.

use std::os::unix::ffi::OsStringExt;

use jitsudo_proto::{encode, ClientMessage, Hello, Request};

use crate::cli::{wire, RequestArgs};
use crate::stdio::Stdio;

/// Encodes the hello and the request as one write, so the daemon gets
/// both without a round trip. A request too large for the protocol is
/// refused here with the kernel's wording.
pub fn frames(args: RequestArgs, stdio: &Stdio, ignored_signals: u64) -> Result<Vec<u8>, String> {
    let request = Request {
        action: args.action,
        argv: args.command.into_iter().map(wire).collect(),
        env: std::env::vars_os()
            .map(|(name, value)| {
                let mut entry = name.into_vec();
                entry.push(b'=');
                entry.extend(value.into_vec());
                serde_bytes::ByteBuf::from(entry)
            })
            .collect(),
        assignments: args.assignments.into_iter().map(wire).collect(),
        user: args.user.map(wire),
        group: args.group.map(wire),
        shell: args.shell,
        preserve_env: args.preserve_env,
        chdir: args.chdir.map(wire),
        non_interactive: args.non_interactive,
        background: args.background,
        reset_timestamp: args.reset_timestamp,
        prompt: args.prompt.map(wire),
        stdin_password: args.stdin_password,
        list_user: args.list_user.map(wire),
        ignored_signals,
        stdio: stdio.present,
    };
    let mut bytes = encode(&ClientMessage::Hello(Hello::current())).map_err(|e| e.to_string())?;
    let body = encode(&ClientMessage::Request(Box::new(request)))
        .map_err(|_| "unable to run the command: Argument list too long".to_string())?;
    bytes.extend(body);
    Ok(bytes)
}
