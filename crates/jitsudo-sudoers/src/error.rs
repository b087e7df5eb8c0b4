//! The importer's one error type: why a piece of sudoers could not be read
//! or converted, worded for the `NOT CONVERTED` notes of the policy it
//! writes. (What `read` says of an include it could not read is its own
//! text, kept as given.)

use std::fmt;

/// Why a statement does not parse, or a value does not convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// The grammar expected `what` where `found` stands (`` `c` `` or "the
    /// end of the line").
    Expected {
        /// What the grammar allows there.
        what: String,
        /// What the file has there.
        found: String,
    },
    /// `found` stands where nothing of it may (`place`, if said, tells
    /// where: " after the include path").
    Unexpected {
        /// What the file has there.
        found: String,
        /// Where, with a leading blank; empty if nothing is to be said.
        place: String,
    },
    /// A fixed complaint ("unterminated quoted string", "empty group
    /// name after `%`", …).
    Malformed(&'static str),
    /// A digest algorithm with no value after its `:`.
    NoDigest(String),
    /// `!name` given a value.
    NegatedWithValue(String),
    /// A `#id` that is not a valid numeric id.
    BadId(String),
    /// A user or group name the policy cannot write.
    BadName(String),
    /// `NOTBEFORE`/`NOTAFTER` (which, and its text) not a time sudo reads.
    BadTime {
        /// The option.
        option: &'static str,
        /// Its value.
        text: String,
    },
    /// A timeout that is not a sudo duration.
    BadDuration(String),
    /// `NOTBEFORE` and `NOTAFTER` mix a local time and a zoned one.
    MixedZones,
    /// Neither `NOTBEFORE` nor `NOTAFTER`.
    NoPeriod,
    /// The period, rounded inwards to whole days, holds none.
    NoWholeDay,
    /// The policy parser refuses a converted entry: its messages.
    Policy(Vec<String>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Expected { what, found } => write!(f, "expected {what}, found {found}"),
            Error::Unexpected { found, place } => write!(f, "unexpected {found}{place}"),
            Error::Malformed(text) => f.write_str(text),
            Error::NoDigest(algorithm) => write!(f, "expected a digest after `{algorithm}:`"),
            Error::NegatedWithValue(name) => write!(f, "`!{name}` cannot be given a value"),
            Error::BadId(word) => write!(f, "`{word}` is not a valid numeric id"),
            Error::BadName(word) => {
                write!(
                    f,
                    "`{word}` cannot be written as a jitsudo user or group name"
                )
            }
            Error::BadTime { option, text } => write!(
                f,
                "{option}={text} is not a time sudo reads (YYYYMMDDHH[MM[SS]][Z|±HHMM])"
            ),
            Error::BadDuration(text) => write!(f, "`{text}` is not a duration"),
            Error::MixedZones => {
                f.write_str("NOTBEFORE and NOTAFTER mix a local time and a time with a zone")
            }
            Error::NoPeriod => f.write_str("no period"),
            Error::NoWholeDay => {
                f.write_str("the period holds no whole day, and jitsudo's dates are whole days")
            }
            Error::Policy(messages) => f.write_str(&messages.join("; ")),
        }
    }
}

impl std::error::Error for Error {}
