//! `jitsudoctl audit exposure`: the privilege-minutes view. Per user, over
//! a period read from the trail: elevations (commands started), minutes
//! spent in elevated commands, minutes holding grants, and the minutes the
//! policy's standing (grant-less) rules make available; approvals per
//! approver and the median wait from request to grant.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jitsudo_audit::Record;
use jitsudo_policy::{files, Caller, Effect, GroupRef, Policy};
use serde_json::json;

use crate::audit::{minutes, parse_moment, record_time, records_between, Source};
use crate::Format;

/// What one user held.
#[derive(Default)]
struct Held {
    elevations: u64,
    command: Duration,
    grants: Duration,
}

/// The whole report.
#[derive(Default)]
struct Report {
    users: BTreeMap<String, Held>,
    approvals: BTreeMap<String, u64>,
    /// Request creation time and requester, by id.
    requested: BTreeMap<String, SystemTime>,
    /// Grants active at the end of the period: holder and start.
    open: BTreeMap<String, (String, SystemTime)>,
    waits: Vec<Duration>,
}

/// Runs the report over `source` since `since`.
pub fn run(
    since: &str,
    source: Source<'_>,
    policy: &Path,
    format: Format,
) -> Result<ExitCode, String> {
    let since = parse_moment(since)?;
    let now = SystemTime::now();
    let mut report = Report::default();
    for record in records_between(source, Some(since), None, |_| true)? {
        report.add(&record);
    }
    report.close_open_grants(now);
    let period = now.duration_since(since).unwrap_or_default();
    let policy = load_policy(policy);
    let standing = |user: &str| {
        policy.as_ref().map(|p| {
            if has_standing_rule(p, user) {
                period
            } else {
                Duration::ZERO
            }
        })
    };
    match format {
        Format::Text => print!("{}", report.text(&standing)),
        Format::Json => println!("{}", report.json(since, &standing)),
    }
    Ok(ExitCode::SUCCESS)
}

