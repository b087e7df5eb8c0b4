//! The section 8 pages: clap_mangen renders the title, name, synopsis,
//! description and options; this module adds each subcommand's options, the
//! EXAMPLES, FILES and SEE ALSO sections, and jitsudo's option list, which
//! is the table `jitsudo -h` prints (sudo's wording).

use std::fs;
use std::io;
use std::path::Path;

use clap::{Arg, Command};
use clap_mangen::Man;

use super::{jitsudo, jitsudo_cli, jitsudoctl, jitsudod, markdown};

/// One entry of jitsudo's option table: `-D, --chdir=directory  text`.
pub struct OptionLine {
    /// The short flag letter, if any.
    pub short: Option<char>,
    /// The long flag name (without `--` and `=value`), if any.
    pub long: Option<String>,
    /// The flags as printed, `-D, --chdir=directory`.
    pub flags: String,
    /// The description.
    pub text: String,
}

/// The option lines of jitsudo's `-h` output.
pub fn option_lines(help: &str) -> Vec<OptionLine> {
    help.lines()
        .filter(|line| line.starts_with("  -") || line.starts_with("      --"))
        .filter_map(|line| {
            let (flags, text) = line.trim_start().split_once("  ")?;
            let short = flags
                .strip_prefix('-')
                .and_then(|rest| rest.chars().next())
                .filter(|c| *c != '-');
            let long = flags
                .split(", ")
                .find_map(|flag| flag.strip_prefix("--"))
                .map(|long| long.split('=').next().unwrap_or(long).to_owned())
                .filter(|long| !long.is_empty());
            Some(OptionLine {
                short,
                long,
                flags: flags.to_owned(),
                text: text.trim().to_owned(),
            })
        })
        .collect()
}

/// The argument of `cmd` an option line describes: the one with both its
/// short and long flag, else the one with its short flag (`-E` beside
/// `--preserve-env`), else the one with its long flag.
pub fn arg_of(cmd: &Command, line: &OptionLine) -> Option<String> {
    let short = |arg: &Arg| line.short.is_some() && arg.get_short() == line.short;
    let long = |arg: &Arg| line.long.is_some() && arg.get_long() == line.long.as_deref();
    let args = || cmd.get_arguments();
    args()
        .find(|arg| short(arg) && (line.long.is_none() || long(arg)))
        .or_else(|| args().find(|arg| short(arg)))
        .or_else(|| args().find(|arg| long(arg)))
        .map(|arg| arg.get_id().to_string())
}

/// Writes jitsudo.8, jitsudoctl.8, jitsudod.8 and jitsudo-policy.5.
pub fn write(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("jitsudo.8"), jitsudo_page()?)?;
    fs::write(dir.join("jitsudoctl.8"), jitsudoctl_page()?)?;
    fs::write(dir.join("jitsudod.8"), jitsudod_page()?)?;
    fs::write(dir.join("jitsudo-policy.5"), markdown::policy_page())
}

/// Escapes text for roff: backslashes, dashes, and a leading `.` or `'`.
pub fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A man page's skeleton: title and NAME by clap_mangen, then `body`.
fn page(
    cmd: Command,
    body: impl FnOnce(&Man, &mut Vec<u8>) -> io::Result<()>,
) -> io::Result<String> {
    let man = Man::new(cmd)
        .section("8")
        .manual("System Administration")
        .source(format!("jitsudo {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    body(&man, &mut out)?;
    String::from_utf8(out).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn jitsudo_page() -> io::Result<String> {
    let help = jitsudo_cli::help_text();
    page(jitsudo(), |_, out| {
        out.extend(section("SYNOPSIS"));
        for usage in help.split("usage: ").skip(1) {
            let usage = usage.split("\n\n").next().unwrap_or(usage);
            let words = usage.split_whitespace().collect::<Vec<_>>().join(" ");
            out.extend(format!(".HP\n{}\n", escape(&words)).bytes());
        }
        out.extend(section("DESCRIPTION"));
        out.extend(paragraphs(JITSUDO_DESCRIPTION).bytes());
        out.extend(section("OPTIONS"));
        for line in option_lines(&help) {
            out.extend(tagged(&format!("\\fB{}\\fR", escape(&line.flags)), &line.text).bytes());
        }
        out.extend(EXAMPLES_JITSUDO.bytes());
        out.extend(common_tail().bytes());
        Ok(())
    })
}

fn jitsudoctl_page() -> io::Result<String> {
    page(jitsudoctl(), |man, out| {
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        out.extend(section("COMMANDS"));
        out.extend(commands(&jitsudoctl(), "jitsudoctl").bytes());
        out.extend(EXAMPLES_JITSUDOCTL.bytes());
        out.extend(common_tail().bytes());
        Ok(())
    })
}

fn jitsudod_page() -> io::Result<String> {
    page(jitsudod(), |man, out| {
        man.render_synopsis_section(out)?;
        out.extend(section("DESCRIPTION"));
        out.extend(paragraphs(JITSUDOD_DESCRIPTION).bytes());
        man.render_options_section(out)?;
        out.extend(EXAMPLES_JITSUDOD.bytes());
        out.extend(common_tail().bytes());
        Ok(())
    })
}

/// Every leaf subcommand of `cmd` as a subsection: its usage, what it does,
/// its options and arguments.
fn commands(cmd: &Command, path: &str) -> String {
    let mut text = String::new();
    // clap's own `help` subcommand is not a command of ours.
    let ours = |sub: &&Command| !sub.is_hide_set() && sub.get_name() != "help";
    for sub in cmd.get_subcommands().filter(ours) {
        let path = format!("{path} {}", sub.get_name());
        if sub.has_subcommands() {
            text += &commands(sub, &path);
            continue;
        }
        text += &format!(".SS \"{}\"\n", escape(&path));
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            text += &paragraphs(&about.to_string());
        }
        for arg in sub.get_arguments().filter(|arg| !arg.is_hide_set()) {
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string);
            text += &tagged(&arg_tag(arg), &help.unwrap_or_default());
        }
    }
    text
}

/// `\fB--format\fR \fIFORMAT\fR`, `\fB-h\fR, \fB--help\fR`, `\fIFILES\fR...`.
fn arg_tag(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| format!("\\fI{}\\fR", escape(n)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| {
            format!(
                "\\fI{}\\fR",
                escape(&arg.get_id().to_string().to_uppercase())
            )
        });
    let mut flags = Vec::new();
    if let Some(short) = arg.get_short() {
        flags.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        flags.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    match (flags.is_empty(), takes_value) {
        (true, _) => value,
        (false, true) => format!("{} {value}", flags.join(", ")),
        (false, false) => flags.join(", "),
    }
}

fn section(name: &str) -> Vec<u8> {
    format!(".SH {name}\n").into_bytes()
}

/// `.TP` with a tag already in roff and an escaped body.
fn tagged(tag: &str, body: &str) -> String {
    format!(".TP\n{tag}\n{}\n", escape(body.trim()))
}

/// Blank-line separated paragraphs, escaped.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| {
            format!(
                ".PP\n{}\n",
                escape(&p.split_whitespace().collect::<Vec<_>>().join(" "))
            )
        })
        .collect()
}

