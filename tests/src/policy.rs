//! One table of rules, rendered twice: as a jitsudo policy (TOML) and as the
//! equivalent sudoers drop-in. Both files come from the same [`Rule`] values,
//! so the two implementations under test can never be configured differently.

use std::fmt::Write as _;

/// Who a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A user by name (`alice`).
    User(String),
    /// Members of a group by name (`%group`).
    Group(String),
    /// A user by numeric uid (`#1001`).
    Uid(u32),
    /// Members of a group by numeric gid (`%#27`).
    Gid(u32),
}

impl Who {
    /// The spelling shared by sudoers and the jitsudo policy.
    pub fn spelling(&self) -> String {
        match self {
            Who::User(name) => name.clone(),
            Who::Group(name) => format!("%{name}"),
            Who::Uid(uid) => format!("#{uid}"),
            Who::Gid(gid) => format!("%#{gid}"),
        }
    }
}

/// A command a rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Any command (`ALL`).
    All,
    /// This path with any arguments.
    AnyArgs(String),
    /// This path with exactly these arguments; an empty list means "no
    /// arguments at all" (sudoers' `""`).
    Exact(String, Vec<String>),
    /// This path with any arguments, if its SHA-256 digest (hexadecimal) is
    /// this one.
    Pinned(String, String),
}

/// How the caller must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No authentication (sudoers `NOPASSWD:`).
    None,
    /// The caller's password (sudoers `PASSWD:`).
    Password,
}

/// One rule: the unit both renderers work from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, logged by jitsudo as `JITSUDO_RULE`.
    pub id: String,
    /// Who may use the rule.
    pub who: Vec<Who>,
    /// Target users (`ALL`, names or `#uid`).
    pub run_as: Vec<String>,
    /// Target groups for `-g` (`ALL`, names or `#gid`); empty means none.
    pub run_as_groups: Vec<String>,
    /// Allowed commands.
    pub commands: Vec<Cmd>,
    /// Authentication required.
    pub auth: Auth,
    /// Whether `-E`, `--preserve-env` and `VAR=value` are allowed (implied by
    /// [`Cmd::All`] on both sides).
    pub setenv: bool,
    /// Whether `-D` may name any directory (sudoers `CWD=*`).
    pub cwd_any: bool,
}

/// Global settings, rendered as `[defaults]` and as sudoers `Defaults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// `PATH` given to commands and used to find them.
    pub secure_path: String,
    /// Variables kept under env_reset; a trailing `*` matches a prefix.
    pub env_keep: Vec<String>,
    /// The umask that is OR-ed with the caller's.
    pub umask: String,
    /// sudo only: run-as users for whom callers may give `-C`
    /// (`Defaults>USER closefrom_override`). jitsudo's `closefrom_override`
    /// is daemon-wide, so its side of such a case runs against a daemon of
    /// its own (tests/options.rs).
    pub closefrom_override_as: Vec<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            secure_path: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            env_keep: [
                "COLORTERM",
                "DISPLAY",
                "LANG",
                "LANGUAGE",
                "LC_*",
                "XAUTHORITY",
            ]
            .map(String::from)
            .to_vec(),
            umask: "0022".into(),
            closefrom_override_as: Vec::new(),
        }
    }
}

/// A whole configuration: defaults plus rules in file order (the last
/// matching rule decides, on both sides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Global settings.
    pub defaults: Defaults,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

/// Name of the sudoers `User_Alias` that scopes our `Defaults` to the users
/// the rules mention, so installing the drop-in does not change sudo for
/// anybody else on the machine.
pub const USER_ALIAS: &str = "JITSUDO_TEST_USERS";

