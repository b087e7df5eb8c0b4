//! `jitsudo`: run a command as another user, like sudo, without being
//! setuid. The decision and the execution belong to the root daemon
//! `jitsudod`; this client states the request, hands over its terminal or
//! stdio, relays signals and mirrors the command's exit.

#![deny(unsafe_code)]

/// dlmalloc rather than the C library's malloc: musl's (the packaged
/// client is linked on musl) maps each new size class and unmaps it again
/// as soon as it is free, 20 mmap and 17 munmap calls and their page
/// faults in one `jitsudo -n true`; dlmalloc keeps the memory it got
/// (55 -> 40 page faults per run).
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

mod cli;
mod request;
mod version;

use std::io::Write;
use std::path::PathBuf;

use cli::{Invocation, UsageError};
use jitsudo::askpass::PasswordInput;
use jitsudo::client::{self, failure};
use jitsudo::session::Outcome;

/// Where jitsudod listens unless `JITSUDO_SOCKET` says otherwise.
const DEFAULT_SOCKET: &str = "/run/jitsudo/jitsudod.sock";

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let argv0 = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jitsudo".into());
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = match cli::parse(argv, &host) {
        Ok(Invocation::Help) => {
            print!("{}", cli::help_text());
            Outcome::Exit(0)
        }
        Ok(Invocation::Version) => {
            version::print(&socket_path());
            Outcome::Exit(0)
        }
        Ok(Invocation::Request(args)) => run(*args),
        Ok(Invocation::Refuse(reason)) => failure(reason),
        Err(usage) => usage_failure(usage, &argv0),
    };
    finish(outcome)
}

fn usage_failure(usage: UsageError, argv0: &str) -> Outcome {
    let mut text = Vec::new();
    if let Some(message) = usage.message {
        let prefix = if usage.from_getopt { argv0 } else { "jitsudo" };
        text.extend_from_slice(format!("{prefix}: {message}\n").as_bytes());
    }
    if usage.with_usage {
        text.extend_from_slice(cli::USAGE.as_bytes());
    }
    let _ = std::io::stderr().write_all(&text);
    Outcome::Exit(1)
}

fn run(args: cli::RequestArgs) -> Outcome {
    let input = match (args.askpass, args.stdin_password) {
        (true, _) => PasswordInput::Askpass,
        (false, true) => PasswordInput::Stdin,
        (false, false) => PasswordInput::Terminal { bell: args.bell },
    };
    // Only a command keeps descriptors (-C with -l, -v or -e keeps none).
    let close_from = args.close_from.filter(|_| args.action == cli::Action::Run);
    client::run(
        "jitsudo",
        &socket_path(),
        input,
        close_from,
        move |passed, ignored| request::frames(args, passed, ignored),
    )
}

fn socket_path() -> PathBuf {
    std::env::var_os("JITSUDO_SOCKET")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

fn finish(outcome: Outcome) -> ! {
    client::finish(outcome, "jitsudo")
}
