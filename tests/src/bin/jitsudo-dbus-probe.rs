//! A D-Bus client of jitsudod for the tests, run as a test user:
//!
//! * `listen COUNT`: subscribes, prints `ready`, then prints the first
//!   COUNT signals of `org.jitsudo.Jitsudo1` that come from the daemon's
//!   unique name, one line each (`RequestCreated 3 jt_req asks…`), and
//!   exits 0; exits 3 if they do not come within 30 s.
//! * `subscribe N`: opens N connections and subscribes each, printing
//!   `ok` or `ERROR-NAME message` per connection.
//! * `hold SOCKET N`: opens N connections to jitsudod's socket, prints
//!   `held`, and keeps them until its stdin closes.
//! * `notifications`: a notification server on the session bus
//!   (`org.freedesktop.Notifications`): prints `ready`, then one line per
//!   notification (`notify ID TITLE|BODY|ACTIONS`, newlines in the body
//!   as `\n`); a line `invoke ID KEY` on its stdin clicks action KEY of
//!   notification ID (the `ActionInvoked` signal).
//! * `agent`: a password agent on the system bus (`org.jitsudo.Agent1` at
//!   `/org/jitsudo/Agent1`, then `RegisterAgent`): prints `ready
//!   UNIQUE-NAME` (or the registration's error), then `ask ID PROMPT`
//!   (newlines as `\n`) for each `Ask`, and answers with the next line of
//!   its stdin (a line `-`: declines, as a cancelled dialog).

use std::time::Duration;

use futures_lite::StreamExt;
use zbus::message::Type;
use zbus::{Connection, Message, MessageStream};

const NAME: &str = "org.jitsudo.Jitsudo1";
const PATH: &str = "/org/jitsudo/Jitsudo1";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => fail(&format!("runtime: {e}")),
    };
    let count = |i: usize| args.get(i).and_then(|n| n.parse().ok()).unwrap_or(1);
    let outcome = match args.first().map(String::as_str) {
        Some("listen") => runtime.block_on(listen(count(1))),
        Some("subscribe") => runtime.block_on(subscribe_many(count(1))),
        Some("notifications") => runtime.block_on(notifications()),
        Some("agent") => runtime.block_on(agent()),
        Some("hold") => hold(args.get(1).map_or("", String::as_str), count(2)),
        _ => fail(
            "usage: jitsudo-dbus-probe listen COUNT | subscribe N | hold SOCKET N | notifications | agent",
        ),
    };
    if let Err(e) = outcome {
        fail(&e.to_string());
    }
}

fn fail(text: &str) -> ! {
    eprintln!("jitsudo-dbus-probe: {text}");
    std::process::exit(2)
}

async fn subscribe(conn: &Connection) -> zbus::Result<Message> {
    conn.call_method(Some(NAME), PATH, Some(NAME), "Subscribe", &())
        .await
}

async fn listen(count: usize) -> zbus::Result<()> {
    let conn = Connection::system().await?;
    let daemon = zbus::fdo::DBusProxy::new(&conn)
        .await?
        .get_name_owner(NAME.try_into()?)
        .await?;
    let mut stream = MessageStream::from(&conn);
    subscribe(&conn).await?;
    println!("ready");
    let mut seen = 0;
    let deadline = tokio::time::sleep(Duration::from_secs(30));
    tokio::pin!(deadline);
    while seen < count {
        let msg = tokio::select! {
            msg = stream.next() => match msg {
                Some(msg) => msg?,
                None => break,
            },
            _ = &mut deadline => std::process::exit(3),
        };
        let header = msg.header();
        let from_daemon = header.sender().is_some_and(|s| *s == *daemon);
        let ours = header.interface().is_some_and(|i| i.as_str() == NAME);
        if header.message_type() != Type::Signal || !from_daemon || !ours {
            continue;
        }
        let member = header.member().map(|m| m.to_string()).unwrap_or_default();
        let body = msg.body();
        let line = match body.deserialize::<(String, String)>() {
            Ok((id, text)) => format!("{member} {id} {text}"),
            Err(_) => match body.deserialize::<(String, u64)>() {
                Ok((id, left)) => format!("{member} {id} {left}"),
                Err(e) => format!("{member} ? {e}"),
            },
        };
        println!("{line}");
        seen += 1;
    }
    Ok(())
}

async fn subscribe_many(n: usize) -> zbus::Result<()> {
    let mut held = Vec::new();
    for _ in 0..n {
        let conn = Connection::system().await?;
        match subscribe(&conn).await {
            Ok(_) => println!("ok"),
            Err(zbus::Error::MethodError(name, text, _)) => {
                println!("{} {}", name.as_str(), text.unwrap_or_default())
            }
            Err(e) => println!("error {e}"),
        }
        held.push(conn);
    }
    Ok(())
}

fn hold(socket: &str, n: usize) -> zbus::Result<()> {
    let held = (0..n)
        .map(|_| std::os::unix::net::UnixStream::connect(socket))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| zbus::Error::Failure(format!("connect {socket}: {e}")))?;
    println!("held");
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut rest);
    drop(held);
    Ok(())
}

/// The test notification server's state.
struct Notifications {
    next: std::sync::atomic::AtomicU32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = match replaces_id {
            0 => self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            id => id,
        };
        let body = body.replace('\n', "\\n");
        println!("notify {id} {summary}|{body}|{}", actions.join(","));
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        let name = "jitsudo-dbus-probe".to_owned();
        (name.clone(), "jitsudo".into(), "0".into(), "1.2".into())
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

async fn notifications() -> zbus::Result<()> {
    let server = Notifications {
        next: std::sync::atomic::AtomicU32::new(1),
    };
    let conn = zbus::connection::Builder::session()?
        .serve_at("/org/freedesktop/Notifications", server)?
        .name("org.freedesktop.Notifications")?
        .build()
        .await?;
    println!("ready");
    let emitter = zbus::object_server::SignalEmitter::new(&conn, "/org/freedesktop/Notifications")?;
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    while let Ok(Some(line)) = lines.next_line().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["invoke", id, key] = words[..] {
            let id = id.parse().unwrap_or(0);
            Notifications::action_invoked(&emitter, id, key).await?;
        }
    }
    Ok(())
}

/// The test password agent's state: its answers, from stdin.
struct Agent {
    answers: tokio::sync::Mutex<tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>>,
}

#[zbus::interface(name = "org.jitsudo.Agent1")]
impl Agent {
    async fn ask(&self, id: String, prompt: String, _echo: bool) -> zbus::fdo::Result<String> {
        println!("ask {id} {}", prompt.replace('\n', "\\n"));
        match self.answers.lock().await.next_line().await {
            Ok(Some(line)) if line != "-" => Ok(line),
            _ => Err(zbus::fdo::Error::Failed("no answer".into())),
        }
    }
}

async fn agent() -> zbus::Result<()> {
    let answers = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    let agent = Agent {
        answers: tokio::sync::Mutex::new(answers),
    };
    let conn = zbus::connection::Builder::system()?
        .serve_at("/org/jitsudo/Agent1", agent)?
        .build()
        .await?;
    match conn
        .call_method(Some(NAME), PATH, Some(NAME), "RegisterAgent", &())
        .await
    {
        Ok(_) => println!(
            "ready {}",
            conn.unique_name().map(|n| n.as_str()).unwrap_or("?")
        ),
        Err(zbus::Error::MethodError(name, text, _)) => {
            println!("{} {}", name.as_str(), text.unwrap_or_default())
        }
        Err(e) => println!("error {e}"),
    }
    std::future::pending::<()>().await;
    Ok(())
}
