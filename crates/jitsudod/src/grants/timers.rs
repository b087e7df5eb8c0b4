//! Deadlines: requests not approved in time expire; approved grants whose
//! start time came become active; holders are warned ahead of the end;
//! grants whose time is up expire; break-glass grants not cleared by
//! their follow-up time are logged (`grant.overdue`); ended grants are
//! torn down (everything
//! in the grant's cgroup gets SIGTERM, then SIGKILL after the grace). The
//! task sleeps until the next deadline, or until a verb wakes it.
//!
//! A grant ended by a verb, or found ended but not torn down at start-up
//! (the daemon was killed), has `killed` unset until its teardown ran.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::events::{self, Transition};
use super::record::{Record, State};
use super::teardown;
use super::workflow::activate;
use super::{now, Grants};

/// The longest the task sleeps without looking (a clock set back, a lost
/// wake-up).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Runs forever.
pub async fn run(grants: Arc<Grants>) {
    loop {
        let ticking = Arc::clone(&grants);
        let next = tokio::task::spawn_blocking(move || tick(&ticking))
            .await
            .ok()
            .flatten();
        let sleep = next.map_or(MAX_SLEEP, until).min(MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = grants.wake.notified() => {}
        }
    }
}

/// How long until `at` (seconds since the epoch).
fn until(at: i64) -> Duration {
    let target = UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0));
    target
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}

/// Acts on everything due; returns the next deadline.
fn tick(grants: &Arc<Grants>) -> Option<i64> {
    let at = now();
    let records = match grants.store.transact(|tx| tx.unfinished()) {
        Ok(records) => records,
        Err(e) => {
            eprintln!("jitsudod: {e}");
            return Some(at + 1);
        }
    };
    let mut next = follow_ups(grants, at);
    for record in records {
        if let Some(deadline) = step(grants, record, at) {
            next = Some(next.map_or(deadline, |n| n.min(deadline)));
        }
    }
    next
}

/// Logs `grant.overdue` (at `crit`) for each break-glass grant whose
/// follow-up time passed uncleared, once: the store notes it after the
/// event went out (a daemon killed in between logs it again when it
/// starts, rather than never). Returns the next follow-up time.
fn follow_ups(grants: &Arc<Grants>, at: i64) -> Option<i64> {
    let uncleared = match grants.store.transact(|tx| tx.overdue_unlogged()) {
        Ok(uncleared) => uncleared,
        Err(e) => {
            eprintln!("jitsudod: {e}");
            return Some(at + 1);
        }
    };
    let mut next: Option<i64> = None;
    for (id, follow_up_at) in uncleared {
        if follow_up_at > at {
            next = Some(next.map_or(follow_up_at, |n| n.min(follow_up_at)));
            continue;
        }
        let logged = grants.store.transact(|tx| tx.get(&id)).and_then(|record| {
            let Some(record) = record else {
                return Ok(());
            };
            events::emit_break_glass(grants, &record, Transition::Overdue, follow_up_at);
            grants.store.transact(|tx| tx.overdue_logged(&id, at))
        });
        if let Err(e) = logged {
            eprintln!("jitsudod: {e}");
        }
    }
    next
}

/// Acts on one record if something of it is due; its next deadline.
fn step(grants: &Arc<Grants>, record: Record, at: i64) -> Option<i64> {
    let warn = grants.timing(&record.rule_id).warn;
    let warn_ahead = i64::try_from(warn.as_secs()).unwrap_or(0);
    match record.state {
        State::Pending | State::Approved
            if record.deadline_at <= at && first_use(&record, true) =>
        {
            change(
                grants,
                record,
                |r| {
                    r.state = State::Expired;
                    r.ended_at = Some(at);
                    r.end_reason = Some("not approved or used in time".into());
                    r.killed = Some(0);
                },
                Transition::RequestExpire,
            );
            None
        }
        State::Pending => Some(record.deadline_at),
        State::Approved => match record.start_at {
            Some(start) if start <= at => {
                change(grants, record, |r| activate(r, start), Transition::Activate);
                Some(at)
            }
            Some(start) => Some(start),
            None => Some(record.deadline_at),
        },
        State::Active => {
            let expires = record.expires_at.unwrap_or(at);
            if expires <= at {
                change(
                    grants,
                    record,
                    |r| {
                        r.state = State::Expired;
                        r.ended_at = Some(expires);
                        r.end_reason = Some("expired".into());
                    },
                    Transition::End,
                );
                None
            } else if !record.warned && expires - warn_ahead <= at {
                let left = expires - at;
                teardown::warn(&record, left);
                change(grants, record, |r| r.warned = true, Transition::Warn);
                Some(expires)
            } else if record.warned {
                Some(expires)
            } else {
                Some(expires - warn_ahead)
            }
        }
        _ if record.killed.is_none() => {
            start_teardown(grants, record);
            None
        }
        _ => None,
    }
}

/// Whether an approved record is a first-use grant (whose deadline is for
/// its first use); pending records always pass.
fn first_use(record: &Record, pending_passes: bool) -> bool {
    match record.state {
        State::Pending => pending_passes,
        _ => record.start == "first-use",
    }
}

/// Applies `f` to `record` in a transaction (if it did not change
/// meanwhile) and logs `transition`; an ending starts the teardown.
fn change(
    grants: &Arc<Grants>,
    record: Record,
    f: impl FnOnce(&mut Record),
    transition: Transition,
) {
    let changed = grants.store.transact(|tx| {
        let Some(mut current) = tx.get(&record.id)? else {
            return Ok(None);
        };
        if current.state != record.state || current.expires_at != record.expires_at {
            return Ok(None);
        }
        f(&mut current);
        tx.update(&current)?;
        Ok::<_, super::store::StoreError>(Some(current))
    });
    match changed {
        Ok(Some(current)) => {
            if transition != Transition::End {
                events::emit(grants, &current, transition, None);
            }
            if current.killed.is_none()
                && !current.state.is_live()
                && current.state != State::Pending
            {
                start_teardown(grants, current);
            }
        }
        Ok(None) => {}
        Err(e) => eprintln!("jitsudod: {e}"),
    }
}

/// Ends what runs under the grant on a thread of its own (each grant's
/// grace runs in parallel), then records how many processes were killed
/// and logs the end.
fn start_teardown(grants: &Arc<Grants>, record: Record) {
    if !grants.tearing(&record.id, true) {
        return;
    }
    let grants = Arc::clone(grants);
    std::thread::spawn(move || {
        let killed = teardown::end(&grants, &record);
        let done = grants.store.transact(|tx| {
            let Some(mut current) = tx.get(&record.id)? else {
                return Ok(None);
            };
            current.killed = Some(killed);
            tx.update(&current)?;
            Ok::<_, super::store::StoreError>(Some(current))
        });
        grants.tearing(&record.id, false);
        match done {
            Ok(Some(current)) => events::emit(&grants, &current, Transition::End, None),
            Ok(None) => {}
            Err(e) => eprintln!("jitsudod: {e}"),
        }
    });
}
