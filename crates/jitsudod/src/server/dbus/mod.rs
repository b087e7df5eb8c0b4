//! The D-Bus API: `org.jitsudo.Jitsudo1` at `/org/jitsudo/Jitsudo1` on
//! the system bus (`$DBUS_SYSTEM_BUS_ADDRESS`, else the standard socket),
//! served with zbus on the daemon's tokio runtime. Every method is a
//! grant verb of the socket, run through the same route for the caller
//! the bus names ([`caller`]); [`subscribers`] unicasts the workflow's
//! changes as signals. Without a system bus the daemon works as before:
//! it says so once and tries again every [`RETRY`]; so it does when the
//! bus goes away.
//!
//! | part | module |
//! |---|---|
//! | the interface | [`api`] |
//! | who calls, and running a verb for them | [`caller`] |
//! | named errors | [`errors`] |
//! | arguments and records as D-Bus values | [`values`] |
//! | signals, to whom | [`subscribers`] |
//! | authentication agents, and the PAM conversation over the bus | [`agents`] |

mod agents;
mod api;
mod caller;
mod errors;
mod subscribers;
mod values;

use std::sync::Arc;
use std::time::Duration;

use zbus::connection::Builder;
use zbus::Connection;

use super::Shared;
use agents::Agents;
use api::Api;
use subscribers::Subscribers;

/// The well-known bus name.
pub const NAME: &str = "org.jitsudo.Jitsudo1";
/// The object path.
pub const PATH: &str = "/org/jitsudo/Jitsudo1";
/// How often to try again while there is no system bus (or the name is
/// taken).
const RETRY: Duration = Duration::from_secs(10);

/// Serves the API whenever a system bus can be reached, until the daemon
/// stops: a bus that goes away (restarted) is connected to again.
pub async fn serve(shared: Arc<Shared>) {
    let subscribers = Arc::new(Subscribers::default());
    let agents = Arc::new(Agents::default());
    let mut said = false;
    loop {
        let conn = match connect(&shared, &subscribers, &agents).await {
            Ok(conn) => conn,
            Err(e) => {
                if !said {
                    eprintln!(
                        "jitsudod: no D-Bus API for now ({e}); trying again every {}s",
                        RETRY.as_secs()
                    );
                    said = true;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        eprintln!("jitsudod: serving {NAME} on the system bus");
        said = false;
        let signals = tokio::spawn(subscribers::fan_out(
            conn.clone(),
            Arc::clone(&shared),
            Arc::clone(&subscribers),
        ));
        // Returns when the connection is gone.
        let departed = subscribers::forget_departed(conn, &subscribers, &agents).await;
        if let Err(e) = departed {
            eprintln!("jitsudod: D-Bus: {e}");
        }
        signals.abort();
        subscribers.clear();
        agents.clear();
        tokio::time::sleep(RETRY).await;
    }
}

async fn connect(
    shared: &Arc<Shared>,
    subscribers: &Arc<Subscribers>,
    agents: &Arc<Agents>,
) -> zbus::Result<Connection> {
    let api = Api {
        shared: Arc::clone(shared),
        subscribers: Arc::clone(subscribers),
        agents: Arc::clone(agents),
    };
    Builder::system()?
        .serve_at(PATH, api)?
        .name(NAME)?
        .build()
        .await
}
