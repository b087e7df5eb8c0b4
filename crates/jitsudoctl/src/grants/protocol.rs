//! From a grant verb to the daemon's protocol: the request each verb
//! sends, and the polling of `request --wait`.

use std::process::ExitCode;
use std::time::Duration;

use jitsudo_proto::{
    ExtendAsk, GrantAsk, GrantQuery, GrantRecord, GrantWhat, Listing, Request, Review,
    ServerMessage, StartAsk,
};

use super::{GrantCommand, RequestArgs, ReviewArgs};
use crate::daemon::{ask, print_failure};
use crate::error::Error;
use crate::explain::unix_seconds;

/// How often `request --wait` looks again.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// The protocol request for a verb.
pub(super) fn to_request(command: &GrantCommand) -> Result<Request, Error> {
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

/// The grant a `request` asks for.
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
pub(super) fn wait_for(socket: &std::path::Path, id: &str) -> Result<GrantRecord, ExitCode> {
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