/// Quotes `s` as a TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders a TOML array of strings.
fn toml_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_str(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

/// Panics unless `word` can appear unquoted in a sudoers command line. The
/// table is ours, so this only guards against a test author writing a rule
/// whose two renderings would mean different things.
fn check_sudoers_word(word: &str) {
    let bad = word.is_empty()
        || word
            .chars()
            .any(|c| c.is_whitespace() || ",:=\\\"#!()".contains(c) || c.is_control());
    assert!(
        !bad,
        "{word:?} cannot be expressed identically in sudoers and TOML"
    );
}

impl Cmd {
    /// The TOML policy spelling.
    fn toml(&self) -> String {
        match self {
            Cmd::All => toml_str("ALL"),
            Cmd::AnyArgs(path) => toml_str(path),
            Cmd::Exact(path, args) if args.is_empty() => toml_str(&format!("{path} \"\"")),
            Cmd::Exact(path, args) => toml_str(&format!("{path} {}", args.join(" "))),
            Cmd::Pinned(digest, path) => toml_str(&format!("sha256:{digest} {path}")),
        }
    }

    /// The sudoers spelling.
    fn sudoers(&self) -> String {
        match self {
            Cmd::All => "ALL".into(),
            Cmd::AnyArgs(path) => {
                check_sudoers_word(path);
                path.clone()
            }
            Cmd::Exact(path, args) => {
                check_sudoers_word(path);
                if args.is_empty() {
                    format!("{path} \"\"")
                } else {
                    args.iter().for_each(|a| check_sudoers_word(a));
                    format!("{path} {}", args.join(" "))
                }
            }
            Cmd::Pinned(digest, path) => {
                check_sudoers_word(path);
                format!("sha256:{digest} {path}")
            }
        }
    }

    /// Whether this command grants SETENV implicitly (sudoers: `ALL`).
    fn implies_setenv(&self) -> bool {
        matches!(self, Cmd::All)
    }
}

impl Rule {
    /// A rule with sudo's defaults: run as root, no groups, password, no
    /// setenv, no `-D`.
    pub fn new(id: &str, who: Vec<Who>, commands: Vec<Cmd>) -> Self {
        Rule {
            id: id.into(),
            who,
            run_as: vec!["root".into()],
            run_as_groups: Vec::new(),
            commands,
            auth: Auth::Password,
            setenv: false,
            cwd_any: false,
        }
    }

    /// Rule `i` of the benchmark's filler (tests/bench): for another,
    /// non-existent user, with two commands, so that a decision for anyone
    /// else has to get past it.
    pub fn filler(i: usize) -> Self {
        Rule::new(
            &format!("filler-{i}"),
            vec![Who::User(format!("jt_bench_other{i}"))],
            vec![
                Cmd::Exact(format!("/usr/bin/filler{i}"), vec![format!("arg{i}")]),
                Cmd::AnyArgs(format!("/usr/local/bin/filler{i}")),
            ],
        )
        .run_as(&["root", "jt_target"])
        .nopasswd()
    }

    /// Sets the target users.
    pub fn run_as(mut self, users: &[&str]) -> Self {
        self.run_as = users.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the target groups.
    pub fn run_as_groups(mut self, groups: &[&str]) -> Self {
        self.run_as_groups = groups.iter().map(|s| s.to_string()).collect();
        self
    }

    /// No authentication needed.
    pub fn nopasswd(mut self) -> Self {
        self.auth = Auth::None;
        self
    }

    /// Allows setting the environment.
    pub fn setenv(mut self) -> Self {
        self.setenv = true;
        self
    }

    /// Allows `-D` with any directory.
    pub fn cwd_any(mut self) -> Self {
        self.cwd_any = true;
        self
    }

    fn toml(&self) -> String {
        let mut out = String::from("[[rule]]\n");
        let who: Vec<String> = self.who.iter().map(Who::spelling).collect();
        let _ = writeln!(out, "id = {}", toml_str(&self.id));
        let _ = writeln!(out, "who = {}", toml_list(&who));
        let _ = writeln!(out, "run_as = {}", toml_list(&self.run_as));
        if !self.run_as_groups.is_empty() {
            let _ = writeln!(out, "run_as_groups = {}", toml_list(&self.run_as_groups));
        }
        let cmds: Vec<String> = self.commands.iter().map(Cmd::toml).collect();
        let _ = writeln!(out, "commands = [{}]", cmds.join(", "));
        let auth = match self.auth {
            Auth::None => "none",
            Auth::Password => "password",
        };
        let _ = writeln!(out, "auth = {}", toml_str(auth));
        let _ = writeln!(out, "setenv = {}", self.setenv);
        if self.cwd_any {
            let _ = writeln!(out, "cwd = \"*\"");
        }
        out
    }

    fn sudoers(&self) -> String {
        let who: Vec<String> = self.who.iter().map(Who::spelling).collect();
        let mut runas = format!("({}", self.run_as.join(", "));
        if !self.run_as_groups.is_empty() {
            let _ = write!(runas, " : {}", self.run_as_groups.join(", "));
        }
        runas.push(')');
        let mut tags = String::new();
        if self.cwd_any {
            tags.push_str("CWD=* ");
        }
        tags.push_str(match self.auth {
            Auth::None => "NOPASSWD:",
            Auth::Password => "PASSWD:",
        });
        // Spell SETENV out either way: ALL implies it in sudoers, and the
        // policy side is told the same thing explicitly.
        let setenv = self.setenv || self.commands.iter().any(Cmd::implies_setenv);
        tags.push_str(if setenv { "SETENV:" } else { "NOSETENV:" });
        let cmds: Vec<String> = self.commands.iter().map(Cmd::sudoers).collect();
        format!(
            "# rule {}\n{} ALL = {runas} {tags} {}\n",
            self.id,
            who.join(", "),
            cmds.join(", ")
        )
    }
}

impl Config {
    /// The jitsudo policy file.
    pub fn to_toml(&self) -> String {
        let d = &self.defaults;
        let mut out = String::from(
            "# Generated by jitsudo-tests from the same table as the sudoers drop-in.\n",
        );
        let _ = writeln!(out, "[defaults]");
        let _ = writeln!(out, "secure_path = {}", toml_str(&d.secure_path));
        let _ = writeln!(out, "env_keep = {}", toml_list(&d.env_keep));
        let _ = writeln!(out, "umask = {}", toml_str(&d.umask));
        for rule in &self.rules {
            // Keep both renderings' notion of SETENV identical.
            let mut rule = rule.clone();
            rule.setenv = rule.setenv || rule.commands.iter().any(Cmd::implies_setenv);
            out.push('\n');
            out.push_str(&rule.toml());
        }
        out
    }

    /// The sudoers drop-in equivalent to [`Config::to_toml`].
    ///
    /// Our `Defaults` are scoped to the users the rules mention. Debian's
    /// `/etc/sudoers` already sets `env_reset`, `mail_badpass`, the same
    /// `secure_path` and `use_pty` globally; we restate them so the drop-in
    /// means the same thing on any base configuration, and switch off
    /// mailing (jitsudo sends no mail, so there is nothing to compare).
    pub fn to_sudoers(&self) -> String {
        self.to_sudoers_with_alias(USER_ALIAS)
    }

    /// [`Config::to_sudoers`] with another `User_Alias` name, for a drop-in
    /// installed next to the tests' one (alias names are global in sudoers).
    pub fn to_sudoers_with_alias(&self, alias: &str) -> String {
        let d = &self.defaults;
        let mut members: Vec<String> = Vec::new();
        for who in self.rules.iter().flat_map(|r| r.who.iter()) {
            let s = who.spelling();
            if !members.contains(&s) {
                members.push(s);
            }
        }
        let mut out = String::from(
            "# Generated by jitsudo-tests from the same table as the jitsudo policy.\n",
        );
        if members.is_empty() {
            return out;
        }
        let _ = writeln!(out, "User_Alias {alias} = {}", members.join(", "));
        let scoped = format!("Defaults:{alias}");
        let _ = writeln!(out, "{scoped} env_reset");
        let _ = writeln!(out, "{scoped} secure_path=\"{}\"", d.secure_path);
        let _ = writeln!(out, "{scoped} env_keep = \"{}\"", d.env_keep.join(" "));
        let _ = writeln!(out, "{scoped} use_pty");
        let _ = writeln!(out, "{scoped} !lecture");
        let _ = writeln!(out, "{scoped} umask={}", d.umask);
        let _ = writeln!(out, "{scoped} !mail_badpass, !mail_no_user");
        for user in &d.closefrom_override_as {
            let _ = writeln!(out, "Defaults>{user} closefrom_override");
        }
        for rule in &self.rules {
            out.push_str(&rule.sudoers());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        Config {
            defaults: Defaults::default(),
            rules: vec![
                Rule::new("a", vec![Who::User("alice".into())], vec![Cmd::All])
                    .run_as(&["ALL"])
                    .run_as_groups(&["ALL"])
                    .nopasswd()
                    .cwd_any(),
                Rule::new(
                    "b",
                    vec![Who::Group("ops".into()), Who::Uid(1234), Who::Gid(27)],
                    vec![
                        Cmd::AnyArgs("/usr/bin/id".into()),
                        Cmd::Exact("/usr/bin/whoami".into(), vec![]),
                        Cmd::Exact("/usr/bin/echo".into(), vec!["x".into(), "y".into()]),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn toml_has_every_rule_and_implied_setenv() {
        let toml = sample().to_toml();
        assert!(toml.contains("id = \"a\"\nwho = [\"alice\"]\nrun_as = [\"ALL\"]"));
        assert!(toml.contains("setenv = true\ncwd = \"*\""));
        assert!(toml.contains("who = [\"%ops\", \"#1234\", \"%#27\"]"));
        assert!(toml.contains(
            r#"commands = ["/usr/bin/id", "/usr/bin/whoami \"\"", "/usr/bin/echo x y"]"#
        ));
        assert!(toml.contains("auth = \"password\"\nsetenv = false\n"));
    }

    #[test]
    fn sudoers_lines_match_the_rules() {
        let s = sample().to_sudoers();
        assert!(s.contains("User_Alias JITSUDO_TEST_USERS = alice, %ops, #1234, %#27\n"));
        assert!(s.contains("alice ALL = (ALL : ALL) CWD=* NOPASSWD:SETENV: ALL\n"));
        assert!(s.contains(
            "%ops, #1234, %#27 ALL = (root) PASSWD:NOSETENV: /usr/bin/id, /usr/bin/whoami \"\", /usr/bin/echo x y\n"
        ));
        assert!(s.contains("env_keep = \"COLORTERM DISPLAY LANG LANGUAGE LC_* XAUTHORITY\""));
    }

    #[test]
    #[should_panic(expected = "cannot be expressed")]
    fn arguments_sudoers_cannot_express_are_rejected() {
        Cmd::Exact("/bin/echo".into(), vec!["a b".into()]).sudoers();
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
