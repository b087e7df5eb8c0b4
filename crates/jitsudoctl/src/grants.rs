//! The grant verbs, for every user: `request`, `requests`, `approve`,
//! `deny`, `cancel`, `grants`, `revoke`, `done`, `extend`. The daemon
//! authorizes each from the caller's kernel identity. Output: lines for
//! people, or with `--format json` one JSON document (a record for the
//! verbs about one request, an array for the listings; fields in
//! docs/grants.md). Exit 0 done, 1 refused or not found, 2 usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use jitsudo_proto::{
    ExtendAsk, GrantAsk, GrantQuery, GrantRecord, GrantWhat, Listing, Request, Review,
    ServerMessage, StartAsk,
};

use crate::daemon::{ask, print_failure};
use crate::error::Error;
use crate::explain::unix_seconds;
use crate::{Format, SOCKET};

/// How often `request --wait` looks again.
const WAIT_POLL: Duration = Duration::from_secs(1);

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

/// The protocol request for a verb.
fn to_request(command: &GrantCommand) -> Result<Request, Error> {
    let review = |args: &ReviewArgs| {
        Box::new(Review {
            id: args.id.clone(),
            reason: args.reason.clone(),
        })
    };
    Ok(match command {
        GrantCommand::Request(args) => Request::RequestGrant(Box::new(grant_ask(args)?)),
        GrantCommand::Requests { all, .. } => Request::ListGrants(Box::new(GrantQuery {
            what: Listing::Requests,
            all: *all,
            since: None,
            user: None,
        })),
        GrantCommand::Approve(args) => Request::Approve(review(args)),
        GrantCommand::Deny(args) => Request::Deny(review(args)),
        GrantCommand::Cancel { id, .. } => Request::Cancel(id.clone()),
        GrantCommand::Grants {
            all,
            history,
            since,
            user,
            ..
        } => Request::ListGrants(Box::new(GrantQuery {
            what: if *history {
                Listing::History
            } else {
                Listing::Grants
            },
            all: *all,
            since: since.as_deref().map(unix_seconds).transpose()?,
            user: user.clone(),
        })),
        GrantCommand::Revoke(args) => Request::Revoke(review(args)),
        GrantCommand::Justify(args) => Request::Justify(review(args)),
        GrantCommand::Done { id, .. } => Request::Done(id.clone()),
        GrantCommand::Extend { id, by, reason, .. } => Request::Extend(Box::new(ExtendAsk {
            id: id.clone(),
            by: by.as_secs(),
            reason: reason.clone(),
        })),
    })
}

fn grant_ask(args: &RequestArgs) -> Result<GrantAsk, Error> {
    let start = match args.start.as_deref() {
        None => None,
        Some("on-approval") => Some(StartAsk::OnApproval),
        Some("first-use") => Some(StartAsk::FirstUse),
        Some(text) => match text.strip_prefix("at:") {
            Some(time) => Some(StartAsk::At(unix_seconds(time)?)),
            None => {
                return Err(Error::Time {
                    text: text.to_owned(),
                    reason: "--start takes on-approval, first-use or at:TIME".into(),
                })
            }
        },
    };
    let what = match (&args.rule, &args.group, &args.caps) {
        (Some(rule), _, _) => GrantWhat::Rule(rule.clone()),
        (_, Some(group), _) => GrantWhat::Group(group.clone()),
        (_, _, Some(caps)) => GrantWhat::Caps(caps.clone()),
        _ if args.shell => GrantWhat::Shell(args.user.clone()),
        _ => GrantWhat::Command {
            user: args.user.clone(),
            argv: args.command.clone(),
        },
    };
    Ok(GrantAsk {
        what,
        duration: args.duration.map(|d| d.as_secs()),
        reason: args.reason.clone(),
        ticket: args.ticket.clone(),
        start,
        uses: args.uses,
        break_glass: args.break_glass,
    })
}

/// Polls until request `id` is no longer pending (bounded by its approval
/// deadline, which the daemon enforces).
fn wait_for(socket: &std::path::Path, id: &str) -> Result<GrantRecord, ExitCode> {
    loop {
        for what in [Listing::Requests, Listing::Grants, Listing::History] {
            let query = Request::ListGrants(Box::new(GrantQuery {
                what,
                all: false,
                since: None,
                user: None,
            }));
            match ask(socket, query) {
                Ok(ServerMessage::Grants(records)) => {
                    if let Some(record) = records.into_iter().find(|r| r.id == id) {
                        if record.state != "pending" {
                            return Ok(record);
                        }
                        break;
                    }
                }
                other => return Err(print_failure(other, socket)),
            }
        }
        std::thread::sleep(WAIT_POLL);
    }
}

/// Prints the records: JSON (an array for listings, else the one record),
/// or one line each.
fn show(records: &[GrantRecord], listing: bool, format: Format) {
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let json = match (listing, records) {
            (false, [one]) => serde_json::to_string_pretty(one),
            _ => serde_json::to_string_pretty(records),
        };
        let _ = writeln!(out, "{}", json.unwrap_or_default());
        return;
    }
    for record in records {
        let _ = writeln!(out, "{}", line(record));
    }
}

/// One record for people.
fn line(r: &GrantRecord) -> String {
    let what = match (r.kind.as_str(), &r.command, &r.group, &r.caps) {
        (_, Some(command), _, _) => format!(
            "command `{}` as {}",
            command.join(" "),
            r.run_as.as_deref().unwrap_or("root")
        ),
        (_, _, Some(group), _) => format!("group {group} (rule {})", r.rule),
        (_, _, _, Some(caps)) => format!("caps {} (rule {})", caps.join(","), r.rule),
        ("shell", ..) => format!(
            "shell as {} (rule {})",
            r.run_as.as_deref().unwrap_or("root"),
            r.rule
        ),
        _ => format!("rule {}", r.rule),
    };
    let approvals = r.reviews.iter().filter(|v| v.decision == "approve").count();
    let mut text = format!(
        "{} {} {}: {what} for {}s",
        r.id, r.state, r.requester, r.duration
    );
    match r.state.as_str() {
        "pending" => text.push_str(&format!(
            ", {approvals}/{} approvals, decide by {}",
            r.quorum,
            show_time(r.deadline_at)
        )),
        "active" => {
            let left = r.expires_at.map_or(0, |e| e - now());
            text.push_str(&format!(
                ", until {} ({}s left)",
                show_time(r.expires_at.unwrap_or(0)),
                left.max(0)
            ));
        }
        "approved" => text.push_str(&format!(", starts {}", r.start)),
        _ => {
            if let Some(end) = r.ended_at {
                text.push_str(&format!(", ended {}", show_time(end)));
            }
        }
    }
    if let Some(uses) = r.max_uses {
        text.push_str(&format!(", {} of {uses} uses", r.uses));
    }
    if let Some(reason) = &r.reason {
        text.push_str(&format!(", reason: {reason}"));
    }
    if let Some(ticket) = &r.ticket {
        text.push_str(&format!(", ticket: {ticket}"));
    }
    text
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-12-01T15:04:05Z`.
fn show_time(at: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}
