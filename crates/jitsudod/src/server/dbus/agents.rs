//! Authentication agents (`RegisterAgent`) and the PAM conversations
//! relayed to them: an approval by a caller that allowed interactive
//! authorization starts the review's worker as for `jitsudoctl approve`,
//! with the daemon as its client on a socket pair; each prompt of the
//! worker becomes a call of `org.jitsudo.Agent1.Ask` on the agent of THAT
//! uid only, and the answer (a method return, unicast to the daemon)
//! goes back to the worker and is zeroed. One conversation per uid at a
//! time; each prompt waits at most `passwd_timeout`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jitsudo_proto::tokio_codec::{read_message, write_frame};
use jitsudo_proto::{encode_answer, FrameReader, GrantRecord, ServerMessage};
use tokio::net::UnixStream;
use zbus::names::UniqueName;
use zbus::Connection;
use zeroize::Zeroizing;

use super::errors::ApiError;
use crate::limits::Slot;
use crate::server::handover::{follow_worker, hand_over, Decided};
use crate::server::route::Handover;
use crate::server::Shared;

/// The agent's interface and object.
pub const AGENT_INTERFACE: &str = "org.jitsudo.Agent1";
/// Where an agent serves [`AGENT_INTERFACE`].
pub const AGENT_PATH: &str = "/org/jitsudo/Agent1";
/// Registered agents in all (one per uid).
pub const MAX_AGENTS: usize = 1024;
/// Largest worker message read on the daemon's side of the pair.
const MAX_FRAME: usize = 1 << 20;

/// The registered agents, by uid, and the uids in a conversation.
#[derive(Default)]
pub struct Agents {
    by_uid: Mutex<HashMap<u32, UniqueName<'static>>>,
    busy: Arc<Mutex<HashSet<u32>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Agents {
    /// Registers connection `name` as the agent of `uid` (the bus's word
    /// about the caller): it replaces that uid's previous agent.
    pub fn register(&self, uid: u32, name: UniqueName<'static>) -> Result<(), ApiError> {
        let mut map = lock(&self.by_uid);
        if !map.contains_key(&uid) && map.len() >= MAX_AGENTS {
            return Err(ApiError::Denied("too many agents; try again later".into()));
        }
        map.insert(uid, name);
        Ok(())
    }

    /// Forgets the agent on connection `name` (it left the bus).
    pub fn remove(&self, name: &str) {
        lock(&self.by_uid).retain(|_, known| known.as_str() != name);
    }

    /// Forgets every agent (the daemon's connection is gone).
    pub fn clear(&self) {
        lock(&self.by_uid).clear();
    }

    fn agent_of(&self, uid: u32) -> Option<UniqueName<'static>> {
        lock(&self.by_uid).get(&uid).cloned()
    }

    /// Marks `uid` in a conversation until the guard drops; `None` if it
    /// already is.
    fn begin(&self, uid: u32) -> Option<Busy> {
        lock(&self.busy).insert(uid).then(|| Busy {
            uid,
            busy: Arc::clone(&self.busy),
        })
    }
}

/// `uid`'s conversation, ended on drop.
struct Busy {
    uid: u32,
    busy: Arc<Mutex<HashSet<u32>>>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        lock(&self.busy).remove(&self.uid);
    }
}

/// What an approval needing a password does without an agent.
pub fn authentication_required() -> ApiError {
    ApiError::AuthenticationRequired(
        "this needs your password, and you have no fresh cached credentials: \
         approve with jitsudoctl in a terminal, run jitsudo -v in the terminal \
         you call from first, or run jitsudo-agent in your session and allow \
         interactive authorization"
            .into(),
    )
}

