//! The authentication agent: `org.jitsudo.Agent1` at
//! `/org/jitsudo/Agent1` on the system bus, registered with jitsudod
//! (`RegisterAgent`). When this user approves or denies from the desktop
//! and has no fresh cached credentials, jitsudod runs PAM and calls `Ask`
//! with each prompt; the answer goes back in the method return, unicast to
//! the daemon. Only calls from the unique name that owns
//! `org.jitsudo.Jitsudo1` are answered: nobody else can make the agent ask
//! for the password.
//!
//! The dialog: the program named by `$JITSUDO_ASKPASS` (as `SSH_ASKPASS`:
//! the prompt as its argument, the answer on its standard output), else
//! `zenity --entry --hide-text`; without either the agent declines and
//! the approval fails with `AuthenticationRequired`.

use std::io::Read;
use std::process::{Command, Stdio};

use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::{interface, Connection};
use zeroize::Zeroizing;

use crate::daemon::NAME;

/// Where the agent serves its interface.
pub const PATH: &str = "/org/jitsudo/Agent1";
/// The longest answer read from the dialog.
const MAX_ANSWER: u64 = 4096;

/// The agent's object.
pub struct Asker;

/// Why the agent gives no answer.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.jitsudo.Agent1.Error")]
pub enum AskError {
    /// The bus failed.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// The caller is not jitsudod.
    NotTheDaemon(String),
    /// No dialog could ask, or the user cancelled it.
    Cancelled(String),
}

#[interface(name = "org.jitsudo.Agent1")]
impl Asker {
    /// jitsudod asks this user `prompt` for the review of request `id`;
    /// the answer (`echo`: it may be shown as typed).
    async fn ask(
        &self,
        #[zbus(connection)] conn: &Connection,
        #[zbus(header)] header: Header<'_>,
        id: String,
        prompt: String,
        echo: bool,
    ) -> Result<Answer, AskError> {
        if !from_daemon(conn, &header).await {
            return Err(AskError::NotTheDaemon(
                "only jitsudod may ask for a password".into(),
            ));
        }
        let text = format!("jitsudo: your password to review request {id}\n\n{prompt}");
        let answer = tokio::task::spawn_blocking(move || dialog(&text, echo))
            .await
            .map_err(|e| AskError::Cancelled(e.to_string()))??;
        Answer::from_bytes(answer)
    }
}

/// The dialog's answer, as the method return: serialized by zbus into the
/// reply (a buffer of zbus's own, which nothing here can zero; see
/// docs/dbus.md), then zeroed when dropped. It has no `Debug`: it cannot
/// end up in a log line.
pub struct Answer(Zeroizing<String>);

impl Answer {
    /// The answer as text, moved (not copied) out of `bytes`; anything but
    /// UTF-8 is zeroed and refused.
    fn from_bytes(mut bytes: Zeroizing<Vec<u8>>) -> Result<Answer, AskError> {
        String::from_utf8(std::mem::take(&mut *bytes))
            .map(|text| Answer(Zeroizing::new(text)))
            .map_err(|e| {
                drop(Zeroizing::new(e.into_bytes()));
                AskError::Cancelled("the answer is not UTF-8".into())
            })
    }
}

impl serde::Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl zbus::zvariant::Type for Answer {
    const SIGNATURE: &'static zbus::zvariant::Signature = &zbus::zvariant::Signature::Str;
}

/// Whether `header`'s sender owns jitsudod's name now.
async fn from_daemon(conn: &Connection, header: &Header<'_>) -> bool {
    let Some(sender) = header.sender() else {
        return false;
    };
    let Ok(proxy) = DBusProxy::new(conn).await else {
        return false;
    };
    let Ok(name) = NAME.try_into() else {
        return false;
    };
    proxy
        .get_name_owner(name)
        .await
        .is_ok_and(|owner| *owner == *sender)
}

/// Serves the agent on `conn` and registers it with the daemon.
pub async fn register(conn: &Connection, daemon: &crate::daemon::Daemon) {
    if let Err(e) = conn.object_server().at(PATH, Asker).await {
        eprintln!("jitsudo-agent: cannot serve the password agent: {e}");
        return;
    }
    if let Err(e) = daemon.register_agent().await {
        eprintln!("jitsudo-agent: cannot register as your password agent: {e}");
    }
}

/// Runs the dialog: the answer, without its line end.
fn dialog(text: &str, echo: bool) -> Result<Zeroizing<Vec<u8>>, AskError> {
    let mut command = match std::env::var_os("JITSUDO_ASKPASS") {
        Some(program) => {
            let mut command = Command::new(program);
            command.arg(text);
            command
        }
        None => {
            let mut command = Command::new("zenity");
            command
                .args(["--entry", "--title=jitsudo", "--text"])
                .arg(text);
            if !echo {
                command.arg("--hide-text");
            }
            command
        }
    };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| AskError::Cancelled(format!("no dialog to ask with: {e}")))?;
    // Room for the longest answer up front: a buffer that grew would leave
    // copies of the password behind in freed memory.
    let mut answer = Zeroizing::new(Vec::with_capacity(MAX_ANSWER as usize + 1));
    if let Some(out) = child.stdout.take() {
        let _ = out.take(MAX_ANSWER).read_to_end(&mut answer);
    }
    let status = child
        .wait()
        .map_err(|e| AskError::Cancelled(e.to_string()))?;
    if !status.success() {
        return Err(AskError::Cancelled("the dialog was cancelled".into()));
    }
    while answer.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        answer.pop();
    }
    Ok(answer)
}
