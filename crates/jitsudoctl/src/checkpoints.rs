//! `jitsudoctl audit verify --journal`: the trail against the daemon's
//! `audit.checkpoint` events in the journal (see
//! [`jitsudo_audit::check_checkpoints`]). Only checkpoints journald saw
//! come from root count, and only those of the trail being verified (its
//! live file, the last one given).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jitsudo_audit::{
    Checkpoint, EventKind, Record, TRAIL_FILE, TRAIL_HEAD, TRAIL_RECORDS, TRAIL_START,
};

/// Checks `files` against the checkpoints logged since `since` (all when
/// `None`); prints the outcome.
pub fn check(files: &[PathBuf], since: Option<&str>) -> Result<ExitCode, String> {
    let since = since.map(crate::audit::parse_moment).transpose()?;
    let live = files
        .last()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
        .ok_or("no trail file given")?;
    let mut ours = |r: &Record| {
        r.text("JITSUDO_EVENT") == Some(EventKind::AuditCheckpoint.name())
            && r.text(TRAIL_FILE).map(Path::new) == Some(live.as_path())
    };
    let records = crate::journal::records(since, None, &[EventKind::AuditCheckpoint], &mut ours)?;
    let checkpoints = records
        .iter()
        .map(|r| {
            checkpoint(r).ok_or_else(|| {
                format!(
                    "a checkpoint in the journal lacks its fields (fail-closed): {}",
                    r.text("MESSAGE").unwrap_or_default()
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match jitsudo_audit::check_checkpoints(files, &checkpoints).map_err(|e| e.to_string())? {
        Ok(()) => {
            println!(
                "audit trail matches its {} checkpoint(s) in the journal",
                checkpoints.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(mismatch) => {
            println!("audit trail REWRITTEN after {mismatch}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The checkpoint a journal record names; `None` if a field is missing.
fn checkpoint(record: &Record) -> Option<Checkpoint> {
    Some(Checkpoint {
        label: format!("of {}", record.text("time")?),
        start: record.text(TRAIL_START)?.to_owned(),
        records: record.text(TRAIL_RECORDS)?.parse().ok()?,
        head: record.text(TRAIL_HEAD)?.to_owned(),
    })
}