/// Runs the review's worker with the daemon as its client, relaying its
/// prompts to the agent of the reviewer: the records of the review.
pub async fn converse(
    conn: &Connection,
    shared: &Arc<Shared>,
    agents: &Agents,
    handover: Handover,
    slot: Slot,
    id: &str,
) -> Result<Vec<GrantRecord>, ApiError> {
    let uid = handover.uid;
    let agent = agents.agent_of(uid).ok_or_else(authentication_required)?;
    let _busy = agents.begin(uid).ok_or_else(|| {
        ApiError::Denied(
            "a password prompt of yours is already open on your desktop; \
             answer it first"
                .into(),
        )
    })?;
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| ApiError::Denied(format!("unable to start a worker: {e}")))?;
    let handing = Arc::clone(shared);
    let handed = tokio::task::spawn_blocking(move || hand_over(theirs, &handing, handover, slot));
    let Ok(Decided::Started(started)) = handed.await else {
        return Err(ApiError::Denied("unable to start a worker".into()));
    };
    tokio::spawn(follow_worker(Arc::clone(shared), *started));
    let timeout = shared.policy().policy.defaults.passwd_timeout;
    let asking = Asking {
        conn,
        agent,
        id,
        timeout,
    };
    asking.relay(&ours).await
}

/// One conversation: where the prompts go.
struct Asking<'a> {
    conn: &'a Connection,
    agent: UniqueName<'static>,
    id: &'a str,
    timeout: Duration,
}

impl Asking<'_> {
    /// Answers the worker's prompts until its reply comes.
    async fn relay(&self, worker: &UnixStream) -> Result<Vec<GrantRecord>, ApiError> {
        let mut reader = FrameReader::new(MAX_FRAME);
        // PAM's messages ("Sorry, try again.") go with the next prompt.
        let mut said = String::new();
        let mut unanswered = false;
        loop {
            let message = read_message::<ServerMessage>(worker, &mut reader)
                .await
                .map_err(|_| ApiError::Denied("the review's worker went away".into()))?;
            match message {
                ServerMessage::Prompt { text, echo } => {
                    said.push_str(&String::from_utf8_lossy(&text));
                    let answer = self.ask(&std::mem::take(&mut said), echo).await;
                    unanswered |= answer.is_none();
                    let frame = answer_frame(answer)?;
                    write_frame(worker, &frame)
                        .await
                        .map_err(|_| ApiError::Denied("the review's worker went away".into()))?;
                }
                ServerMessage::Notice { text, .. } => {
                    said.push_str(&String::from_utf8_lossy(&text));
                    said.push('\n');
                }
                // The worker's words for a terminal's client; ours below.
                ServerMessage::Warning(_) => {}
                ServerMessage::Grants(records) => return Ok(records),
                ServerMessage::Error(failure) => return Err(refusal(failure.into(), unanswered)),
                _ => return Err(ApiError::Denied("unexpected reply".into())),
            }
        }
    }

    /// Asks the agent; `None` if it cannot or does not answer in time.
    async fn ask(&self, prompt: &str, echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let body = (self.id, prompt, echo);
        let call = self.conn.call_method(
            Some(self.agent.as_ref()),
            AGENT_PATH,
            Some(AGENT_INTERFACE),
            "Ask",
            &body,
        );
        let reply = tokio::time::timeout(self.timeout, call).await.ok()?.ok()?;
        let answer: String = reply.body().deserialize().ok()?;
        Some(Zeroizing::new(answer.into_bytes()))
    }
}

/// The worker's answer, encoded ([`encode_answer`]: every copy zeroed);
/// the agent's answer is zeroed when dropped here.
fn answer_frame(answer: Option<Zeroizing<Vec<u8>>>) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    encode_answer(answer.as_deref().map(Vec::as_slice)).map_err(|e| ApiError::Denied(e.to_string()))
}

/// A failed review: "a password is required" after the agent gave no
/// answer is `AuthenticationRequired`, saying so.
fn refusal(error: ApiError, unanswered: bool) -> ApiError {
    match error {
        ApiError::Denied(text) if unanswered && text == "a password is required" => {
            ApiError::AuthenticationRequired(format!(
                "{text}: your agent gave no answer (its dialog was cancelled or could \
                 not be shown, or no answer came within passwd_timeout)"
            ))
        }
        error => error,
    }
}
