//! Linux-PAM's C interface: the few functions, structures and constants
//! the worker uses (`<security/pam_appl.h>`). Nothing outside `pam/`
//! sees these.

use std::ffi::{c_char, c_int, c_void};

/// `PAM_SUCCESS`.
pub const SUCCESS: c_int = 0;
/// `PAM_SILENT`.
pub const SILENT: c_int = 0x8000;
/// `PAM_ESTABLISH_CRED`.
pub const ESTABLISH_CRED: c_int = 0x0002;
/// `PAM_DELETE_CRED`.
pub const DELETE_CRED: c_int = 0x0004;

/// `PAM_PROMPT_ECHO_OFF`.
pub const PROMPT_ECHO_OFF: c_int = 1;
/// `PAM_PROMPT_ECHO_ON`.
pub const PROMPT_ECHO_ON: c_int = 2;
/// `PAM_ERROR_MSG`.
pub const ERROR_MSG: c_int = 3;
/// `PAM_TEXT_INFO`.
pub const TEXT_INFO: c_int = 4;

/// Most messages one conversation call may carry (`PAM_MAX_NUM_MSG`).
pub const MAX_MESSAGES: c_int = 32;

/// `pam_handle_t`.
#[repr(C)]
pub struct PamHandle {
    _opaque: [u8; 0],
}

/// `struct pam_message`.
#[repr(C)]
pub struct PamMessage {
    /// `PAM_PROMPT_ECHO_OFF` etc.
    pub msg_style: c_int,
    /// The text (NUL-terminated).
    pub msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
pub struct PamResponse {
    /// The answer, malloc'd; PAM frees it.
    pub resp: *mut c_char,
    /// Unused, must be 0.
    pub resp_retcode: c_int,
}

/// The conversation callback's type.
pub type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
pub struct PamConv {
    /// The callback.
    pub conv: ConvFn,
    /// Passed back to the callback as its last argument.
    pub appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    pub fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    pub fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
    pub fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_setcred(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_open_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_close_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    pub fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
    pub fn pam_getenvlist(pamh: *mut PamHandle) -> *mut *mut c_char;
}