/// FILES and SEE ALSO, the same on every page.
fn common_tail() -> String {
    format!("{FILES}.SH \"SEE ALSO\"\n{}\n", SEE_ALSO)
}

const JITSUDO_DESCRIPTION: &str = "\
jitsudo runs a command as another user (root by default), with sudo's \
command line, but without being setuid: it sends the request to the root \
daemon jitsudod(8) over /run/jitsudo/jitsudod.sock. The daemon identifies \
the caller from the kernel, decides by the policy (jitsudo-policy(5)), \
asks for the caller's password through PAM when the rule says so, and runs \
the command in a worker process, on a pty of its own when the caller is on \
a terminal, or on the caller's own standard input, output and error.

The command's exit status is jitsudo's. Every acceptance, refusal and exit \
is logged to syslog (authpriv) and journald.";

const JITSUDOD_DESCRIPTION: &str = "\
jitsudod is the root daemon behind jitsudo(8): it listens on a Unix socket, \
identifies each caller from the kernel (SO_PEERCRED), decides each request \
by the policy in /etc/jitsudo (jitsudo-policy(5)), logs the decision, and \
runs accepted commands in a per-request worker process (forked by \
jitsudod --fork-server). \
It is normally run by systemd (jitsudod.service). SIGHUP (systemctl reload \
jitsudod) re-reads the policy; an invalid new policy is refused and the old \
one stays in force.";

const EXAMPLES_JITSUDO: &str = r".SH EXAMPLES
.TP
.B jitsudo id
Run id(1) as root: prints uid=0(root) ...
.TP
.B jitsudo \-u nobody id \-un
Run a command as another user: prints nobody.
.TP
.B jitsudo \-l
List what you may run.
.TP
.B echo hello | jitsudo tee /root/hello >/dev/null
Write a file only root may write.
.TP
.B jitsudo \-V
Print the client's version, the daemon's, and the hash of the policy in force.
";

const EXAMPLES_JITSUDOCTL: &str = r".SH EXAMPLES
.TP
.B jitsudoctl status
Is the daemon up, which policy is in force, how did the last reload go,
what its workers do, how many grant requests wait and grants are in force
(as root; exit 1 if the daemon cannot be reached).
.TP
.B jitsudoctl status \-\-format json
The same for monitoring.
.TP
.B jitsudoctl policy check
Check the installed policy, as jitsudod would read it; exit 1 on errors.
.TP
.B jitsudoctl policy import\-sudoers /etc/sudoers > /tmp/from\-sudoers.toml
Convert sudoers; what could not be converted faithfully goes to stderr.
.TP
.B jitsudoctl policy diff /etc/jitsudo/policy.toml /tmp/from\-sudoers.toml
Who gains and who loses which command as whom.
.TP
.B jitsudoctl policy explain \-\-user root \-\- /usr/bin/id
What the daemon decides for root running id, and why (as root).
.TP
.B jitsudoctl policy reload
Make jitsudod re\-read the policy now (as root).
";

const EXAMPLES_JITSUDOD: &str = r".SH EXAMPLES
.TP
.B systemctl restart jitsudod
Start or restart the daemon under systemd (running commands live on).
.TP
.B systemctl reload jitsudod
Re\-read the policy.
.TP
.B /usr/sbin/jitsudod
Start the daemon without systemd (it detaches; as root).
";

const FILES: &str = r".SH FILES
.TP
.I /etc/jitsudo/policy.toml
The policy; drop\-ins in
.IR /etc/jitsudo/policy.d/*.toml .
.TP
.I /run/jitsudo/jitsudod.sock
The daemon's socket.
.TP
.I /etc/pam.d/jitsudo
The PAM service.
.TP
.I /var/lib/jitsudo
The daemon's state.
";

const SEE_ALSO: &str =
    "jitsudo(8), jitsudoctl(8), jitsudod(8), jitsudo\\-policy(5), sudo(8), pam(7)";