impl Report {
    fn add(&mut self, record: &Record) {
        let (Some(event), Some(time)) = (record.text("JITSUDO_EVENT"), record_time(record)) else {
            return;
        };
        let user = record.text("JITSUDO_USER").unwrap_or("unknown").to_owned();
        let id = record.text("JITSUDO_GRANT_ID").map(str::to_owned);
        match (event, id) {
            ("exec.accept", _) => self.users.entry(user).or_default().elevations += 1,
            ("exec.exit", _) => {
                let secs = record.text("JITSUDO_RUN_TIME").and_then(|t| t.parse().ok());
                if let Some(secs) = secs.and_then(|s: f64| Duration::try_from_secs_f64(s).ok()) {
                    self.users.entry(user).or_default().command += secs;
                }
            }
            ("request.create", Some(id)) => {
                self.requested.insert(id, time);
            }
            ("request.review", _) if record.text("JITSUDO_DECISION") == Some("approve") => {
                let approver = record.text("JITSUDO_ACTOR").unwrap_or("unknown");
                *self.approvals.entry(approver.to_owned()).or_default() += 1;
            }
            ("grant.activate", Some(id)) => {
                if let Some(asked) = self.requested.get(&id) {
                    self.waits
                        .push(time.duration_since(*asked).unwrap_or_default());
                }
                let start = epoch_field(record, "JITSUDO_STARTS_AT").unwrap_or(time);
                self.open.insert(id, (user, start));
            }
            ("grant.expire" | "grant.revoke" | "grant.done", Some(id)) => {
                // From its start when the period saw it, else as the event says.
                let used = match self.open.remove(&id) {
                    Some((_, start)) => time.duration_since(start).unwrap_or_default(),
                    None => Duration::from_secs(
                        record
                            .text("JITSUDO_USED_SECONDS")
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0),
                    ),
                };
                self.users.entry(user).or_default().grants += used;
            }
            _ => {}
        }
    }

    /// Grants still active count up to now.
    fn close_open_grants(&mut self, now: SystemTime) {
        for (user, start) in std::mem::take(&mut self.open).into_values() {
            let held = now.duration_since(start).unwrap_or_default();
            self.users.entry(user).or_default().grants += held;
        }
    }

    fn median_wait(&self) -> Option<Duration> {
        let mut waits = self.waits.clone();
        waits.sort();
        waits
            .get(waits.len() / 2)
            .copied()
            .filter(|_| !waits.is_empty())
    }

    fn text(&self, standing: &dyn Fn(&str) -> Option<Duration>) -> String {
        let mut out = format!(
            "{:<16} {:>10} {:>12} {:>12} {:>14}\n",
            "USER", "ELEVATIONS", "COMMAND-MIN", "GRANT-MIN", "STANDING-MIN"
        );
        for (user, held) in &self.users {
            let standing = standing(user).map_or("?".to_owned(), |d| format!("{:.1}", minutes(d)));
            out += &format!(
                "{user:<16} {:>10} {:>12.1} {:>12.1} {standing:>14}\n",
                held.elevations,
                minutes(held.command),
                minutes(held.grants)
            );
        }
        let approvals: Vec<String> = self
            .approvals
            .iter()
            .map(|(who, n)| format!("{who} {n}"))
            .collect();
        out += &format!(
            "approvals: {}\n",
            if approvals.is_empty() {
                "none".to_owned()
            } else {
                approvals.join(", ")
            }
        );
        out += &match self.median_wait() {
            Some(wait) => format!(
                "median approval wait: {}\n",
                humantime::format_duration(Duration::from_secs(wait.as_secs()))
            ),
            None => "median approval wait: no approved request\n".to_owned(),
        };
        out
    }

    fn json(
        &self,
        since: SystemTime,
        standing: &dyn Fn(&str) -> Option<Duration>,
    ) -> serde_json::Value {
        let users: Vec<_> = self
            .users
            .iter()
            .map(|(user, held)| {
                json!({
                    "user": user,
                    "elevations": held.elevations,
                    "command_minutes": minutes(held.command),
                    "grant_minutes": minutes(held.grants),
                    "standing_minutes": standing(user).map(minutes),
                })
            })
            .collect();
        json!({
            "since": humantime::format_rfc3339_seconds(since).to_string(),
            "users": users,
            "approvals": self.approvals,
            "median_approval_wait_secs": self.median_wait().map(|d| d.as_secs()),
        })
    }
}

fn epoch_field(record: &Record, name: &str) -> Option<SystemTime> {
    let secs: u64 = record.text(name)?.parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// The installed policy, or `None` (standing access then shows as `?`).
fn load_policy(path: &Path) -> Option<Policy> {
    let sources = files::installed_sources(path).ok()?;
    jitsudo_policy::parse(&sources).ok()
}

/// Whether an allow rule without a `grant` table applies to `user` (as the
/// group database lists their groups).
fn has_standing_rule(policy: &Policy, user: &str) -> bool {
    let Ok(Some(account)) = nix::unistd::User::from_name(user) else {
        return false;
    };
    let Ok(name) = std::ffi::CString::new(user) else {
        return false;
    };
    let gids = nix::unistd::getgrouplist(&name, account.gid).unwrap_or_default();
    let names: Vec<Option<String>> = gids
        .iter()
        .map(|gid| {
            nix::unistd::Group::from_gid(*gid)
                .ok()
                .flatten()
                .map(|g| g.name)
        })
        .collect();
    let groups: Vec<GroupRef<'_>> = gids
        .iter()
        .zip(&names)
        .map(|(gid, name)| GroupRef {
            gid: gid.as_raw(),
            name: name.as_deref(),
        })
        .collect();
    let caller = Caller {
        uid: account.uid.as_raw(),
        name: Some(user),
        groups: &groups,
        deny_groups: &groups,
    };
    policy.rules.iter().any(|rule| {
        rule.effect == Effect::Allow
            && rule.grant.is_none()
            && rule.who.iter().any(|who| who.matches(&caller))
    })
}
