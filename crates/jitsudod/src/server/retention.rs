//! The retention of session recordings (`record_retention`,
//! `record_max_total` in `[defaults]`): the daemon sweeps the sessions
//! directory at start, after each policy reload and every hour, removing
//! the oldest recordings the policy no longer keeps (never one still being
//! written), and logs each sweep that removed some as one
//! `record.remove` event naming every recording it removed.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jitsudo_audit::recording::{sweep, Removed, Retention};
use jitsudo_audit::{Event, EventKind, FieldName};

use super::Shared;

/// How often the sessions directory is swept.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Sweeps now and every [`INTERVAL`].
pub(super) async fn run(shared: Arc<Shared>) {
    loop {
        sweep_now(Arc::clone(&shared)).await;
        tokio::time::sleep(INTERVAL).await;
    }
}

/// One sweep under the policy in force, on the blocking pool.
pub(super) async fn sweep_now(shared: Arc<Shared>) {
    let _ = tokio::task::spawn_blocking(move || sweep_once(&shared)).await;
}

fn sweep_once(shared: &Shared) {
    let defaults = &shared.policy().policy.defaults;
    let retention = Retention {
        max_age: defaults.record_retention,
        max_total: defaults.record_max_total,
    };
    let dir = crate::audit::session_dir();
    match sweep(&dir, &retention, SystemTime::now()) {
        Ok(removed) if removed.is_empty() => {}
        Ok(removed) => {
            shared.audit.emit(&removed_event(&removed, &retention));
        }
        Err(e) => eprintln!("jitsudod: sweeping {}: {e}", dir.display()),
    }
}

/// `record.remove`: how many, why, and each recording's id.
fn removed_event(removed: &[Removed], retention: &Retention) -> Event {
    let bytes: u64 = removed.iter().map(|r| r.bytes).sum();
    let mut bounds = Vec::new();
    if let Some(age) = retention.max_age {
        bounds.push(format!("record_retention {}s", age.as_secs()));
    }
    if let Some(total) = retention.max_total {
        bounds.push(format!("record_max_total {total} bytes"));
    }
    let mut event = Event::new(EventKind::RecordRemoved).reason(format!(
        "{} recordings ({bytes} bytes) removed under {}",
        removed.len(),
        bounds.join(" and ")
    ));
    if let Ok(name) = FieldName::new("JITSUDO_RECORDING") {
        for recording in removed {
            event = event.field(name.clone(), &recording.id);
        }
    }
    event
}
