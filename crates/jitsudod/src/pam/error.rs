//! PAM's return codes as a type, and the error the binding returns.

use std::ffi::c_int;
use std::fmt;

/// A PAM return code other than `PAM_SUCCESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `PAM_SYSTEM_ERR`.
    SystemErr,
    /// `PAM_BUF_ERR`.
    BufErr,
    /// `PAM_PERM_DENIED`.
    PermDenied,
    /// `PAM_AUTH_ERR`: wrong password (or another failed check).
    AuthErr,
    /// `PAM_AUTHINFO_UNAVAIL`.
    AuthinfoUnavail,
    /// `PAM_USER_UNKNOWN`.
    UserUnknown,
    /// `PAM_MAXTRIES`.
    MaxTries,
    /// `PAM_NEW_AUTHTOK_REQD`: the password has expired.
    NewAuthtokReqd,
    /// `PAM_ACCT_EXPIRED`.
    AcctExpired,
    /// `PAM_SESSION_ERR`.
    SessionErr,
    /// `PAM_CONV_ERR`: the conversation failed.
    ConvErr,
    /// `PAM_ABORT`.
    Abort,
    /// Any other code.
    Other(c_int),
}

impl ErrorCode {
    /// The type of a C return code; `None` for `PAM_SUCCESS`.
    pub fn from_raw(code: c_int) -> Option<ErrorCode> {
        Some(match code {
            super::ffi::SUCCESS => return None,
            4 => ErrorCode::SystemErr,
            5 => ErrorCode::BufErr,
            6 => ErrorCode::PermDenied,
            7 => ErrorCode::AuthErr,
            9 => ErrorCode::AuthinfoUnavail,
            10 => ErrorCode::UserUnknown,
            11 => ErrorCode::MaxTries,
            12 => ErrorCode::NewAuthtokReqd,
            13 => ErrorCode::AcctExpired,
            14 => ErrorCode::SessionErr,
            19 => ErrorCode::ConvErr,
            26 => ErrorCode::Abort,
            other => ErrorCode::Other(other),
        })
    }

    /// The C return code.
    pub fn raw(self) -> c_int {
        match self {
            ErrorCode::SystemErr => 4,
            ErrorCode::BufErr => 5,
            ErrorCode::PermDenied => 6,
            ErrorCode::AuthErr => 7,
            ErrorCode::AuthinfoUnavail => 9,
            ErrorCode::UserUnknown => 10,
            ErrorCode::MaxTries => 11,
            ErrorCode::NewAuthtokReqd => 12,
            ErrorCode::AcctExpired => 13,
            ErrorCode::SessionErr => 14,
            ErrorCode::ConvErr => 19,
            ErrorCode::Abort => 26,
            ErrorCode::Other(code) => code,
        }
    }
}

/// A failed PAM call: the code and PAM's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamError {
    /// What failed.
    pub code: ErrorCode,
    /// `pam_strerror`'s text (or a stand-in when PAM has none).
    pub text: String,
}

impl fmt::Display for PamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PamError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for raw in 1..40 {
            let code = ErrorCode::from_raw(raw).unwrap();
            assert_eq!(code.raw(), raw);
        }
        assert_eq!(ErrorCode::from_raw(0), None);
        assert_eq!(ErrorCode::from_raw(7), Some(ErrorCode::AuthErr));
    }
}
