//! The TOML shape of a policy file, as serde reads it.
//!
//! These types mirror the file one to one and keep the position of every
//! value that validation may complain about; `load` turns them into the
//! checked model in `model`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::audit::{AuditFailure, AuditSink};
use crate::model::{Auth, Effect};
use crate::when::Origin;

/// A whole policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    /// The `[defaults]` table.
    pub defaults: Option<RawDefaults>,
    /// The `[[rule]]` tables, in file order. Each is boxed: the list grows
    /// without knowing its length, and moving pointers as it grows copies a
    /// fraction of what moving the tables would.
    #[serde(default)]
    #[allow(clippy::vec_box)]
    pub rule: Vec<Box<Spanned<RawRule>>>,
    /// The `[compat]` table: read from the parsed TOML before the schema
    /// applies (see `load::compat`); here only so that it is validated.
    #[allow(dead_code)]
    pub compat: Option<RawCompat>,
    /// The `[command_sets]` table: named lists of commands.
    #[serde(default)]
    pub command_sets: BTreeMap<String, Spanned<Vec<Spanned<RawCommand>>>>,
}

/// The `[compat]` table: switches that ease migrations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCompat {
    /// What an unknown key in this file is.
    #[allow(dead_code)]
    pub unknown_keys: Option<UnknownKeys>,
}

/// How unknown keys are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UnknownKeys {
    /// An error (the default).
    Error,
    /// A warning; the key is ignored.
    Warn,
}

/// The `[defaults]` table; every key is optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub secure_path: Option<Spanned<String>>,
    pub env_keep: Option<Vec<Spanned<String>>>,
    pub umask: Option<Spanned<String>>,
    pub passwd_tries: Option<Spanned<i64>>,
    pub timestamp_timeout: Option<Spanned<f64>>,
    pub passwd_timeout: Option<Spanned<f64>>,
    pub max_connections: Option<Spanned<i64>>,
    pub max_connections_per_user: Option<Spanned<i64>>,
    pub max_pending_auth: Option<Spanned<i64>>,
    pub max_pending_auth_per_user: Option<Spanned<i64>>,
    pub passprompt: Option<Spanned<String>>,
    pub user_command_timeouts: Option<bool>,
    pub closefrom_override: Option<bool>,
    pub grant_warn: Option<Spanned<String>>,
    pub grant_grace: Option<Spanned<String>>,
    pub grant_start_within: Option<Spanned<String>>,
    pub audit_failure: Option<AuditFailure>,
    pub audit_sinks: Option<Spanned<Vec<AuditSink>>>,
    pub audit_log: Option<Spanned<Vec<AuditSink>>>,
    pub audit_checkpoint_records: Option<Spanned<i64>>,
    pub audit_checkpoint_interval: Option<Spanned<String>>,
    pub record_max_bytes: Option<Spanned<i64>>,
    pub record_retention: Option<Spanned<String>>,
    pub record_max_total: Option<Spanned<i64>>,
}

/// One `[[rule]]` table. (`when` and `grant` are boxed: few rules have
/// them, and every table would otherwise carry their room.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub id: Option<Spanned<String>>,
    pub who: Spanned<Vec<Spanned<String>>>,
    pub run_as: Option<Vec<Spanned<String>>>,
    pub run_as_groups: Option<Vec<Spanned<String>>>,
    pub commands: Option<Spanned<Vec<Spanned<RawCommand>>>>,
    pub auth: Option<Spanned<Auth>>,
    pub setenv: Option<Spanned<bool>>,
    pub cwd: Option<Spanned<String>>,
    pub effect: Option<Spanned<Effect>>,
    pub env_keep: Option<Spanned<Vec<Spanned<String>>>>,
    pub umask: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub when: Option<Box<Spanned<RawWhen>>>,
    pub grant: Option<Box<Spanned<RawGrant>>>,
    pub audit_failure: Option<Spanned<AuditFailure>>,
    pub record: Option<Spanned<bool>>,
    pub record_input: Option<Spanned<bool>>,
}

/// A rule's `grant` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrant {
    pub kind: Option<Spanned<String>>,
    pub max: Spanned<String>,
    pub default: Option<Spanned<String>>,
    pub start: Option<Spanned<String>>,
    pub max_uses: Option<Spanned<i64>>,
    pub reason: Option<bool>,
    pub ticket: Option<Spanned<String>>,
    pub approval: Option<Spanned<String>>,
    pub approvers: Option<Spanned<Vec<Spanned<String>>>>,
    pub quorum: Option<Spanned<i64>>,
    pub deadline: Option<Spanned<String>>,
    pub warn: Option<Spanned<String>>,
    pub grace: Option<Spanned<String>>,
    pub start_within: Option<Spanned<String>>,
    pub self_extend: Option<Spanned<String>>,
    pub break_glass: Option<Spanned<RawBreakGlass>>,
    pub groups: Option<Spanned<Vec<Spanned<String>>>>,
    pub caps: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A grant table's `break_glass = { max = "15m", follow_up = "1h" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreakGlass {
    pub max: Spanned<String>,
    pub follow_up: Spanned<String>,
}

/// A rule's `when` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhen {
    pub hours: Option<Spanned<StringOrList>>,
    pub dates: Option<Spanned<StringOrList>>,
    pub tz: Option<Spanned<String>>,
    pub tty: Option<bool>,
    pub origin: Option<Vec<Origin>>,
    pub hosts: Option<Vec<Spanned<String>>>,
}

/// One string, or a list of them (each with its position).
#[derive(Debug)]
pub(crate) enum StringOrList {
    /// A single string (its position is the enclosing value's).
    One(String),
    /// A list.
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrListVisitor)
    }
}

/// Accepts a string or an array of strings.
struct StringOrListVisitor;

impl<'de> Visitor<'de> for StringOrListVisitor {
    type Value = StringOrList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<StringOrList, E> {
        Ok(StringOrList::One(value.to_owned()))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StringOrList, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(StringOrList::Many(items))
    }
}

/// A `commands` entry: a sudoers-style string or a `{ path, args }` table.
#[derive(Debug)]
pub(crate) enum RawCommand {
    /// `"ALL"`, `"/path"`, `"/path a b"` or `"/path \"\""`.
    Line(String),
    /// `{ path = "/path", args = [...] }`.
    Table(RawCommandTable),
}

/// The table form of a command, for arguments that contain spaces.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCommandTable {
    pub path: String,
    pub args: Option<Vec<String>>,
    pub sha256: Option<String>,
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawCommandVisitor)
    }
}

/// Accepts either form of a command, with the table's own field errors.
struct RawCommandVisitor;

impl<'de> Visitor<'de> for RawCommandVisitor {
    type Value = RawCommand;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command string or a table with `path` and `args`")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawCommand, E> {
        Ok(RawCommand::Line(value.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCommand, A::Error> {
        let table = RawCommandTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RawCommand::Table(table))
    }
}
