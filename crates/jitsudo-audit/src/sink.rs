//! The sink trait and the fan-out that sends one event to every sink.

use std::io::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::event::Event;

/// A destination for audit events. Sinks do the only I/O of this crate.
///
/// Implementations must be cheap to call, bounded in time (use timeouts
/// rather than blocking forever on a stalled log daemon) and must not
/// panic.
pub trait Sink: Send + Sync {
    /// Writes one event.
    fn emit(&self, ev: &Event) -> io::Result<()>;

    /// Short name used in error reports (`journald`, `syslog`).
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Whether the sink could take an event now, without writing one.
    fn probe(&self) -> io::Result<()> {
        Ok(())
    }

    /// Opens now, before any event, what the first event would open (a
    /// socket, files that exist already), so that writing it costs less.
    /// Writes nothing and makes nothing: a sink left out of the policy's
    /// `audit_log` may still be prepared. Errors are left for
    /// [`Sink::emit`] to meet and report.
    fn prepare(&self) {}
}

/// Whether a daemon listens on the datagram socket at `path`: connecting
/// fails with `ECONNREFUSED` when nothing is bound there.
pub(crate) fn datagram_listener(path: &std::path::Path) -> io::Result<()> {
    std::os::unix::net::UnixDatagram::unbound()?
        .connect(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A sink that failed to take an event, as reported by [`Audit::emit`].
#[derive(Debug)]
pub struct SinkError {
    /// [`Sink::name`] of the failing sink.
    pub sink: String,
    /// What went wrong.
    pub error: io::Error,
}

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit sink {}: {}", self.sink, self.error)
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Fan-out to a list of sinks.
///
/// [`Audit::emit`] offers every event to **every** sink, in order, whatever
/// the others did: a refusal is still attempted on syslog when journald is
/// down, and the other way round. A failing sink never fails the caller and
/// never panics it: a log outage must not block or break a command, so
/// errors are written to stderr (which the service manager captures) and
/// returned for the caller to count or ignore.
#[derive(Default)]
pub struct Audit {
    sinks: Vec<Box<dyn Sink>>,
}

impl Audit {
    /// An empty fan-out; events go nowhere until sinks are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sink (builder style).
    #[must_use]
    pub fn with_sink(mut self, sink: impl Sink + 'static) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a sink.
    pub fn add_sink(&mut self, sink: Box<dyn Sink>) {
        self.sinks.push(sink);
    }

    /// Number of sinks.
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there is no sink.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Probes every sink: its name and whether it could take an event.
    pub fn probe(&self) -> Vec<(String, io::Result<()>)> {
        self.sinks
            .iter()
            .map(|sink| (sink.name().to_owned(), sink.probe()))
            .collect()
    }

    /// Lets every sink open ahead what its first event needs
    /// ([`Sink::prepare`]), e.g. in a worker waiting for its job.
    pub fn prepare(&self) {
        for sink in &self.sinks {
            sink.prepare();
        }
    }

    /// Sends `ev` to every sink. Returns the failures (empty when all
    /// sinks took the event); each failure is also written to stderr. A
    /// panicking sink is reported as a failure (with `panic = "unwind"`;
    /// under `panic = "abort"` sinks must simply not panic).
    pub fn emit(&self, ev: &Event) -> Vec<SinkError> {
        let mut failures = Vec::new();
        for sink in &self.sinks {
            let result = catch_unwind(AssertUnwindSafe(|| sink.emit(ev)))
                .unwrap_or_else(|_| Err(io::Error::other("sink panicked")));
            if let Err(error) = result {
                let failure = SinkError {
                    sink: sink.name().to_owned(),
                    error,
                };
                // stderr may itself be gone; there is nothing more to do then.
                let _ = writeln!(
                    io::stderr().lock(),
                    "jitsudo-audit: {} event {} not logged: {failure}",
                    ev.kind(),
                    ev.kind().message_id()
                );
                failures.push(failure);
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Counting(Arc<AtomicUsize>);
    impl Sink for Counting {
        fn emit(&self, _: &Event) -> io::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    struct Failing;
    impl Sink for Failing {
        fn emit(&self, _: &Event) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::ConnectionRefused))
        }
        fn name(&self) -> &str {
            "failing"
        }
    }

    struct Panicking;
    impl Sink for Panicking {
        fn emit(&self, _: &Event) -> io::Result<()> {
            panic!("boom")
        }
    }

    #[test]
    fn every_sink_gets_the_event_despite_failures() {
        let count = Arc::new(AtomicUsize::new(0));
        let audit = Audit::new()
            .with_sink(Failing)
            .with_sink(Counting(count.clone()))
            .with_sink(Panicking)
            .with_sink(Counting(count.clone()));
        assert_eq!(audit.len(), 4);
        let failures = audit.emit(&Event::new(EventKind::ExecReject));
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].sink, "failing");
        assert_eq!(failures[0].error.kind(), io::ErrorKind::ConnectionRefused);
        assert!(failures[1].sink.ends_with("Panicking"));
    }
}
