//! The grant verbs, for every user: `request`, `requests`, `approve`,
//! `deny`, `cancel`, `grants`, `revoke`, `done`, `extend`. The daemon
//! authorizes each from the caller's kernel identity. Output: lines for
//! people, or with `--format json` one JSON document (a record for the
//! verbs about one request, an array for the listings; fields in
//! docs/grants.md). Exit 0 done, 1 refused or not found, 2 usage.
//!
//! The verbs' arguments and [`run`] are here; [`protocol`] turns a verb
//! into its request to the daemon (and waits on one), [`output`] prints
//! the answer.

mod output;
mod protocol;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use jitsudo_proto::ServerMessage;

use crate::daemon::{ask, print_failure};
use crate::{Format, SOCKET};
use output::show;
use protocol::{to_request, wait_for};

/// Options every grant verb takes.
#[derive(Args, Clone)]
pub struct Common {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The daemon's socket (default: `$JITSUDO_SOCKET`, else the system's).
    #[arg(long)]
    socket: Option<PathBuf>,
}

impl Common {
    fn socket(&self) -> PathBuf {
        socket(self.socket.as_ref())
    }
}

/// `--socket`, else `$JITSUDO_SOCKET`, else the system's.
pub fn socket(given: Option<&PathBuf>) -> PathBuf {
    given
        .cloned()
        .or_else(|| std::env::var_os("JITSUDO_SOCKET").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(SOCKET))
}

/// The grant verbs.
#[derive(Subcommand)]
pub enum GrantCommand {
    /// Ask for a grant: `--rule ID`, `--group NAME`, `--caps CAP[,CAP...]`,
    /// `--shell [-u USER]`, or `[-u USER] -- COMMAND [ARGS...]`.
    Request(RequestArgs),

    /// Pending requests: mine and those I may approve.
    Requests {
        #[command(flatten)]
        common: Common,
        /// Everyone's (root).
        #[arg(long)]
        all: bool,
    },
    /// Approve a request (you authenticate with your own password).
    Approve(ReviewArgs),
    /// Deny a request; a reason is required.
    Deny(ReviewArgs),
    /// Withdraw my pending request.
    Cancel {
        #[command(flatten)]
        common: Common,
        /// The request.
        id: String,
    },
    /// Grants: mine; with --all those I may approve too; --history ended ones.
    Grants {
        #[command(flatten)]
        common: Common,
        /// Also those I may approve (root: all).
        #[arg(long)]
        all: bool,
        /// Ended grants: who held what, when, for how long.
        #[arg(long)]
        history: bool,
        /// With --history: ended since (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long, requires = "history")]
        since: Option<String>,
        /// With --history: this user's (root).
        #[arg(long, requires = "history")]
        user: Option<String>,
    },
    /// End a grant now (approvers and root); what runs under it is stopped.
    Revoke(ReviewArgs),
    /// Say why I broke the glass (my break-glass grant; --reason is
    /// required): clears it, within the rule's follow-up time.
    Justify(ReviewArgs),
    /// End my grant now; what runs under it is stopped.
    Done {
        #[command(flatten)]
        common: Common,
        /// The grant.
        id: String,
    },
    /// Move a grant's end later, in one step (approvers and root; the
    /// holder for an auto-approved grant).
    Extend {
        #[command(flatten)]
        common: Common,
        /// The grant.
        id: String,
        /// How much longer (30s, 5m, 1h...).
        #[arg(long, value_parser = humantime::parse_duration)]
        by: Duration,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `request`'s options.
#[derive(Args)]
#[command(group(
    clap::ArgGroup::new("what")
        .args(["rule", "group", "caps", "shell", "command"])
        .required(true)
))]
#[command(group(clap::ArgGroup::new("as_user").args(["shell", "command"]).multiple(true)))]
pub struct RequestArgs {
    #[command(flatten)]
    common: Common,
    /// How long the grant lasts once started (default: the rule's).
    #[arg(long = "for", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Why you need it.
    #[arg(long)]
    reason: Option<String>,
    /// The ticket it is for.
    #[arg(long)]
    ticket: Option<String>,
    /// When its clock starts: on-approval, first-use or at:TIME (RFC 3339).
    #[arg(long)]
    start: Option<String>,
    /// How many commands it allows.
    #[arg(long)]
    uses: Option<u32>,
    /// Wait until it is decided, and print the outcome.
    #[arg(long)]
    wait: bool,
    /// An emergency: approve it yourself, now (the rule must allow it; it
    /// is logged at crit, and unless an approver approves it afterwards or
    /// you justify it in time, your further requests are refused).
    #[arg(long, conflicts_with = "wait")]
    break_glass: bool,
    /// A grantable rule, as a whole.
    #[arg(long)]
    rule: Option<String>,
    /// An extra supplementary group (use it with `jitsudoctl shell`/`run`).
    #[arg(long)]
    group: Option<String>,
    /// Capabilities, comma-separated (cap_net_bind_service,...), ambient
    /// in what runs under the grant (`jitsudoctl shell`/`run`).
    #[arg(long, value_delimiter = ',')]
    caps: Option<Vec<String>>,
    /// A shell as USER (`-u`, default root), with `jitsudoctl shell`.
    #[arg(long)]
    shell: bool,
    /// With a command or --shell: the user to run as (default root).
    #[arg(short = 'u', long = "user", requires = "as_user")]
    user: Option<String>,
    /// Exactly this command and these arguments.
    #[arg(last = true)]
    command: Vec<String>,
}

/// An id and a reason.
#[derive(Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    common: Common,
    /// The request or grant.
    id: String,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
}

impl GrantCommand {
    fn common(&self) -> &Common {
        match self {
            GrantCommand::Request(RequestArgs { common, .. })
            | GrantCommand::Approve(ReviewArgs { common, .. })
            | GrantCommand::Deny(ReviewArgs { common, .. })
            | GrantCommand::Revoke(ReviewArgs { common, .. })
            | GrantCommand::Justify(ReviewArgs { common, .. })
            | GrantCommand::Requests { common, .. }
            | GrantCommand::Cancel { common, .. }
            | GrantCommand::Grants { common, .. }
            | GrantCommand::Done { common, .. }
            | GrantCommand::Extend { common, .. } => common,
        }
    }
}

/// Runs a grant verb.
pub fn run(command: &GrantCommand) -> ExitCode {
    let common = command.common();
    let socket = common.socket();
    let request = match to_request(command) {
        Ok(request) => request,
        Err(e) => {
            eprintln!("jitsudoctl: {e}");
            return ExitCode::from(2);
        }
    };
    let wait = matches!(command, GrantCommand::Request(args) if args.wait);
    let listing = matches!(
        command,
        GrantCommand::Requests { .. } | GrantCommand::Grants { .. }
    );
    match ask(&socket, request) {
        Ok(ServerMessage::Grants(records)) => {
            let records = match records.first() {
                Some(first) if wait => match wait_for(&socket, &first.id) {
                    Ok(record) => vec![record],
                    Err(status) => return status,
                },
                _ => records,
            };
            show(&records, listing, common.format);
            let refused = wait
                && records
                    .iter()
                    .any(|r| r.state != "active" && r.state != "approved");
            if refused {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        other => print_failure(other, &socket),
    }
}
