//! Decides arbitrary requests against an arbitrary policy. The input is
//! the policy text, a NUL byte, then the request: caller uid and gid (4
//! bytes each), target uid (4), flags (1: tty, setenv, `-g`, digest, a
//! group dropped, origin), time (8), then NUL-separated command path, host,
//! and arguments.
//! Checks: no panic, `explain` agrees with `decide`, and a request a deny
//! rule matches is refused.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use jitsudo_policy::{
    parse, Caller, Context, Decision, Effect, GroupRef, Origin, Precedence, Reason, Request,
    RuleRole, Source, TargetUser, Timestamp,
};
use libfuzzer_sys::fuzz_target;

/// Takes `N` bytes (zero-padded when the input runs out).
fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let n = N.min(data.len());
    out[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    out
}

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let Ok(policy) = parse(&[Source {
        name: "fuzz.toml".to_owned(),
        text: text.to_owned(),
    }]) else {
        return;
    };
    let mut rest = &data[split + 1..];
    let uid = u32::from_le_bytes(take(&mut rest));
    let gid = u32::from_le_bytes(take(&mut rest));
    let target_uid = u32::from_le_bytes(take(&mut rest));
    let [flags] = take::<1>(&mut rest);
    let time = i64::from_le_bytes(take(&mut rest));
    let mut fields = rest.split(|&b| b == 0);
    let command = fields.next().unwrap_or_default().to_vec();
    let host = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let args: Vec<OsString> = fields.map(|a| OsString::from_vec(a.to_vec())).collect();
    let groups = [
        GroupRef {
            gid,
            name: Some("sudo"),
        },
        GroupRef {
            gid: gid.wrapping_add(1),
            name: None,
        },
    ];
    let origin = match flags >> 5 {
        0 => Origin::Local,
        1 => Origin::Ssh,
        2 => Origin::None,
        _ => Origin::Unknown,
    };
    let command = Path::new(std::ffi::OsStr::from_bytes(&command));
    let request = Request {
        caller: Caller {
            uid,
            name: Some("alice"),
            // Bit 4: the second group was dropped from the process (it
            // still counts for deny rules).
            groups: if flags & 16 != 0 {
                &groups[..1]
            } else {
                &groups
            },
            deny_groups: if flags & 16 != 0 { &groups[1..] } else { &[] },
        },
        run_as_user: TargetUser {
            uid: target_uid,
            name: (target_uid == 0).then_some("root"),
            primary_gid: target_uid,
            is_caller_by_default: flags & 4 != 0,
        },
        run_as_group: (flags & 4 != 0).then_some(GroupRef {
            gid: 4,
            name: Some("adm"),
        }),
        command,
        executable: None,
        args: &args,
        wants_setenv: flags & 2 != 0,
        chdir: None,
        command_digest: (flags & 8 != 0).then_some([flags; 32]),
        context: Context {
            now: Timestamp {
                unix_seconds: time,
                local_utc_offset: i32::from(flags) * 600,
            },
            has_tty: flags & 1 != 0,
            origin,
            host: &host,
        },
    };
    let _ = policy.needs_digest(&request);
    let decision = policy.decide(&request);
    let explanation = policy.explain(&request);
    assert_eq!(explanation.allowed, matches!(decision, Decision::Allow(_)));
    let deny_matches = explanation
        .rules
        .iter()
        .any(|r| r.effect == Effect::Deny && r.matched);
    if deny_matches {
        assert!(matches!(
            decision,
            Decision::Deny(ref refusal) if refusal.reason == Reason::DeniedByRule
        ));
        assert_eq!(explanation.precedence, Precedence::DenyBeatsAllow);
    }
    if let Decision::Allow(allowed) = &decision {
        let decided = explanation
            .rules
            .iter()
            .filter(|r| r.matched && r.effect == Effect::Allow)
            .last()
            .map(|r| (r.id.as_str(), r.role));
        assert_eq!(decided, Some((allowed.rule_id.as_str(), RuleRole::Decided)));
    }
});
