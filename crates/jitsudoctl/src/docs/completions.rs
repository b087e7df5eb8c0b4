//! Shell completions (clap_complete) for bash, zsh and fish, laid out as
//! the shells look for them: `bash-completion/completions/NAME`,
//! `zsh/vendor-completions/_NAME`, `fish/vendor_completions.d/NAME.fish`
//! (each under /usr/share). jitsudo's bash completion is the small wrapper
//! packaging/completions/jitsudo.bash (sudo-style: the command after the
//! options completes as that command), filled in with jitsudo's options.
//! jitsudoctl's get packaging/completions/jitsudoctl-requests.* added:
//! `approve`/`deny` complete the ids of pending requests, asked of the
//! daemon (`JITSUDOCTL_COMPLETE=requests jitsudoctl`, see `complete.rs`).

use std::fs;
use std::io;
use std::path::Path;

use clap::{Arg, Command};
use clap_complete::{generate, Shell};

use super::{jitsudo, jitsudoctl, jitsudod};

/// The bash wrapper for jitsudo, with `@OPTIONS@`, `@VALUED@` and
/// `@VALUED_RE@` to fill in.
const JITSUDO_BASH: &str = include_str!("../../../../packaging/completions/jitsudo.bash");

/// What jitsudoctl's completion gets added, for each shell.
const REQUESTS_BASH: &str =
    include_str!("../../../../packaging/completions/jitsudoctl-requests.bash");
const REQUESTS_FISH: &str =
    include_str!("../../../../packaging/completions/jitsudoctl-requests.fish");
const REQUESTS_ZSH: &str =
    include_str!("../../../../packaging/completions/jitsudoctl-requests.zsh");

/// The generated zsh action for approve's and deny's id.
const ZSH_ID: &str = "':id -- The request or grant:_default'";

/// Writes every completion script under `dir`.
pub fn write(dir: &Path) -> io::Result<()> {
    for (mut cmd, name) in [
        (jitsudoctl(), "jitsudoctl"),
        (jitsudod(), "jitsudod"),
        (jitsudo(), "jitsudo"),
    ] {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            if shell == Shell::Bash && name == "jitsudo" {
                continue;
            }
            let path = dir.join(location(shell, name));
            let mut script = Vec::new();
            generate(shell, &mut cmd, name, &mut script);
            if name == "jitsudoctl" {
                script = with_requests(shell, &String::from_utf8_lossy(&script)).into_bytes();
            }
            write_file(&path, &script)?;
        }
    }
    let bash = dir.join(location(Shell::Bash, "jitsudo"));
    write_file(&bash, jitsudo_bash(&jitsudo()).as_bytes())
}

/// Where `shell` finds the completion of `name`, below /usr/share.
pub fn location(shell: Shell, name: &str) -> String {
    match shell {
        Shell::Zsh => format!("zsh/vendor-completions/_{name}"),
        Shell::Fish => format!("fish/vendor_completions.d/{name}.fish"),
        _ => format!("bash-completion/completions/{name}"),
    }
}

fn write_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, contents)
}

/// jitsudoctl's generated completion for `shell`, with approve's and
/// deny's id completed from the daemon's pending requests.
fn with_requests(shell: Shell, script: &str) -> String {
    match shell {
        Shell::Bash => format!("{script}{REQUESTS_BASH}"),
        Shell::Fish => format!("{script}{REQUESTS_FISH}"),
        Shell::Zsh => {
            let action = ZSH_ID.replace("_default", "_jitsudoctl_requests");
            let mut out = script.to_owned();
            for verb in ["\n(approve)\n", "\n(deny)\n"] {
                out = replace_in_block(&out, verb, ZSH_ID, &action);
            }
            let call = "if [ \"$funcstack[1]\" = \"_jitsudoctl\" ]";
            out.replacen(call, &format!("{REQUESTS_ZSH}{call}"), 1)
        }
        _ => script.to_owned(),
    }
}

/// `text` with the first `from` after the first `start` (up to the
/// block's `;;`) replaced by `to`.
fn replace_in_block(text: &str, start: &str, from: &str, to: &str) -> String {
    let Some(at) = text.find(start) else {
        return text.to_owned();
    };
    let end = text[at..].find(";;").map_or(text.len(), |e| at + e);
    let block = text[at..end].replacen(from, to, 1);
    format!("{}{block}{}", &text[..at], &text[end..])
}

/// The bash wrapper with jitsudo's flags filled in.
fn jitsudo_bash(cmd: &Command) -> String {
    let flags = |arg: &Arg| {
        let short = arg.get_short().map(|c| format!("-{c}"));
        let long = arg.get_long().map(|l| format!("--{l}"));
        short.into_iter().chain(long)
    };
    let visible = || {
        cmd.get_arguments()
            .filter(|arg| !arg.is_positional() && !arg.is_hide_set())
    };
    let options: Vec<String> = visible().flat_map(flags).collect();
    let takes_value = |arg: &&Arg| {
        arg.get_num_args().is_some_and(|n| n.min_values() > 0) && !arg.is_require_equals_set()
    };
    let valued: Vec<String> = visible().filter(takes_value).flat_map(flags).collect();
    JITSUDO_BASH
        .replace("@OPTIONS@", &options.join(" "))
        .replace("@VALUED@", &valued.join(" "))
        .replace("@VALUED_RE@", &format!("^({})$", valued.join("|")))
}
