//! A small, sound binding to Linux-PAM for the worker: start a
//! transaction, authenticate, check the account, establish credentials,
//! open and close a session, read the PAM environment.
//!
//! Written against libpam directly (rather than through `pam-client`) so
//! that every answer we hand PAM is copied from memory that is zeroed after
//! use. `ffi` holds the C declarations, `converse` the callback (panics
//! caught, pointers checked), `error` the typed return codes.

mod converse;
mod error;
mod ffi;
#[cfg(test)]
mod tests;

use std::ffi::{c_int, CStr, CString};
use std::ptr;

pub use converse::Conversation;
pub use error::{ErrorCode, PamError};

use converse::{converse, AppData};
use ffi::{PamConv, PamHandle};

/// A string item of the transaction (`pam_set_item`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `PAM_USER`: who authenticates, later whom the session is for.
    User,
    /// `PAM_TTY`: the caller's terminal.
    Tty,
    /// `PAM_RUSER`: the invoking user.
    Ruser,
}

impl Item {
    fn raw(self) -> c_int {
        match self {
            Item::User => 2,
            Item::Tty => 3,
            Item::Ruser => 8,
        }
    }
}

/// What `pam_setcred` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// `PAM_ESTABLISH_CRED`.
    Establish,
    /// `PAM_DELETE_CRED`.
    Delete,
}

impl Credentials {
    fn raw(self) -> c_int {
        match self {
            Credentials::Establish => ffi::ESTABLISH_CRED,
            Credentials::Delete => ffi::DELETE_CRED,
        }
    }
}

/// One PAM transaction (`pam_start` … `pam_end`).
pub struct Pam {
    handle: *mut PamHandle,
    /// Both come from `Box::into_raw`: PAM keeps pointers to them for the
    /// whole transaction, so they never move and are freed only after
    /// `pam_end`, in `Drop`.
    conv: *mut PamConv,
    app: *mut AppData,
    /// The last return code, for `pam_end`.
    last: c_int,
}

impl Pam {
    /// Starts a transaction on `service`, for `user` if already known
    /// (otherwise set [`Item::User`] before authenticating). This reads the
    /// service's configuration and loads its modules.
    pub fn start(
        service: &CStr,
        user: Option<&CStr>,
        conversation: Box<dyn Conversation>,
    ) -> Result<Pam, PamError> {
        let app: *mut AppData = Box::into_raw(Box::new(conversation));
        let conv = Box::into_raw(Box::new(PamConv {
            conv: converse,
            appdata_ptr: app.cast(),
        }));
        let mut handle = ptr::null_mut();
        let user = user.map_or(ptr::null(), CStr::as_ptr);
        // SAFETY: `service` and `user` are NUL-terminated (or a null user,
        // which PAM allows); `conv` is live until `Drop` (or freed below
        // when there is no transaction); `handle` is our out-pointer.
        let rc = unsafe { ffi::pam_start(service.as_ptr(), user, conv, &mut handle) };
        let pam = Pam {
            handle,
            conv,
            app,
            last: rc,
        };
        match ErrorCode::from_raw(rc) {
            None if !handle.is_null() => Ok(pam),
            code => Err(PamError {
                code: code.unwrap_or(ErrorCode::SystemErr),
                text: format!("pam_start failed ({rc})"),
            }),
        }
    }

    fn check(&mut self, rc: c_int) -> Result<(), PamError> {
        self.last = rc;
        let Some(code) = ErrorCode::from_raw(rc) else {
            return Ok(());
        };
        // SAFETY: the handle is live; pam_strerror returns null or a
        // static NUL-terminated string.
        let text = unsafe { ffi::pam_strerror(self.handle, rc) };
        let text = if text.is_null() {
            format!("PAM error {rc}")
        } else {
            // SAFETY: checked non-null above; static, NUL-terminated.
            unsafe { CStr::from_ptr(text) }
                .to_string_lossy()
                .into_owned()
        };
        Err(PamError { code, text })
    }

    /// `pam_set_item` with a string item (PAM copies it).
    pub fn set_item(&mut self, item: Item, value: &CStr) -> Result<(), PamError> {
        // SAFETY: the handle is live; `value` is NUL-terminated and PAM
        // copies string items.
        let rc = unsafe { ffi::pam_set_item(self.handle, item.raw(), value.as_ptr().cast()) };
        self.check(rc)
    }

    /// `pam_authenticate`.
    pub fn authenticate(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { ffi::pam_authenticate(self.handle, 0) };
        self.check(rc)
    }

    /// `pam_acct_mgmt`, silently (as sudo calls it).
    pub fn acct_mgmt(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { ffi::pam_acct_mgmt(self.handle, ffi::SILENT) };
        self.check(rc)
    }

    /// `pam_setcred`.
    pub fn setcred(&mut self, what: Credentials) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { ffi::pam_setcred(self.handle, what.raw()) };
        self.check(rc)
    }

    /// `pam_open_session`.
    pub fn open_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { ffi::pam_open_session(self.handle, 0) };
        self.check(rc)
    }

    /// `pam_close_session`.
    pub fn close_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { ffi::pam_close_session(self.handle, 0) };
        self.check(rc)
    }

    /// The PAM environment (`NAME=value` entries set by pam_env etc.).
    pub fn env(&self) -> Vec<Vec<u8>> {
        // SAFETY: the handle is live; the result is null or a malloc'd,
        // null-terminated array of malloc'd strings that we now own.
        let list = unsafe { ffi::pam_getenvlist(self.handle) };
        if list.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for i in 0.. {
            // SAFETY: `i` stays within the array: we stop at its null end.
            let slot = unsafe { list.add(i) };
            // SAFETY: `slot` is an entry of the array (or its null end).
            let entry = unsafe { *slot };
            if entry.is_null() {
                break;
            }
            // SAFETY: each entry is a NUL-terminated malloc'd string.
            out.push(unsafe { CStr::from_ptr(entry) }.to_bytes().to_vec());
            // SAFETY: freed once, here, after it was copied.
            unsafe { libc::free(entry.cast()) };
        }
        // SAFETY: the array itself, malloc'd and not used again.
        unsafe { libc::free(list.cast()) };
        out
    }
}

impl Drop for Pam {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            // SAFETY: the handle is live and ended exactly once, here.
            unsafe { ffi::pam_end(self.handle, self.last) };
        }
        // SAFETY: both pointers came from `Box::into_raw` in `start` and
        // are freed exactly once, here, after PAM let go of them.
        drop(unsafe { Box::from_raw(self.conv) });
        // SAFETY: as above.
        drop(unsafe { Box::from_raw(self.app) });
    }
}

/// A `CString` from bytes, `None` if they hold a NUL.
pub fn c_string(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes.to_vec()).ok()
}
