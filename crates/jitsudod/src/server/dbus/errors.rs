//! The named errors of `org.jitsudo.Jitsudo1`, each with the same human
//! message `jitsudoctl` prints.

use jitsudo_proto::Failure;

/// An error a method call answers with.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.jitsudo.Jitsudo1.Error")]
pub enum ApiError {
    /// The bus itself failed (`org.freedesktop.zbus.Error`).
    #[zbus(error)]
    ZBus(zbus::Error),
    /// Refused: not allowed, a state that does not allow it, a limit.
    Denied(String),
    /// No such request or grant.
    NotFound(String),
    /// A malformed argument.
    InvalidArgs(String),
    /// Approving or denying needs the caller's authentication, and the
    /// caller has no fresh cached credentials.
    AuthenticationRequired(String),
}

/// Messages of the workflow that mean a malformed argument.
const INVALID: &[&str] = &[
    "invalid ",
    "the reason is longer than",
    "a denial needs a reason",
    "no command",
];

impl From<Failure> for ApiError {
    /// The error name for a refusal of the workflow, by its message.
    fn from(failure: Failure) -> ApiError {
        let text = String::from_utf8_lossy(&failure.message).into_owned();
        if text.starts_with("no request or grant ") {
            ApiError::NotFound(text)
        } else if INVALID.iter().any(|start| text.starts_with(start)) {
            ApiError::InvalidArgs(text)
        } else {
            ApiError::Denied(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_refusals_are_named() {
        let named = |text: &str| ApiError::from(Failure::new(text));
        assert!(matches!(
            named("no request or grant 9"),
            ApiError::NotFound(_)
        ));
        assert!(matches!(
            named("invalid id: ids are numbers, as jitsudoctl requests shows"),
            ApiError::InvalidArgs(_)
        ));
        assert!(matches!(
            named("you may not review request 3"),
            ApiError::Denied(_)
        ));
    }
}
