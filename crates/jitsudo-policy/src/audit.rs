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

/// The sinks required when no `audit_sinks` is set: the local trail, the
/// one sink the daemon does not share with anything else.
pub const DEFAULT_AUDIT_SINKS: [AuditSink; 1] = [AuditSink::File];

/// What must hold before a command under one rule starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct AuditGuard {
    /// What a failure of a required sink does.
    pub failure: AuditFailure,
    /// The sinks the `exec.accept` event must reach.
    pub required: Vec<AuditSink>,
}

impl Default for AuditGuard {
    /// The built-in defaults: deny, the local trail required.
    fn default() -> Self {
        AuditGuard {
            failure: AuditFailure::Deny,
            required: DEFAULT_AUDIT_SINKS.to_vec(),
        }
    }
}

impl Policy {
    /// The guard for a command allowed by rule `rule_id`: the rule's
    /// `audit_failure`, else the default's, and the default `audit_sinks`.
    pub fn audit_guard(&self, rule_id: &str) -> AuditGuard {
        let rule = self.rules.iter().find(|rule| rule.id == rule_id);
        AuditGuard {
            failure: rule
                .and_then(|rule| rule.audit_failure)
                .unwrap_or(self.defaults.audit_failure),
            required: self.defaults.audit_sinks.clone(),
        }
    }
}
