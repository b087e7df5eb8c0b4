//! jitsudod on the system bus: who it is now (the unique name that owns
//! `org.jitsudo.Jitsudo1`), subscribing to its signals, and the calls the
//! agent makes.

use zbus::fdo::DBusProxy;
use zbus::message::Header;
use zbus::names::{BusName, OwnedUniqueName};
use zbus::Connection;

use crate::record::Record;

/// The daemon's well-known name (and interface).
pub const NAME: &str = "org.jitsudo.Jitsudo1";
const PATH: &str = "/org/jitsudo/Jitsudo1";

/// The daemon, as the agent knows it.
pub struct Daemon {
    conn: Connection,
    me: String,
    owner: Option<OwnedUniqueName>,
}

impl Daemon {
    /// The daemon on `conn`, for user `me`; not attached yet.
    pub fn new(conn: Connection, me: String) -> Daemon {
        Daemon {
            conn,
            me,
            owner: None,
        }
    }

    /// The system bus connection.
    pub fn conn(&self) -> Connection {
        self.conn.clone()
    }

    /// The agent's user.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Learns the daemon's current unique name and subscribes to its
    /// signals (no daemon: waits for one to appear).
    pub async fn attach(&mut self) {
        self.owner = match DBusProxy::new(&self.conn).await {
            Ok(proxy) => match NAME.try_into() {
                Ok(name) => proxy.get_name_owner(name).await.ok(),
                Err(_) => None,
            },
            Err(_) => None,
        };
        if self.owner.is_some() {
            if let Err(e) = self.call::<()>("Subscribe", &()).await {
                eprintln!("jitsudo-agent: cannot subscribe to jitsudod: {e}");
            }
        }
    }

    /// Whether `header` is of a message the daemon itself sent.
    pub fn sent(&self, header: &Header<'_>) -> bool {
        let from_daemon = match (&self.owner, header.sender()) {
            (Some(owner), Some(sender)) => **owner == *sender,
            _ => false,
        };
        from_daemon
            && header.interface().is_some_and(|i| i.as_str() == NAME)
            && header.path().is_some_and(|p| p.as_str() == PATH)
    }

    /// Request or grant `id`, as the daemon shows it to this user.
    pub async fn get(&self, id: &str) -> zbus::Result<Record> {
        self.call("GetRequest", &(id,)).await.map(Record)
    }

    /// The pending requests of others this user may review.
    pub async fn to_review(&self) -> zbus::Result<Vec<Record>> {
        let filter: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
            std::collections::HashMap::new();
        let records: Vec<std::collections::HashMap<String, zbus::zvariant::OwnedValue>> =
            self.call("ListRequests", &(filter,)).await?;
        Ok(records
            .into_iter()
            .map(Record)
            .filter(|record| record.requester() != self.me)
            .collect())
    }

    /// Approves (or denies) request `id`, allowing interactive
    /// authorization: without fresh cached credentials, jitsudod asks for
    /// the password through this agent ([`crate::asker`]).
    pub async fn review(&self, id: &str, approve: bool) -> zbus::Result<Record> {
        let (method, reason) = match approve {
            true => ("Approve", "approved from the desktop"),
            false => ("Deny", "denied from the desktop"),
        };
        let Some(owner) = &self.owner else {
            return Err(zbus::Error::Failure("jitsudod is not on the bus".into()));
        };
        let proxy: zbus::Proxy<'_> = zbus::proxy::Builder::new(&self.conn)
            .destination(owner.as_ref().to_owned())?
            .path(PATH)?
            .interface(NAME)?
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        let flags = zbus::proxy::MethodFlags::AllowInteractiveAuth.into();
        proxy
            .call_with_flags(method, flags, &(id, reason))
            .await?
            .map(Record)
            .ok_or_else(|| zbus::Error::Failure("no reply from jitsudod".into()))
    }

    /// Registers this connection as the user's password agent.
    pub async fn register_agent(&self) -> zbus::Result<()> {
        self.call::<()>("RegisterAgent", &()).await
    }

    async fn call<R>(
        &self,
        method: &str,
        args: &(impl serde::Serialize + zbus::zvariant::DynamicType),
    ) -> zbus::Result<R>
    where
        R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
    {
        let Some(owner) = &self.owner else {
            return Err(zbus::Error::Failure("jitsudod is not on the bus".into()));
        };
        let reply = self
            .conn
            .call_method(
                Some(BusName::Unique(owner.as_ref().to_owned())),
                PATH,
                Some(NAME),
                method,
                args,
            )
            .await?;
        reply.body().deserialize()
    }
}
