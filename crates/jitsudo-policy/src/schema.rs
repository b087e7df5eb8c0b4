//! The TOML shape of a policy file, as serde reads it.
//!
//! These types mirror the file one to one and keep the position of every
//! value that validation may complain about; `load` turns them into the
//! checked model in `model`.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::model::Auth;

/// A whole policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    /// The `[defaults]` table.
    pub defaults: Option<RawDefaults>,
    /// The `[[rule]]` tables, in file order.
    #[serde(default)]
    pub rule: Vec<Spanned<RawRule>>,
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
}

/// One `[[rule]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub id: Option<Spanned<String>>,
    pub who: Spanned<Vec<Spanned<String>>>,
    pub run_as: Option<Vec<Spanned<String>>>,
    pub run_as_groups: Option<Vec<Spanned<String>>>,
    pub commands: Spanned<Vec<Spanned<RawCommand>>>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub setenv: bool,
    pub cwd: Option<Spanned<String>>,
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
