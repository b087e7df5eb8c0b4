//! D-Bus values in and out: a request's spec (`a{sv}`) into a
//! [`GrantAsk`], and records into `a{sv}` dictionaries whose keys and
//! values are those of `jitsudoctl --format json` (docs/grants.md; absent
//! values are left out rather than null).

use std::collections::HashMap;

use jitsudo_proto::{GrantAsk, GrantRecord, GrantWhat, StartAsk};
use serde_json::Value as Json;
use zbus::zvariant::{OwnedValue, Value};

use super::errors::ApiError;

/// A D-Bus dictionary of named values.
pub type Dict = HashMap<String, OwnedValue>;

/// The keys a `CreateRequest` spec may have.
const SPEC_KEYS: &[&str] = &[
    "rule",
    "command",
    "run_as",
    "duration",
    "reason",
    "ticket",
    "start",
    "start_at",
    "uses",
    "break_glass",
];

/// `CreateRequest`'s spec: `rule` (s) or `command` (as) with `run_as`
/// (s); `duration` (t, seconds), `reason` (s), `ticket` (s), `start` (s:
/// `on-approval` or `first-use`) or `start_at` (x, seconds since the
/// epoch), `uses` (u), `break_glass` (b). Anything else is refused.
pub fn grant_ask(spec: &Dict) -> Result<GrantAsk, ApiError> {
    if let Some(key) = spec.keys().find(|k| !SPEC_KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "unknown key {key:?} in the request; known keys: {}",
            SPEC_KEYS.join(", ")
        )));
    }
    let what = match (
        get::<String>(spec, "rule")?,
        get::<Vec<String>>(spec, "command")?,
    ) {
        (Some(rule), None) if get::<String>(spec, "run_as")?.is_none() => GrantWhat::Rule(rule),
        (None, Some(argv)) => GrantWhat::Command {
            user: get(spec, "run_as")?,
            argv,
        },
        _ => {
            return Err(invalid(
                "give either \"rule\", or \"command\" (and \"run_as\")",
            ))
        }
    };
    let start = match (
        get::<String>(spec, "start")?.as_deref(),
        get(spec, "start_at")?,
    ) {
        (None, None) => None,
        (Some("on-approval"), None) => Some(StartAsk::OnApproval),
        (Some("first-use"), None) => Some(StartAsk::FirstUse),
        (None, Some(at)) => Some(StartAsk::At(at)),
        _ => {
            return Err(invalid(
                "\"start\" is on-approval or first-use; a start time goes in \"start_at\"",
            ))
        }
    };
    Ok(GrantAsk {
        what,
        duration: get(spec, "duration")?,
        reason: get(spec, "reason")?,
        ticket: get(spec, "ticket")?,
        start,
        uses: get(spec, "uses")?,
        break_glass: get(spec, "break_glass")?.unwrap_or(false),
    })
}

/// `ListRequests`' filter: `all` (b), root's view of everyone's.
pub fn list_filter(filter: &Dict) -> Result<bool, ApiError> {
    if let Some(key) = filter.keys().find(|k| k.as_str() != "all") {
        return Err(invalid(format!(
            "unknown key {key:?} in the filter; known keys: all"
        )));
    }
    Ok(get(filter, "all")?.unwrap_or(false))
}

/// The value of `key`, if present; of the wrong type: refused.
fn get<T>(spec: &Dict, key: &str) -> Result<Option<T>, ApiError>
where
    T: TryFrom<OwnedValue>,
{
    let Some(value) = spec.get(key) else {
        return Ok(None);
    };
    let wrong = || {
        invalid(format!(
            "{key:?} has the wrong type ({})",
            value.value_signature()
        ))
    };
    let value = value.try_clone().map_err(|_| wrong())?;
    T::try_from(value).map(Some).map_err(|_| wrong())
}

fn invalid(text: impl Into<String>) -> ApiError {
    ApiError::InvalidArgs(text.into())
}

/// A record as a dictionary.
pub fn record(record: &GrantRecord) -> Result<Dict, ApiError> {
    let json = serde_json::to_value(record).map_err(|e| ApiError::Denied(e.to_string()))?;
    let Json::Object(fields) = json else {
        return Err(ApiError::Denied("a record is not an object".into()));
    };
    dict(fields)
}

fn dict(fields: serde_json::Map<String, Json>) -> Result<Dict, ApiError> {
    fields
        .into_iter()
        .filter_map(|(key, json)| value(json).map(|v| (key, v)))
        .map(|(key, v)| owned(v).map(|v| (key, v)))
        .collect()
}

/// A JSON value as a D-Bus one: strings `s`, integers `x` (or `t` beyond
/// i64), booleans `b`, lists of strings `as` (a command), other lists `av`
/// (the reviews, `a{sv}` each; empty too), objects `a{sv}`; `None` for
/// null.
fn value(json: Json) -> Option<Value<'static>> {
    Some(match json {
        Json::Null => return None,
        Json::Bool(b) => Value::from(b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::from(s),
        Json::Array(items) if !items.is_empty() && items.iter().all(Json::is_string) => {
            Value::from(
                items
                    .into_iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect::<Vec<String>>(),
            )
        }
        Json::Array(items) => Value::from(items.into_iter().filter_map(value).collect::<Vec<_>>()),
        Json::Object(fields) => Value::from(
            fields
                .into_iter()
                .filter_map(|(key, json)| value(json).map(|v| (key, v)))
                .collect::<HashMap<String, Value<'static>>>(),
        ),
    })
}

fn owned(value: Value<'static>) -> Result<OwnedValue, ApiError> {
    OwnedValue::try_from(value).map_err(|e| ApiError::Denied(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: Vec<(&str, Value<'static>)>) -> Dict {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), owned(v).unwrap()))
            .collect()
    }

    #[test]
    fn a_command_spec() {
        let ask = grant_ask(&spec(vec![
            ("command", Value::from(vec!["/usr/bin/id".to_owned()])),
            ("run_as", Value::from("root")),
            ("duration", Value::from(60u64)),
            ("start", Value::from("first-use")),
        ]))
        .unwrap();
        assert_eq!(
            ask.what,
            GrantWhat::Command {
                user: Some("root".into()),
                argv: vec!["/usr/bin/id".into()]
            }
        );
        assert_eq!(ask.duration, Some(60));
        assert_eq!(ask.start, Some(StartAsk::FirstUse));
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in [
            spec(vec![]),
            spec(vec![
                ("rule", Value::from("db")),
                ("colour", Value::from("red")),
            ]),
            spec(vec![("rule", Value::from(7u32))]),
            spec(vec![
                ("rule", Value::from("db")),
                ("run_as", Value::from("root")),
            ]),
            spec(vec![
                ("rule", Value::from("db")),
                ("start", Value::from("soon")),
            ]),
            spec(vec![
                ("rule", Value::from("db")),
                ("duration", Value::from(-1i64)),
            ]),
        ] {
            assert!(
                matches!(grant_ask(&bad), Err(ApiError::InvalidArgs(_))),
                "{bad:?}"
            );
        }
    }
}
