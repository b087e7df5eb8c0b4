//! Times the parsing of a generated policy: `cargo run --release --example
//! load_time [RULES]` (10,000 rules by default).

use std::time::Instant;

use jitsudo_policy::{parse, Source};

fn main() {
    let rules: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let mut text = String::new();
    for i in 0..rules {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\nwho = [\"u{i}\"]\ncommands = [\"/usr/bin/cmd{i} arg\"]\nauth = \"none\"\n"
        ));
    }
    let source = Source {
        name: "bench.toml".to_owned(),
        text,
    };
    let start = Instant::now();
    let policy = parse(std::slice::from_ref(&source)).expect("the generated policy is valid");
    let elapsed = start.elapsed();
    println!("{} rules parsed in {elapsed:?}", policy.rules.len());
}
