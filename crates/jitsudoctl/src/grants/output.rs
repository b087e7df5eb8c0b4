//! Printing grant records: one line each for people, or JSON.

use std::io::Write;
use std::time::Duration;

use jitsudo_proto::GrantRecord;

use crate::Format;

/// Prints the records: JSON (an array for listings, else the one record),
/// or one line each.
pub(super) fn show(records: &[GrantRecord], listing: bool, format: Format) {
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        let json = match (listing, records) {
            (false, [one]) => serde_json::to_string_pretty(one),
            _ => serde_json::to_string_pretty(records),
        };
        let _ = writeln!(out, "{}", json.unwrap_or_default());
        return;
    }
    for record in records {
        let _ = writeln!(out, "{}", line(record));
    }
}

/// One record for people.
fn line(r: &GrantRecord) -> String {
    let mut text = format!(
        "{} {} {}: {} for {}s",
        r.id,
        r.state,
        r.requester,
        what(r),
        r.duration
    );
    text.push_str(&state_detail(r));
    if let Some(uses) = r.max_uses {
        text.push_str(&format!(", {} of {uses} uses", r.uses));
    }
    if let Some(reason) = &r.reason {
        text.push_str(&format!(", reason: {reason}"));
    }
    if let Some(ticket) = &r.ticket {
        text.push_str(&format!(", ticket: {ticket}"));
    }
    text
}

/// What the record grants: a command, a group, capabilities, a shell or a rule.
fn what(r: &GrantRecord) -> String {
    match (r.kind.as_str(), &r.command, &r.group, &r.caps) {
        (_, Some(command), _, _) => format!(
            "command `{}` as {}",
            command.join(" "),
            r.run_as.as_deref().unwrap_or("root")
        ),
        (_, _, Some(group), _) => format!("group {group} (rule {})", r.rule),
        (_, _, _, Some(caps)) => format!("caps {} (rule {})", caps.join(","), r.rule),
        ("shell", ..) => format!(
            "shell as {} (rule {})",
            r.run_as.as_deref().unwrap_or("root"),
            r.rule
        ),
        _ => format!("rule {}", r.rule),
    }
}

/// The part of the line that depends on the state: approvals and deadline,
/// time left, start, or end.
fn state_detail(r: &GrantRecord) -> String {
    match r.state.as_str() {
        "pending" => {
            let approvals = r.reviews.iter().filter(|v| v.decision == "approve").count();
            format!(
                ", {approvals}/{} approvals, decide by {}",
                r.quorum,
                show_time(r.deadline_at)
            )
        }
        "active" => {
            let left = r.expires_at.map_or(0, |e| e - now());
            format!(
                ", until {} ({}s left)",
                show_time(r.expires_at.unwrap_or(0)),
                left.max(0)
            )
        }
        "approved" => format!(", starts {}", r.start),
        _ => r
            .ended_at
            .map(|end| format!(", ended {}", show_time(end)))
            .unwrap_or_default(),
    }
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-12-01T15:04:05Z`.
fn show_time(at: i64) -> String {
    let time = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()
}
