//! `jitsudo-agent`: the desktop side of jitsudo's grants, one per user
//! session. It subscribes to jitsudod's signals on the system bus
//! (docs/dbus.md) and shows them through the session's notification
//! server (`org.freedesktop.Notifications`): requests this user may
//! review, with Approve / Deny actions that call the daemon; the fate of
//! the user's own requests; a warning before the user's grant ends.
//!
//! It is also the user's password agent ([`asker`]): approving from the
//! desktop without fresh cached credentials, jitsudod asks for the
//! password through it.
//!
//! Only signals from the unique name that owns `org.jitsudo.Jitsudo1` are
//! believed (anyone may send a signal with the same names), and only
//! action clicks from the owner of `org.freedesktop.Notifications`.
//! Everything shown comes from the daemon (`GetRequest`), with the markup
//! characters of requester-chosen text escaped.

#![forbid(unsafe_code)]

mod asker;
mod daemon;
mod desk;
mod record;

use std::process::ExitCode;

use futures_lite::StreamExt;
use zbus::fdo::DBusProxy;
use zbus::message::Type;
use zbus::{Connection, Message, MessageStream};

use daemon::Daemon;
use desk::Desk;

/// The session-bus name that keeps a second agent of a session from
/// starting.
const AGENT_NAME: &str = "org.jitsudo.Agent";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("jitsudo-agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jitsudo-agent: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> zbus::Result<()> {
    let session = Connection::session().await?;
    if !own_session_name(&session).await? {
        eprintln!("jitsudo-agent: another agent runs in this session");
        return Ok(());
    }
    let system = Connection::system().await?;
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.name)
        .ok_or_else(|| zbus::Error::Failure("who am I? (no passwd entry)".into()))?;
    let mut daemon = Daemon::new(system.clone(), me);
    let mut desk = Desk::attach(session.clone()).await?;
    let mut from_system = MessageStream::from(&system);
    let mut clicks = desk.clicks().await?;
    let mut owners = DBusProxy::new(&system)
        .await?
        .receive_name_owner_changed_with_args(&[(0, daemon::NAME)])
        .await?;
    attach(&mut daemon, &mut desk).await;
    eprintln!("jitsudo-agent: running");
    loop {
        tokio::select! {
            msg = from_system.next() => match msg {
                Some(Ok(msg)) => on_system_message(&daemon, &mut desk, &msg).await,
                Some(Err(e)) => eprintln!("jitsudo-agent: system bus: {e}"),
                None => return Err(zbus::Error::Failure("the system bus went away".into())),
            },
            click = clicks.next() => match click {
                Some(Ok(msg)) => desk.on_click(&daemon, &msg).await,
                Some(Err(e)) => eprintln!("jitsudo-agent: session bus: {e}"),
                None => return Err(zbus::Error::Failure("the session bus went away".into())),
            },
            // jitsudod restarted (or stopped): follow its new unique name.
            _ = owners.next() => attach(&mut daemon, &mut desk).await,
        }
    }
}

/// Subscribes to the daemon's signals, then shows what already waits for
/// this user's review (made while no agent ran).
async fn attach(daemon: &mut Daemon, desk: &mut Desk) {
    daemon.attach().await;
    asker::register(&daemon.conn(), daemon).await;
    match daemon.to_review().await {
        Ok(records) => {
            for record in records {
                if let Some(id) = record.text("id") {
                    desk.ask_review(&id, &record).await;
                }
            }
        }
        Err(e) => eprintln!("jitsudo-agent: cannot list the requests to review: {e}"),
    }
}

/// Owns [`AGENT_NAME`]; false if another agent has it.
async fn own_session_name(session: &Connection) -> zbus::Result<bool> {
    use zbus::fdo::{RequestNameFlags, RequestNameReply};
    let reply = DBusProxy::new(session)
        .await?
        .request_name(AGENT_NAME.try_into()?, RequestNameFlags::DoNotQueue.into())
        .await?;
    Ok(matches!(
        reply,
        RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner
    ))
}

/// A signal of jitsudod (from its unique name only) → a notification.
async fn on_system_message(daemon: &Daemon, desk: &mut Desk, msg: &Message) {
    let header = msg.header();
    if header.message_type() != Type::Signal || !daemon.sent(&header) {
        return;
    }
    let member = header.member().map(|m| m.to_string()).unwrap_or_default();
    let body = msg.body();
    match member.as_str() {
        "RequestCreated" | "RequestChanged" | "GrantEnded" => {
            if let Ok((id, what)) = body.deserialize::<(String, String)>() {
                desk.on_change(daemon, &member, &id, &what).await;
            }
        }
        "GrantExpiring" => {
            if let Ok((id, left)) = body.deserialize::<(String, u64)>() {
                desk.on_expiring(&id, left).await;
            }
        }
        _ => {}
    }
}
