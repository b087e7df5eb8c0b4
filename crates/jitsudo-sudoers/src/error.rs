//! The crate's one error type: why a sudoers construct could not be parsed,
//! or why a value of it cannot be written in a jitsudo policy.

use std::fmt;

/// Why a construct was not parsed or converted; its [`Display`](fmt::Display)
/// is the message quoted in the policy's notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// A sudoers line that does not parse.
    Syntax(String),
    /// A value (name, id, duration, date) that a policy cannot express.
    Unconvertible(String),
    /// A converted entry that jitsudo's policy parser refuses: its
    /// messages, joined by `; `.
    Policy(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(message) | Error::Unconvertible(message) | Error::Policy(message) => {
                f.write_str(message)
            }
        }
    }
}

/// Checks policy text (a file called `name`) with jitsudo's own parser:
/// `Err` with its messages joined by `; ` when it refuses it.
pub(crate) fn check_policy(name: &str, text: String) -> Result<(), Error> {
    let source = jitsudo_policy::Source {
        name: name.to_owned(),
        text,
    };
    jitsudo_policy::parse(&[source])
        .map(drop)
        .map_err(|errors| {
            Error::Policy(
                errors
                    .into_iter()
                    .map(|error| error.message)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
}
