//! Writing the converted policy as TOML text: values quoted as TOML basic
//! strings, comments made safe, one `[[rule]]` table per rule.

use std::fmt::Write as _;

/// A converted rule, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleOut {
    /// The rule id.
    pub id: String,
    /// True for `effect = "deny"` (no options are then written).
    pub deny: bool,
    /// `who` entries.
    pub who: Vec<String>,
    /// `run_as` entries.
    pub run_as: Vec<String>,
    /// `run_as_groups` entries (omitted when empty).
    pub run_as_groups: Vec<String>,
    /// `commands` entries.
    pub commands: Vec<CommandOut>,
    /// `auth = "none"` when true, `"password"` otherwise.
    pub nopasswd: bool,
    /// `setenv = true`.
    pub setenv: bool,
    /// `cwd`.
    pub cwd: Option<String>,
    /// `timeout`.
    pub timeout: Option<String>,
    /// `when`, if any condition is set.
    pub when: WhenOut,
}

/// A rule's `when` clause (written only when a condition is set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WhenOut {
    /// `hosts` patterns (empty: any host).
    pub hosts: Vec<String>,
    /// `tty = true`.
    pub tty: bool,
    /// `dates`, such as `"2026-01-01..2026-06-30"`.
    pub dates: Option<String>,
    /// `tz` for `dates`.
    pub tz: Option<String>,
}

impl WhenOut {
    /// The inline table, or `None` when no condition is set.
    fn to_toml(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.hosts.is_empty() {
            parts.push(format!("hosts = {}", string_array(&self.hosts)));
        }
        if self.tty {
            parts.push("tty = true".to_owned());
        }
        if let Some(dates) = &self.dates {
            parts.push(format!("dates = {}", quote(dates)));
        }
        if let Some(tz) = &self.tz {
            parts.push(format!("tz = {}", quote(tz)));
        }
        (!parts.is_empty()).then(|| format!("{{ {} }}", parts.join(", ")))
    }
}

/// A `commands` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandOut {
    /// `"ALL"`.
    All,
    /// `"@name"`: a command set (a converted `Cmnd_Alias`).
    Set(String),
    /// A program, its arguments (`None`: any) and its pinned digest.
    Program {
        /// The path (possibly a pattern).
        path: String,
        /// `None`: any arguments; `Some([])`: none; else these words.
        args: Option<Vec<String>>,
        /// Lower-case hexadecimal SHA-256.
        sha256: Option<String>,
    },
    /// `"sudoedit FILE"`: editing one file (possibly a pattern).
    Edit(String),
}

/// Quotes `text` as a TOML basic string.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Makes `text` safe inside a TOML comment (no control characters but tab).
pub(crate) fn comment_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// A TOML array of quoted strings on one line.
pub(crate) fn string_array(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| quote(item)).collect();
    format!("[{}]", quoted.join(", "))
}

/// Whether an argument can stand in the string form of a command (which
/// splits on whitespace, takes `""` alone as "no arguments" and refuses
/// quotes).
fn plain_word(word: &str) -> bool {
    !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || c == '"')
}

impl CommandOut {
    /// The entry as a TOML value: the string form when it can express it,
    /// the table form otherwise.
    pub(crate) fn to_toml(&self) -> String {
        let (path, args, sha256) = match self {
            CommandOut::All => return quote("ALL"),
            CommandOut::Set(name) => return quote(&format!("@{name}")),
            CommandOut::Edit(file) => return quote(&format!("sudoedit {file}")),
            CommandOut::Program { path, args, sha256 } => (path, args, sha256),
        };
        let string_form = plain_word(path)
            && match args {
                None => true,
                Some(args) => args.iter().all(|word| plain_word(word)),
            };
        if string_form {
            let mut line = String::new();
            if let Some(hex) = sha256 {
                let _ = write!(line, "sha256:{hex} ");
            }
            line.push_str(path);
            match args {
                Some(args) if args.is_empty() => line.push_str(" \"\""),
                Some(args) => {
                    for word in args {
                        line.push(' ');
                        line.push_str(word);
                    }
                }
                None => {}
            }
            return quote(&line);
        }
        let mut table = format!("{{ path = {}", quote(path));
        if let Some(args) = args {
            let _ = write!(table, ", args = {}", string_array(args));
        }
        if let Some(hex) = sha256 {
            let _ = write!(table, ", sha256 = {}", quote(hex));
        }
        table.push_str(" }");
        table
    }
}

