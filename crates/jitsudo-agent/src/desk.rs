//! The session's notification server (`org.freedesktop.Notifications`):
//! what the agent shows, and the Approve / Deny clicks it acts on. At
//! most [`MAX_OPEN`] review notifications are remembered (the oldest is
//! forgotten first).

use std::collections::{HashMap, VecDeque};

use zbus::fdo::DBusProxy;
use zbus::message::Type;
use zbus::zvariant::Value;
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::daemon::Daemon;
use crate::record::{escape, Record};

const SERVER: &str = "org.freedesktop.Notifications";
const SERVER_PATH: &str = "/org/freedesktop/Notifications";
/// Review notifications remembered at once.
const MAX_OPEN: usize = 64;
/// Clicks queued before the agent reads them.
const CLICKS_QUEUED: usize = 16;

/// The notification server, and the review notifications shown.
pub struct Desk {
    conn: Connection,
    /// (notification id, request id), oldest first.
    open: VecDeque<(u32, String)>,
}

impl Desk {
    /// The notification server of `conn`'s session.
    pub async fn attach(conn: Connection) -> zbus::Result<Desk> {
        Ok(Desk {
            conn,
            open: VecDeque::new(),
        })
    }

    /// The `ActionInvoked` signals of the session.
    pub async fn clicks(&self) -> zbus::Result<MessageStream> {
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .interface(SERVER)?
            .member("ActionInvoked")?
            .build();
        MessageStream::for_match_rule(rule, &self.conn, Some(CLICKS_QUEUED)).await
    }

    /// Shows a notification (replacing `replaces` unless 0); its id.
    async fn notify(
        &self,
        replaces: u32,
        title: &str,
        body: &str,
        actions: &[&str],
    ) -> Option<u32> {
        let hints: HashMap<&str, Value<'_>> = HashMap::new();
        let args = (
            "jitsudo",
            replaces,
            "dialog-password",
            title,
            body,
            actions,
            hints,
            -1i32,
        );
        let reply = self
            .conn
            .call_method(Some(SERVER), SERVER_PATH, Some(SERVER), "Notify", &args)
            .await;
        match reply.and_then(|reply| reply.body().deserialize::<u32>()) {
            Ok(id) => Some(id),
            Err(e) => {
                eprintln!("jitsudo-agent: cannot show a notification: {e}");
                None
            }
        }
    }

    fn forget(&mut self, id: &str) -> Option<u32> {
        let at = self.open.iter().position(|(_, open)| open == id)?;
        self.open.remove(at).map(|(note, _)| note)
    }

    /// `RequestCreated`, `RequestChanged` or `GrantEnded` of request `id`.
    pub async fn on_change(&mut self, daemon: &Daemon, member: &str, id: &str, what: &str) {
        if member != "RequestCreated" {
            // One this user was asked to review: its notification says
            // what became of it, without actions.
            if self.open.iter().any(|(_, open)| open == id) {
                if what != "pending" {
                    let note = self.forget(id).unwrap_or(0);
                    let title = format!("Request {id} is {what}");
                    self.notify(note, &title, "", &[]).await;
                }
                return;
            }
        }
        let Ok(record) = daemon.get(id).await else {
            return;
        };
        let mine = record.requester() == daemon.me();
        match (member, mine) {
            ("RequestCreated", false) => self.ask_review(id, &record).await,
            ("RequestChanged", true) => {
                self.notify(0, &format!("Your request {id} is {what}"), "", &[])
                    .await;
            }
            ("GrantEnded", true) => {
                self.notify(0, &format!("Your grant {id} {what}"), "", &[])
                    .await;
            }
            _ => {}
        }
    }

    /// Shows request `id` (`record`) for review, with Approve / Deny, once.
    pub async fn ask_review(&mut self, id: &str, record: &Record) {
        if self.open.iter().any(|(_, open)| open == id) {
            return;
        }
        let title = format!(
            "Approval requested: request {id} by {}",
            escape(&record.requester())
        );
        let actions = ["approve", "Approve", "deny", "Deny"];
        if let Some(note) = self.notify(0, &title, &record.describe(), &actions).await {
            if self.open.len() >= MAX_OPEN {
                self.open.pop_front();
            }
            self.open.push_back((note, id.to_owned()));
        }
    }

    /// `GrantExpiring` of the user's grant `id`.
    pub async fn on_expiring(&self, id: &str, left: u64) {
        let body = format!("Extend it with: jitsudoctl extend {id} --by 15m");
        self.notify(0, &format!("Your grant {id} ends in {left}s"), &body, &[])
            .await;
    }

    /// An `ActionInvoked` signal: believed only from the notification
    /// server itself, and only for a review notification the agent shows.
    pub async fn on_click(&mut self, daemon: &Daemon, msg: &Message) {
        if !self.sent_by_server(msg).await {
            return;
        }
        let Ok((note, action)) = msg.body().deserialize::<(u32, String)>() else {
            return;
        };
        let Some(id) = self
            .open
            .iter()
            .find(|(open, _)| *open == note)
            .map(|(_, id)| id.clone())
        else {
            return;
        };
        let approve = match action.as_str() {
            "approve" => true,
            "deny" => false,
            _ => return,
        };
        let (title, body) = match daemon.review(&id, approve).await {
            Ok(record) => {
                self.forget(&id);
                let state = record.text("state").unwrap_or_default();
                (format!("Request {id} is {state}"), String::new())
            }
            Err(zbus::Error::MethodError(name, text, _)) => {
                let text = text.unwrap_or_default();
                let body = match name.as_str().ends_with(".AuthenticationRequired") {
                    true => format!("{text}\n\njitsudoctl approve {id}"),
                    false => text,
                };
                (format!("Request {id}: not done"), escape(&body))
            }
            Err(e) => (format!("Request {id}: not done"), escape(&e.to_string())),
        };
        self.notify(0, &title, &body, &[]).await;
    }

    /// Whether `msg` comes from the current owner of the server's name.
    async fn sent_by_server(&self, msg: &Message) -> bool {
        let Ok(proxy) = DBusProxy::new(&self.conn).await else {
            return false;
        };
        let Ok(name) = SERVER.try_into() else {
            return false;
        };
        let Ok(owner) = proxy.get_name_owner(name).await else {
            return false;
        };
        msg.header()
            .sender()
            .is_some_and(|sender| *owner == *sender)
    }
}
