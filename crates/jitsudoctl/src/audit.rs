//! `jitsudoctl audit`: read the local trail (who ran what as whom, who held
//! which grant), prove its hash chain (`verify`), and sum up privilege held
//! per user (`exposure`). See docs/audit.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use jitsudo_audit::{Record, VerifyError};

use crate::Format;

/// The trail the daemon writes unless told otherwise.
const TRAIL: &str = jitsudo_audit::DEFAULT_TRAIL;

/// `jitsudoctl audit ...`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    #[command(flatten)]
    query: Query,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Prove the hash chain of the trail: every record unaltered, none
    /// deleted, inserted or moved, none missing at the end. Give rotated
    /// files oldest first (audit.jsonl.2 audit.jsonl.1 audit.jsonl).
    Verify {
        /// Files of the trail, oldest first.
        #[arg(default_value = TRAIL)]
        files: Vec<PathBuf>,
        /// Also check the trail against the daemon's checkpoints in the
        /// systemd journal (from root): a trail rewritten after a
        /// checkpoint was logged no longer matches it.
        #[arg(long)]
        journal: bool,
        /// With --journal: only checkpoints logged at or after this time
        /// (2026-11-01T00:00:00Z) or this long ago (30d), e.g. since the
        /// oldest file given was started.
        #[arg(long, requires = "journal")]
        since: Option<String>,
    },
    /// Privilege held per user: elevations, minutes under grants and in
    /// commands, standing access the policy gives, approvals per approver,
    /// median approval wait.
    Exposure {
        /// Start of the period: a time (2026-11-01T00:00:00Z) or how long
        /// ago (30d, 12h).
        #[arg(long, default_value = "30d")]
        since: String,
        #[command(flatten)]
        source: SourceArgs,
        /// The policy whose standing (grant-less) rules count as standing
        /// access.
        #[arg(long, default_value = crate::POLICY)]
        policy: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Where the records come from: the trail's files, or the journal.
#[derive(Args)]
struct SourceArgs {
    /// Files of the trail, oldest first.
    #[arg(long = "file", default_value = TRAIL)]
    files: Vec<PathBuf>,
    /// Read jitsudo's events from the systemd journal (journalctl) instead
    /// of the trail.
    #[arg(long, conflicts_with = "files")]
    journal: bool,
}

impl SourceArgs {
    fn source(&self) -> Source<'_> {
        if self.journal {
            Source::Journal
        } else {
            Source::Trail(&self.files)
        }
    }
}

/// Where `jitsudoctl audit` reads records.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// These files of the trail, oldest first.
    Trail(&'a [PathBuf]),
    /// The systemd journal.
    Journal,
}

/// The filters of `jitsudoctl audit`.
#[derive(Args)]
struct Query {
    /// Records at or after this time (2026-11-01T00:00:00Z) or this long
    /// ago (2h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Records before this time, or this long ago.
    #[arg(long)]
    until: Option<String>,
    /// Records about this user (the requester).
    #[arg(long)]
    user: Option<String>,
    /// Records about this grant or request id.
    #[arg(long)]
    grant: Option<String>,
    /// Records decided by this rule id.
    #[arg(long)]
    rule: Option<String>,
    #[command(flatten)]
    source: SourceArgs,
    /// Output format: text, or one JSON record per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs `jitsudoctl audit`.
pub fn run(args: &AuditArgs) -> ExitCode {
    let result = match &args.command {
        Some(AuditCommand::Verify {
            files,
            journal,
            since,
        }) => verify(files, journal.then_some(since.as_deref())),
        Some(AuditCommand::Exposure {
            since,
            source,
            policy,
            format,
        }) => crate::exposure::run(since, source.source(), policy, *format),
        None => query(&args.query),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("jitsudoctl: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `verify`; with `journal` (`Some(since)`), against the checkpoints too.
fn verify(files: &[PathBuf], journal: Option<Option<&str>>) -> Result<ExitCode, String> {
    match jitsudo_audit::verify(files) {
        Ok(verified) => {
            let start = if verified.starts_after == jitsudo_audit::GENESIS {
                "from the first record ever written".to_owned()
            } else {
                format!("continuing a chain ending in {}", verified.starts_after)
            };
            println!(
                "audit trail verified: {} records, {start}; last hash {}",
                verified.records, verified.last_hash
            );
            match journal {
                Some(since) => crate::checkpoints::check(files, since),
                None => Ok(ExitCode::SUCCESS),
            }
        }
        Err(VerifyError::Broken(broken)) => {
            println!("audit trail BROKEN at {broken}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A time given on the command line: RFC 3339 (`2026-11-01T10:00:00Z`,
/// `2026-11-01 10:00:00`) or a duration before now (`30d`).
pub fn parse_moment(text: &str) -> Result<SystemTime, String> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!("{text:?} is neither a time (2026-11-01T10:00:00Z) nor a duration (30d, 2h)")
    })?;
    SystemTime::now()
        .checked_sub(ago)
        .ok_or_else(|| format!("{text:?} reaches before the epoch"))
}

/// When a record was written.
pub fn record_time(record: &Record) -> Option<SystemTime> {
    humantime::parse_rfc3339(record.text("time")?).ok()
}

/// Reads the records of `source` written in `[since, until)`.
pub fn records_between(
    source: Source<'_>,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    mut keep: impl FnMut(&Record) -> bool,
) -> Result<Vec<Record>, String> {
    let mut in_period = |record: &Record| {
        let Some(time) = record_time(record) else {
            return false;
        };
        since.is_none_or(|s| time >= s) && until.is_none_or(|u| time < u) && keep(record)
    };
    match source {
        Source::Trail(files) => jitsudo_audit::read(files, in_period).map_err(|e| e.to_string()),
        Source::Journal => {
            crate::journal::records(since, until, &jitsudo_audit::EventKind::ALL, &mut in_period)
        }
    }
}

fn query(query: &Query) -> Result<ExitCode, String> {
    let since = query.since.as_deref().map(parse_moment).transpose()?;
    let until = query.until.as_deref().map(parse_moment).transpose()?;
    let filters = [
        ("JITSUDO_USER", &query.user),
        ("JITSUDO_GRANT_ID", &query.grant),
        ("JITSUDO_RULE", &query.rule),
    ];
    let records = records_between(query.source.source(), since, until, |record| {
        filters.iter().all(|(field, wanted)| {
            wanted
                .as_deref()
                .is_none_or(|v| record.text(field) == Some(v))
        })
    })?;
    for record in &records {
        match query.format {
            Format::Json => println!("{}", serde_json::Value::Object(record.fields.clone())),
            Format::Text => println!("{}", line(record)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `time host event: message`.
fn line(record: &Record) -> String {
    let text = |name| record.text(name).unwrap_or("-");
    format!(
        "{} {} {}: {}",
        text("time"),
        text("host"),
        text("JITSUDO_EVENT"),
        text("MESSAGE")
    )
}

/// Minutes in `d`.
pub fn minutes(d: Duration) -> f64 {
    d.as_secs_f64() / 60.0
}
