//! Dynamic completion: `JITSUDOCTL_COMPLETE=requests jitsudoctl` prints
//! the ids of the pending requests the caller may review, one a line, for
//! the shells' completion of `approve` and `deny` (packaging/completions/).
//! An environment variable rather than a subcommand, so the completions
//! generated from the command line do not offer it. Silent and exit 1 when
//! the daemon cannot answer: a completion must never print into the
//! command line being typed.

use std::path::PathBuf;
use std::process::ExitCode;

use jitsudo_proto::{GrantQuery, Listing, Request, ServerMessage};

use crate::daemon::ask;
use crate::SOCKET;

/// The variable that asks for completion words.
const VARIABLE: &str = "JITSUDOCTL_COMPLETE";

/// What the shell asks to complete, if this run is a completion.
pub fn asked() -> Option<String> {
    let what = std::env::var_os(VARIABLE)?;
    Some(what.to_string_lossy().into_owned())
}

/// Prints the words for `what`; exit 1 (silently) for anything unknown.
pub fn run(what: &str) -> ExitCode {
    match what {
        "requests" => requests(),
        _ => ExitCode::FAILURE,
    }
}

/// Prints the ids of the pending requests the daemon lists for the caller,
/// except the caller's own (nobody reviews their own request).
fn requests() -> ExitCode {
    let socket = std::env::var_os("JITSUDO_SOCKET")
        .filter(|s| !s.is_empty())
        .map_or_else(|| PathBuf::from(SOCKET), PathBuf::from);
    let query = GrantQuery {
        what: Listing::Requests,
        all: false,
        since: None,
        user: None,
    };
    let Ok(ServerMessage::Grants(records)) = ask(&socket, Request::ListGrants(Box::new(query)))
    else {
        return ExitCode::FAILURE;
    };
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name);
    for record in records {
        if me.as_deref() != Some(record.requester.as_str()) {
            println!("{}", record.id);
        }
    }
    ExitCode::SUCCESS
}
