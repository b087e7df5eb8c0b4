//! The parsed shape of a sudoers file: one [`Stmt`] per logical line.
//!
//! Every node keeps the text it was parsed from (continuations joined), so
//! reports can quote the construct exactly as the administrator wrote it.

/// One statement (a logical line, continuations joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stmt {
    /// 1-based line where the statement starts.
    pub line: usize,
    /// The physical lines of the statement, as written.
    pub raw_lines: Vec<String>,
    /// The statement on one line: continuations replaced by a space,
    /// trailing comment and blanks removed.
    pub text: String,
    /// What the statement says.
    pub kind: StmtKind,
}

/// The kinds of sudoers statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StmtKind {
    /// `Defaults[:@>!list] setting, setting…`.
    Defaults {
        /// The binding (`:users`, `@hosts`, `>runas`, `!commands`), if any.
        binding: Option<Binding>,
        /// The settings, in order.
        settings: Vec<Setting>,
    },
    /// `User_Alias`, `Runas_Alias`, `Host_Alias` or `Cmnd_Alias` definitions.
    Alias {
        /// Which kind of alias.
        kind: AliasKind,
        /// `NAME = members`, one per `:`-separated definition.
        defs: Vec<AliasDef>,
    },
    /// `@include`, `#include`, `@includedir` or `#includedir`.
    Include {
        /// The path as written (quotes removed).
        path: String,
        /// True for the `includedir` forms.
        dir: bool,
    },
    /// `users hosts = cmndspecs [: hosts = cmndspecs]…`.
    UserSpec {
        /// Who the statement is for.
        users: Vec<Member>,
        /// The `hosts = commands` parts.
        privileges: Vec<Privilege>,
    },
    /// A line that could not be parsed.
    Error(String),
}

/// The four alias kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum AliasKind {
    /// `User_Alias`.
    User,
    /// `Runas_Alias`.
    Runas,
    /// `Host_Alias`.
    Host,
    /// `Cmnd_Alias` (or `Cmd_Alias`).
    Cmnd,
}

impl AliasKind {
    /// The keyword that defines such an alias.
    pub fn keyword(self) -> &'static str {
        match self {
            AliasKind::User => "User_Alias",
            AliasKind::Runas => "Runas_Alias",
            AliasKind::Host => "Host_Alias",
            AliasKind::Cmnd => "Cmnd_Alias",
        }
    }
}

/// `NAME = member, member…` inside an alias statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AliasDef {
    /// The alias name.
    pub name: String,
    /// Its members, in order.
    pub members: Vec<Member>,
}

/// The binding of a `Defaults` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    /// `:` users, `@` hosts, `>` run-as users, `!` commands.
    pub kind: char,
    /// The list after the binding character.
    pub members: Vec<Member>,
}

/// One `Defaults` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    /// The setting's name (`env_keep`, `secure_path`…).
    pub name: String,
    /// What is done with it.
    pub op: SettingOp,
    /// The setting as written, for reports.
    pub text: String,
}

/// How a `Defaults` setting is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SettingOp {
    /// `name` (true) or `!name` (false).
    Flag(bool),
    /// `name = value`.
    Assign(String),
    /// `name += value`.
    Add(String),
    /// `name -= value`.
    Remove(String),
}

/// An entry of a user, host, run-as or command list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// An odd number of `!` before the item.
    pub negated: bool,
    /// The item itself.
    pub item: Item,
    /// The entry as written (negation included).
    pub text: String,
}

/// What a list entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// `ALL`.
    All,
    /// An alias name (upper case, digits and `_`).
    Alias(String),
    /// A user or host name, or `#uid` (escapes and quotes removed).
    Word(String),
    /// `%group`, `%#gid`, `%:group` or `%:#gid`: the text after `%`.
    Group(String),
    /// `+netgroup`: the text after `+`.
    Netgroup(String),
    /// An IP address or network (host lists only).
    Address(String),
    /// A command (command lists only).
    Command(Command),
}

/// A command entry: optional digests, then what is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// `sha224:`, `sha256:`, `sha384:` or `sha512:` digests, any of which
    /// the executable may match.
    pub digests: Vec<Digest>,
    /// The command.
    pub kind: CommandKind,
}

/// A `shaNNN:value` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest {
    /// `sha224`, `sha256`, `sha384` or `sha512`.
    pub algorithm: String,
    /// Hexadecimal or base64, as written.
    pub value: String,
}

/// What a command entry runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CommandKind {
    /// `ALL`.
    All,
    /// A `Cmnd_Alias` name.
    Alias(String),
    /// `/path` with its argument string (`None`: any arguments; `Some("\"\"")`:
    /// none). Backslash escapes of `,:=\ #` are removed; escaped wildcards
    /// keep their backslash, as sudo hands them to `fnmatch`.
    Path {
        /// The program's path (may hold wildcards).
        path: String,
        /// The arguments, words separated by single spaces.
        args: Option<String>,
    },
    /// `/dir/`: any program in that directory.
    Directory(String),
    /// `sudoedit [files]`.
    Sudoedit(Option<String>),
    /// `^regex$`, as the command or as the first argument.
    Regex(String),
}

/// `hosts = cmndspec, cmndspec…` inside a user specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Privilege {
    /// The hosts the commands apply on.
    pub hosts: Vec<Member>,
    /// The command specifications, in order.
    pub specs: Vec<CmndSpec>,
}

/// One command specification, before inheritance from the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CmndSpec {
    /// `(users:groups)`, if given.
    pub runas: Option<Runas>,
    /// `CWD=`, `CHROOT=`, `TIMEOUT=`… options as (name, value, text).
    pub options: Vec<SpecOption>,
    /// `NOPASSWD:`, `SETENV:`… tags, by name, in order.
    pub tags: Vec<String>,
    /// The command (an [`Item::Command`] member).
    pub command: Member,
}

/// An option such as `CWD=/srv` before the tags of a command spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecOption {
    /// `CWD`, `CHROOT`, `TIMEOUT`, `NOTBEFORE`, `NOTAFTER`, `ROLE`, `TYPE`,
    /// `APPARMOR_PROFILE`, `PRIVS` or `LIMITPRIVS`.
    pub name: String,
    /// The value, escapes removed.
    pub value: String,
}

/// A run-as specification `(users:groups)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Runas {
    /// Target users; `None` when the list is empty (run as oneself).
    pub users: Option<Vec<Member>>,
    /// Target groups; `None` when no `:` list is given or it is empty.
    pub groups: Option<Vec<Member>>,
    /// The specification as written, parentheses included.
    pub text: String,
}
