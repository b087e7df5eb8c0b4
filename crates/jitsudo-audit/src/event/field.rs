//! Wire names of the structured fields, shared by all sinks.

/// The event kind (`exec.accept`, ...).
pub const EVENT: &str = "JITSUDO_EVENT";
/// Name of the requesting user.
pub const USER: &str = "JITSUDO_USER";
/// Real uid of the requesting process.
pub const UID: &str = "JITSUDO_UID";
/// Real gid of the requesting process.
pub const GID: &str = "JITSUDO_GID";
/// Pid of the requesting process.
pub const PID: &str = "JITSUDO_PID";
/// Controlling terminal of the requester (`pts/0`).
pub const TTY: &str = "JITSUDO_TTY";
/// Working directory of the requester.
pub const CWD: &str = "JITSUDO_CWD";
/// User the command runs as.
pub const RUNAS: &str = "JITSUDO_RUNAS";
/// Group the command runs as, when one was requested.
pub const RUNAS_GROUP: &str = "JITSUDO_RUNAS_GROUP";
/// Full command line: resolved path and arguments, joined by spaces.
pub const COMMAND: &str = "JITSUDO_COMMAND";
/// Id of the policy rule that decided.
pub const RULE: &str = "JITSUDO_RULE";
/// Hash of the policy in force.
pub const POLICY_HASH: &str = "JITSUDO_POLICY_HASH";
/// Exit code of the command.
pub const EXIT: &str = "JITSUDO_EXIT";
/// Name of the signal that killed the command (`SIGTERM`).
pub const SIGNAL: &str = "JITSUDO_SIGNAL";
/// Human-readable reason of a refusal or failure.
pub const REASON: &str = "JITSUDO_REASON";
/// Login session of the requester (`/proc/PID/sessionid`).
pub const SESSION: &str = "JITSUDO_SESSION";
/// Name of a variable the requester added to the command's
/// environment (one field per variable; values are never logged).
pub const ENV_ADDED: &str = "JITSUDO_ENV_ADDED";
/// How long the command ran, in seconds with millisecond precision.
pub const RUN_TIME: &str = "JITSUDO_RUN_TIME";

/// Every name above; [`FieldName`](crate::FieldName) refuses them so
/// that the typed setters stay the only way to set these fields.
pub(crate) const ALL: [&str; 18] = [
    EVENT,
    USER,
    UID,
    GID,
    PID,
    TTY,
    CWD,
    RUNAS,
    RUNAS_GROUP,
    COMMAND,
    RULE,
    POLICY_HASH,
    EXIT,
    SIGNAL,
    REASON,
    SESSION,
    ENV_ADDED,
    RUN_TIME,
];