impl RuleOut {
    /// The `[[rule]]` table.
    pub(crate) fn to_toml(&self) -> String {
        let mut out = String::from("[[rule]]\n");
        let _ = writeln!(out, "id = {}", quote(&self.id));
        if self.deny {
            out.push_str("effect = \"deny\"\n");
        }
        let _ = writeln!(out, "who = {}", string_array(&self.who));
        let _ = writeln!(out, "run_as = {}", string_array(&self.run_as));
        if !self.run_as_groups.is_empty() {
            let _ = writeln!(out, "run_as_groups = {}", string_array(&self.run_as_groups));
        }
        let commands: Vec<String> = self.commands.iter().map(CommandOut::to_toml).collect();
        let one_line = format!("commands = [{}]", commands.join(", "));
        if one_line.len() <= 100 {
            out.push_str(&one_line);
            out.push('\n');
        } else {
            out.push_str("commands = [\n");
            for command in &commands {
                let _ = writeln!(out, "    {command},");
            }
            out.push_str("]\n");
        }
        if self.deny {
            if let Some(when) = self.when.to_toml() {
                let _ = writeln!(out, "when = {when}");
            }
            return out;
        }
        let _ = writeln!(
            out,
            "auth = {}",
            quote(if self.nopasswd { "none" } else { "password" })
        );
        if self.setenv {
            out.push_str("setenv = true\n");
        }
        if let Some(cwd) = &self.cwd {
            let _ = writeln!(out, "cwd = {}", quote(cwd));
        }
        if let Some(timeout) = &self.timeout {
            let _ = writeln!(out, "timeout = {}", quote(timeout));
        }
        if let Some(when) = self.when.to_toml() {
            let _ = writeln!(out, "when = {when}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(path: &str, args: Option<&[&str]>, sha256: Option<&str>) -> CommandOut {
        CommandOut::Program {
            path: path.to_owned(),
            args: args.map(|a| a.iter().map(|s| s.to_string()).collect()),
            sha256: sha256.map(str::to_owned),
        }
    }

    #[test]
    fn quotes_toml_strings() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("x\u{1}\u{7f}\n"), r#""x\u0001\u007F\n""#);
    }

    #[test]
    fn when_is_written_only_with_a_condition() {
        assert_eq!(WhenOut::default().to_toml(), None);
        let when = WhenOut {
            hosts: vec!["web*".into()],
            tty: true,
            dates: Some("2026-01-01..".into()),
            tz: Some("UTC".into()),
        };
        assert_eq!(
            when.to_toml().as_deref(),
            Some(r#"{ hosts = ["web*"], tty = true, dates = "2026-01-01..", tz = "UTC" }"#)
        );
    }

    #[test]
    fn comments_lose_control_characters() {
        assert_eq!(comment_safe("a\tb\u{1b}[0m"), "a\tb\u{FFFD}[0m");
    }

    #[test]
    fn commands_use_the_string_form_when_they_can() {
        assert_eq!(CommandOut::All.to_toml(), r#""ALL""#);
        assert_eq!(CommandOut::Set("WEB".into()).to_toml(), r#""@WEB""#);
        assert_eq!(program("/bin/ls", None, None).to_toml(), r#""/bin/ls""#);
        assert_eq!(
            program("/bin/ls", Some(&[]), None).to_toml(),
            r#""/bin/ls \"\"""#
        );
        assert_eq!(
            program("/bin/systemctl", Some(&["restart", "nginx*"]), Some("ab")).to_toml(),
            r#""sha256:ab /bin/systemctl restart nginx*""#
        );
        assert_eq!(
            program("/bin/echo", Some(&["\"hi\""]), None).to_toml(),
            r#"{ path = "/bin/echo", args = ["\"hi\""] }"#
        );
        assert_eq!(
            program("/opt/my app/run", None, Some("ab")).to_toml(),
            r#"{ path = "/opt/my app/run", sha256 = "ab" }"#
        );
    }
}
