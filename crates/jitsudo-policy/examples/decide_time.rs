//! Times decisions against a generated policy: `cargo run --release
//! --example decide_time [RULES]` (10,000 rules by default). Prints the
//! p50 and p99 of an allowed request, a request refused by a deny rule and
//! a refused request, each asked many times.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use jitsudo_policy::{
    parse, Caller, Context, Decision, GroupRef, Origin, Policy, Request, Source, TargetUser,
    Timestamp,
};

/// The generated policy: per-user rules for distinct commands, some group
/// rules, argument and path patterns, `when` clauses and deny rules.
fn policy_text(rules: usize) -> String {
    let mut text = String::from(
        "[command_sets]\nweb = [\"/usr/bin/systemctl restart nginx\", \"/usr/bin/systemctl reload nginx\"]\n",
    );
    for i in 0..rules {
        let rule = match i % 10 {
            0 => format!("who = [\"%g{}\"]\ncommands = [\"@web\", \"/usr/bin/cmd{i} *.conf\"]", i % 50),
            1 => format!("who = [\"u{i}\"]\ncommands = [\"/opt/app{i}/bin/*\"]"),
            2 => format!(
                "who = [\"u{i}\"]\ncommands = [\"/usr/bin/cmd{i}\"]\nwhen = {{ hours = \"Mon-Fri 08:00-18:00\", tz = \"UTC\" }}"
            ),
            3 => format!("who = [\"u{i}\"]\ncommands = [\"/usr/bin/cmd{i}\"]\neffect = \"deny\""),
            _ => format!("who = [\"u{i}\", \"#{}\"]\ncommands = [\"/usr/bin/cmd{i} arg\"]\nauth = \"none\"", 100_000 + i),
        };
        text.push_str(&format!("[[rule]]\nid = \"r{i}\"\n{rule}\n"));
    }
    text
}

/// p50 and p99 of `samples` decisions of the request.
fn time(policy: &Policy, request: &Request<'_>, samples: usize) -> (Duration, Duration, Decision) {
    let mut times = Vec::with_capacity(samples);
    let mut last = policy.decide(request);
    for _ in 0..samples {
        let start = Instant::now();
        last = std::hint::black_box(policy.decide(std::hint::black_box(request)));
        times.push(start.elapsed());
    }
    times.sort_unstable();
    (times[samples / 2], times[samples * 99 / 100], last)
}

fn main() {
    let rules: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let source = Source {
        name: "bench.toml".to_owned(),
        text: policy_text(rules),
    };
    let start = Instant::now();
    let policy = parse(std::slice::from_ref(&source)).expect("the generated policy is valid");
    println!(
        "{} rules parsed in {:?}",
        policy.rules.len(),
        start.elapsed()
    );

    let groups = [
        GroupRef {
            gid: 100,
            name: Some("users"),
        },
        GroupRef {
            gid: 5000,
            name: Some("g10"),
        },
    ];
    let names: Vec<String> = (0..rules).map(|i| format!("u{i}")).collect();
    let caller = |user: usize| Caller {
        uid: 100_000 + user as u32,
        name: Some(names[user].as_str()),
        groups: &groups,
        deny_groups: &[],
    };
    let root = TargetUser {
        uid: 0,
        name: Some("root"),
        primary_gid: 0,
        is_caller_by_default: false,
    };
    let context = Context {
        now: Timestamp {
            unix_seconds: 1_772_443_800,
            local_utc_offset: 3600,
        },
        has_tty: true,
        origin: Origin::Local,
        host: "web-1",
    };
    let commands: Vec<String> = (0..rules).map(|i| format!("/usr/bin/cmd{i}")).collect();
    let arg = [OsString::from("arg")];
    let web = [OsString::from("restart"), OsString::from("nginx")];
    let request = |user: usize, command: &'static str, args| Request {
        caller: caller(user),
        run_as_user: root,
        run_as_group: None,
        command: Path::new(command),
        executable: None,
        args,
        wants_setenv: false,
        chdir: None,
        command_digest: None,
        context,
    };
    let middle = (rules / 20) * 10;
    let command = |i: usize| -> &'static str { Box::leak(commands[i].clone().into_boxed_str()) };
    let cases = [
        (
            "own rule",
            request(middle + 4, command(middle + 4), &arg[..]),
        ),
        (
            "group rule, command set",
            request(middle + 4, "/usr/bin/systemctl", &web[..]),
        ),
        (
            "rule with `when`",
            request(middle + 2, command(middle + 2), &[][..]),
        ),
        (
            "deny rule",
            request(middle + 3, command(middle + 3), &[][..]),
        ),
        (
            "no rule for the command",
            request(middle + 4, "/usr/bin/other", &[][..]),
        ),
        (
            "path pattern",
            request(middle + 1, "/opt/app/bin/x", &[][..]),
        ),
    ];
    for (label, request) in cases {
        let (p50, p99, decision) = time(&policy, &request, 20_000);
        let verdict = match decision {
            Decision::Allow(a) => format!("allowed by {}", a.rule_id),
            Decision::Deny(r) => format!("refused: {r}"),
        };
        println!("{label:>24}: p50 {p50:?}, p99 {p99:?} ({verdict})");
    }
}
