//! Parses arbitrary text as policy sources (split on lines `#---`): no
//! panic, and a policy that loads explains and diffs itself consistently.

#![no_main]

use std::path::Path;

use jitsudo_policy::{
    entitlement_diff, parse, parse_with_warnings, Caller, Context, Decision, Origin, Request,
    Source, TargetUser, Timestamp,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources: Vec<Source> = text
        .split("\n#---\n")
        .enumerate()
        .map(|(i, part)| Source {
            name: format!("{i}.toml"),
            text: part.to_owned(),
        })
        .collect();
    let parsed = parse_with_warnings(&sources);
    assert_eq!(
        parsed.as_ref().map(|p| &p.policy),
        parse(&sources).as_ref(),
        "parse and parse_with_warnings disagree"
    );
    let Ok(parsed) = parsed else {
        return;
    };
    for error in &parsed.warnings {
        assert!(error.line >= 1 && error.column >= 1);
    }
    let policy = parsed.policy;
    assert!(entitlement_diff(&policy, &policy).is_empty());
    let request = Request {
        caller: Caller {
            uid: 1000,
            name: Some("alice"),
            groups: &[],
            deny_groups: &[],
        },
        run_as_user: TargetUser {
            uid: 0,
            name: Some("root"),
            primary_gid: 0,
            is_caller_by_default: false,
        },
        run_as_group: None,
        command: Path::new("/usr/bin/id"),
        executable: None,
        args: &[],
        wants_setenv: false,
        chdir: None,
        command_digest: None,
        context: Context {
            now: Timestamp {
                unix_seconds: 1_772_443_800,
                local_utc_offset: 0,
            },
            has_tty: true,
            origin: Origin::Local,
            host: "web-1",
        },
    };
    let allowed = matches!(policy.decide(&request), Decision::Allow(_));
    assert_eq!(policy.explain(&request).allowed, allowed);
});
