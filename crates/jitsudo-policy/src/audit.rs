//! What the audit trail must take before a command starts: the
//! `audit_failure` and `audit_sinks` keys.

use serde::{Deserialize, Serialize};

use crate::model::Policy;

/// What happens to a command whose `exec.accept` event did not reach every
/// required sink (`audit_failure` in `[defaults]` and in a rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditFailure {
    /// The command does not start (the default).
    #[default]
    Deny,
    /// The command runs; the failure is reported where it can be.
    Allow,
}

/// An audit sink (`audit_sinks` in `[defaults]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditSink {
    /// The system journal (native protocol).
    Journald,
    /// The syslog daemon on `/dev/log`.
    Syslog,
    /// The local hash-chained JSON-lines trail.
    File,
}

impl AuditSink {
    /// The sink's name, as in the policy and in error reports.
    pub fn name(self) -> &'static str {
        match self {
            AuditSink::Journald => "journald",
            AuditSink::Syslog => "syslog",
            AuditSink::File => "file",
        }
    }
}

/// The sinks events are written to when no `audit_log` is set: all three.
pub const DEFAULT_AUDIT_LOG: [AuditSink; 3] =
    [AuditSink::Journald, AuditSink::Syslog, AuditSink::File];

/// The sinks required when no `audit_sinks` is set: the local trail, the
/// one sink the daemon does not share with anything else.
pub const DEFAULT_AUDIT_SINKS: [AuditSink; 1] = [AuditSink::File];

/// When the daemon writes an `audit.checkpoint` event naming the trail's
/// head (`audit_checkpoint_records`, `audit_checkpoint_interval`): after
/// `records` new records, or `interval` after the last checkpoint if any
/// record was written since; and when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Checkpoints {
    /// Records written since the last checkpoint that call for one.
    pub records: u32,
    /// The longest time a written record waits for its checkpoint.
    pub interval: std::time::Duration,
}

impl Default for Checkpoints {
    /// 1000 records or 15 minutes.
    fn default() -> Self {
        Checkpoints {
            records: 1000,
            interval: std::time::Duration::from_secs(15 * 60),
        }
    }
}

/// Bounds of `audit_checkpoint_records`.
pub const CHECKPOINT_RECORDS_BOUNDS: (u32, u32) = (1, 1_000_000);

/// Bounds of `audit_checkpoint_interval`: 10 seconds to a day.
pub const CHECKPOINT_INTERVAL_BOUNDS: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_secs(10),
    std::time::Duration::from_secs(24 * 3600),
);

/// The size cap of a session recording when `record_max_bytes` is unset.
pub const DEFAULT_RECORD_MAX_BYTES: u64 = 64 << 20;

/// How a rule's commands are recorded (`record`, `record_input`,
/// `record_max_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct Recording {
    /// Whether what the caller types is recorded too.
    pub input: bool,
    /// The recording's size cap, in bytes.
    pub max_bytes: u64,
}

/// What must hold before a command under one rule starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct AuditGuard {
    /// What a failure of a required sink does.
    pub failure: AuditFailure,
    /// The sinks the `exec.accept` event must reach.
    pub required: Vec<AuditSink>,
    /// The sinks events are written to at all (`audit_log`).
    pub log: Vec<AuditSink>,
    /// The session recording the command must have, if any.
    pub recording: Option<Recording>,
}

impl Default for AuditGuard {
    /// The built-in defaults: deny, the local trail required.
    fn default() -> Self {
        AuditGuard {
            failure: AuditFailure::Deny,
            required: DEFAULT_AUDIT_SINKS.to_vec(),
            log: DEFAULT_AUDIT_LOG.to_vec(),
            recording: None,
        }
    }
}

impl Policy {
    /// The guard for a command allowed by rule `rule_id`: the rule's
    /// `audit_failure`, else the default's, the default `audit_sinks` and
    /// `audit_log`, and
    /// the rule's recording.
    pub fn audit_guard(&self, rule_id: &str) -> AuditGuard {
        let rule = self.rule(rule_id);
        AuditGuard {
            failure: rule
                .and_then(|rule| rule.audit_failure)
                .unwrap_or(self.defaults.audit_failure),
            required: self.defaults.audit_sinks.clone(),
            log: self.defaults.audit_log.clone(),
            recording: rule.filter(|rule| rule.record).map(|rule| Recording {
                input: rule.record_input,
                max_bytes: self.defaults.record_max_bytes,
            }),
        }
    }
}
