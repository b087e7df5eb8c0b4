//! `jitsudoctl status`: is the daemon up, which policy is in force, how did
//! the last reload go, how busy is it (connections, workers, grants), can
//! it log. Exit 1 when the daemon cannot be reached or an audit sink the
//! policy requires is down, so monitoring can run it as it is.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use jitsudo_proto::{DaemonStatus, Request, ServerMessage, SinkHealth, StatusDetails};
use serde_json::json;

use crate::daemon::{ask, print_failure};
use crate::Format;

/// Prints the daemon's status as `format`.
pub fn run(socket: &Path, format: Format) -> ExitCode {
    match ask(socket, Request::Status) {
        Ok(ServerMessage::Status(status)) => {
            match format {
                Format::Text => print!("{}", text(&status)),
                Format::Json => println!("{}", to_json(&status)),
            }
            let sinks = status
                .details
                .as_ref()
                .map_or(&[][..], |d| &d.audit_sinks[..]);
            if sinks.iter().any(|s| s.required && s.error.is_some()) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        other => print_failure(other, socket),
    }
}

/// `1h 2m 3s`.
fn ago(secs: u64) -> String {
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn text(status: &DaemonStatus) -> String {
    let mut out = format!(
        "jitsudod {} (protocol {}): running\npolicy {}\n",
        status.version, status.protocol, status.policy_hash
    );
    match &status.details {
        Some(details) => out += &details_text(details),
        None => out += "(the daemon's state is for root: run jitsudoctl status as root)\n",
    }
    out
}

fn details_text(details: &StatusDetails) -> String {
    let mut out = format!("up {}\n", ago(details.uptime_secs));
    out += &format!("policy loaded {} ago from:\n", ago(details.policy_age_secs));
    for file in &details.policy_files {
        out += &format!("  {file}\n");
    }
    out += &match &details.last_reload {
        None => "last reload: none since start\n".to_owned(),
        Some(reload) => match &reload.error {
            None => format!("last reload: {} ago, in force\n", ago(reload.age_secs)),
            Some(error) => format!(
                "last reload: {} ago, REFUSED (the policy above stays in force):\n{error}\n",
                ago(reload.age_secs)
            ),
        },
    };
    out += &format!(
        "connections: {}, waiting for a password: {}\n",
        details.connections, details.pending_auth
    );
    let w = &details.workers;
    out += &format!(
        "workers: {} idle, {} starting, {} bound (waiting for a password), {} busy\n",
        w.idle, w.starting, w.bound, w.busy
    );
    out += &match &details.grants {
        Some(g) => format!(
            "grants: {} active, {} approved (not started); requests: {} pending\n",
            g.active, g.approved, g.pending_requests
        ),
        None => "grants: the grant store could not be read (see the daemon's log)\n".to_owned(),
    };
    out += &sinks_text(&details.audit_sinks);
    out
}

/// `audit sinks: journald ok (required), file DOWN: ... (required)`.
fn sinks_text(sinks: &[SinkHealth]) -> String {
    let each: Vec<String> = sinks
        .iter()
        .map(|s| {
            let state = s
                .error
                .as_ref()
                .map_or("ok".to_owned(), |e| format!("DOWN: {e}"));
            let required = if s.required { " (required)" } else { "" };
            format!("  {} {state}{required}\n", s.name)
        })
        .collect();
    format!("audit sinks:\n{}", each.concat())
}

fn to_json(status: &DaemonStatus) -> serde_json::Value {
    let details = status.details.as_ref().map(|d| {
        json!({
            "uptime_secs": d.uptime_secs,
            "policy_files": d.policy_files,
            "policy_age_secs": d.policy_age_secs,
            "last_reload": d.last_reload.as_ref().map(|r| json!({
                "age_secs": r.age_secs,
                "ok": r.error.is_none(),
                "error": r.error,
            })),
            "connections": d.connections,
            "pending_auth": d.pending_auth,
            "workers": {
                "idle": d.workers.idle,
                "starting": d.workers.starting,
                "bound": d.workers.bound,
                "busy": d.workers.busy,
            },
            "grants": d.grants.as_ref().map(|g| json!({
                "pending_requests": g.pending_requests,
                "approved": g.approved,
                "active": g.active,
            })),
            "audit_sinks": d.audit_sinks.iter().map(|s| json!({
                "name": s.name,
                "required": s.required,
                "ok": s.error.is_none(),
                "error": s.error,
            })).collect::<Vec<_>>(),
        })
    });
    json!({
        "running": true,
        "version": status.version,
        "protocol": status.protocol,
        "policy_hash": status.policy_hash,
        "details": details,
    })
}
