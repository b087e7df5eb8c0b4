//! Names of the extra structured fields, checked against journald's rules.

use std::fmt;

use super::{field, FIELD_PREFIX};

/// Name of an extra structured field set with [`Event::field`](super::Event::field).
///
/// Valid names follow journald's rules (at most 64 characters of `A-Z`,
/// `0-9` and `_`), start with `JITSUDO_`, and are none of the names the typed
/// setters own (see [`field`]), so that an extra field can neither spoof
/// `MESSAGE`/`PRIORITY` nor shadow a well-known field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldName(String);

impl FieldName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidFieldName> {
        let name = name.into();
        let valid = name.len() <= 64
            && name.len() > FIELD_PREFIX.len()
            && name.starts_with(FIELD_PREFIX)
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && !field::ALL.contains(&name.as_str());
        if valid {
            Ok(FieldName(name))
        } else {
            Err(InvalidFieldName(name))
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Error of [`FieldName::new`]: the rejected name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFieldName(pub String);

impl fmt::Display for InvalidFieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid audit field name {:?}: expected {}[A-Z0-9_]+ (at most 64 characters) \
             that is not a built-in field",
            self.0, FIELD_PREFIX
        )
    }
}

impl std::error::Error for InvalidFieldName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_validated() {
        assert!(FieldName::new("JITSUDO_GRANT_ID").is_ok());
        for bad in [
            "MESSAGE",
            "PRIORITY",
            "JITSUDO_",
            "JITSUDO_USER",
            "JITSUDO_lower",
            "JITSUDO_A=B",
            "_JITSUDO_X",
            &format!("JITSUDO_{}", "X".repeat(60)),
        ] {
            assert!(FieldName::new(bad).is_err(), "{bad} accepted");
        }
    }
}
