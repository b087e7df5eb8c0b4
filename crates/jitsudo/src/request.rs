//! Building the request frames from the parsed command line.

use std::os::fd::BorrowedFd;

use jitsudo_proto::{EditRequest, FdLayout, ListRequest, PassedFds, Request, RunRequest};

use crate::cli::{wire, Action, RequestArgs};
use jitsudo::error::Error;

/// `SUDO_PROMPT`, sudo's default for `-p`.
fn sudo_prompt() -> Option<std::ffi::OsString> {
    std::env::var_os("SUDO_PROMPT")
}

/// Encodes the hello and the request as one write, so the daemon gets
/// both without a round trip, and says which of the descriptors at hand
/// (`passed`) go with it. A request too large for the protocol is refused
/// here with the kernel's wording.
pub fn frames(
    args: RequestArgs,
    passed: &PassedFds<BorrowedFd<'_>>,
    ignored_signals: u64,
) -> Result<(Vec<u8>, FdLayout), Error> {
    let action = args.action;
    let list_user = args.list_user.clone().map(wire);
    let list_long = args.list_long;
    let run = Box::new(run_request(args, passed, ignored_signals));
    let request = match action {
        Action::Run => Request::Run(run),
        Action::List => Request::List(Box::new(ListRequest {
            request: *run,
            user: list_user,
            long: list_long,
        })),
        Action::Validate => Request::Validate(run),
        Action::Edit => {
            let mut request = *run;
            let files = std::mem::take(&mut request.argv);
            Request::Edit(Box::new(EditRequest { files, request }))
        }
        Action::Invalidate => Request::ResetTimestamp,
        Action::Remove => Request::RemoveTimestamps,
    };
    jitsudo::client::encode_request(request)
}

fn run_request(
    args: RequestArgs,
    passed: &PassedFds<BorrowedFd<'_>>,
    ignored_signals: u64,
) -> RunRequest {
    let terminal_foreground = jitsudo::client::terminal_foreground(passed);
    RunRequest {
        argv: args.command.into_iter().map(wire).collect(),
        env: jitsudo::client::environment(),
        assignments: args.assignments.into_iter().map(wire).collect(),
        user: args.user.map(wire),
        group: args.group.map(wire),
        shell: args.shell,
        preserve_env: args.preserve_env,
        chdir: args.chdir.map(wire),
        non_interactive: args.non_interactive,
        background: args.background,
        reset_timestamp: args.reset_timestamp,
        prompt: args.prompt.or_else(sudo_prompt).map(wire),
        stdin_password: args.stdin_password,
        set_home: args.set_home,
        preserve_groups: args.preserve_groups,
        no_update: args.no_update,
        command_timeout: args.command_timeout,
        close_from: args.close_from,
        ignored_signals,
        stdio: passed.layout().stdio,
        kept_fds: passed.layout().kept,
        terminal_foreground,
    }
}
