//! The trail's checkpoints (docs/audit.md, "Checkpoints"): every
//! `audit_checkpoint_records` records, or `audit_checkpoint_interval`
//! after the last checkpoint when records were written since, and when the
//! daemon stops, an `audit.checkpoint` event names the trail's head in
//! every sink, journald and syslog included.

use std::sync::Arc;
use std::time::Duration;

use jitsudo_policy::AuditSink;

use super::Shared;
use crate::audit::enabled;

/// How often the daemon looks whether a checkpoint is due: reading what
/// was appended since, usually nothing.
const TICK: Duration = Duration::from_secs(5);

/// Writes the checkpoints that fall due, for the daemon's life.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_error = None;
    loop {
        tick.tick().await;
        let checking = Arc::clone(&shared);
        let Ok(outcome) = tokio::task::spawn_blocking(move || if_due(&checking)).await else {
            continue;
        };
        // A trail that cannot be read is said once, not every tick.
        let error = outcome.err();
        if let Some(e) = error.as_ref().filter(|_| error != last_error) {
            eprintln!("jitsudod: cannot checkpoint the audit trail: {e}");
        }
        last_error = error;
    }
}

/// Writes the checkpoint that is due, if one is.
fn if_due(shared: &Shared) -> Result<(), String> {
    if !enabled(AuditSink::File) {
        return Ok(());
    }
    let every = shared.policy().policy.defaults.audit_checkpoint;
    let due = shared.checkpoints.due(every.records, every.interval);
    if let Some(head) = due.map_err(|e| e.to_string())? {
        shared.audit.emit(&head.event());
    }
    Ok(())
}

/// The last checkpoint, as the daemon stops (after `daemon.stop`).
pub(super) fn at_stop(shared: &Shared) {
    if !enabled(AuditSink::File) {
        return;
    }
    match shared.checkpoints.now() {
        Ok(head) => drop(shared.audit.emit(&head.event())),
        Err(e) => eprintln!("jitsudod: cannot checkpoint the audit trail: {e}"),
    }
}
