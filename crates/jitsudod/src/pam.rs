//! A minimal binding to Linux-PAM for the worker: start a transaction,
//! authenticate, check the account, establish credentials, open and close a
//! session, read the PAM environment.
//!
//! Written against libpam directly (rather than through `pam-client`) so
//! that every answer we hand PAM is copied from memory that is zeroed
//! after use; the crate's conversation drops the answer unzeroed.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

use zeroize::Zeroizing;

/// `PAM_SUCCESS`.
const SUCCESS: c_int = 0;
/// `PAM_BUF_ERR`.
const BUF_ERR: c_int = 5;
/// `PAM_AUTH_ERR`.
pub const AUTH_ERR: c_int = 7;
/// `PAM_CONV_ERR`.
pub const CONV_ERR: c_int = 19;
/// `PAM_SILENT`.
const SILENT: c_int = 0x8000;
/// `PAM_ESTABLISH_CRED`.
pub const ESTABLISH_CRED: c_int = 0x0002;
/// `PAM_DELETE_CRED`.
pub const DELETE_CRED: c_int = 0x0004;
/// `PAM_USER`.
pub const ITEM_USER: c_int = 2;
/// `PAM_TTY`.
pub const ITEM_TTY: c_int = 3;
/// `PAM_RUSER`.
pub const ITEM_RUSER: c_int = 8;

const PROMPT_ECHO_OFF: c_int = 1;
const PROMPT_ECHO_ON: c_int = 2;
const ERROR_MSG: c_int = 3;
const TEXT_INFO: c_int = 4;

/// Most messages one conversation call may carry (Linux-PAM uses
/// PAM_MAX_NUM_MSG = 32).
const MAX_MESSAGES: c_int = 32;

#[repr(C)]
struct PamHandle {
    _opaque: [u8; 0],
}

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
extern "C" {
    fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_setcred(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_open_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_close_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
    fn pam_getenvlist(pamh: *mut PamHandle) -> *mut *mut c_char;
}

/// The application side of a PAM conversation.
pub trait Conversation {
    /// Asks the user; `None` when no answer can be had (no terminal,
    /// interrupted, client gone).
    fn prompt(&mut self, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>>;
    /// Shows an informational or error message.
    fn message(&mut self, text: &[u8], is_error: bool);
}

/// A PAM error: the code and PAM's text for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamError {
    /// The `PAM_*` return code.
    pub code: c_int,
    /// `pam_strerror`'s text.
    pub text: String,
}

/// One PAM transaction (`pam_start` … `pam_end`).
pub struct Pam<'c> {
    handle: *mut PamHandle,
    // Both boxes must outlive the handle: PAM keeps pointers to them.
    _conv: Box<PamConv>,
    _app: Box<Box<dyn Conversation + 'c>>,
    last: c_int,
}

impl<'c> Pam<'c> {
    /// Starts a transaction on `service`, for `user` if already known
    /// (otherwise set `PAM_USER` before authenticating). This reads the
    /// service's configuration and loads its modules.
    pub fn start(
        service: &CStr,
        user: Option<&CStr>,
        conversation: Box<dyn Conversation + 'c>,
    ) -> Result<Pam<'c>, PamError> {
        let mut app = Box::new(conversation);
        let conv = Box::new(PamConv {
            conv: converse,
            appdata_ptr: (&mut *app as *mut Box<dyn Conversation + 'c>).cast(),
        });
        let mut handle = ptr::null_mut();
        // SAFETY: all pointers are valid NUL-terminated strings (or a null
        // user, which PAM allows) or live boxes that the returned `Pam`
        // keeps until `pam_end`.
        let user = user.map_or(ptr::null(), CStr::as_ptr);
        let rc = unsafe { pam_start(service.as_ptr(), user, &*conv, &mut handle) };
        if rc != SUCCESS || handle.is_null() {
            return Err(PamError {
                code: rc,
                text: format!("pam_start failed ({rc})"),
            });
        }
        Ok(Pam {
            handle,
            _conv: conv,
            _app: app,
            last: SUCCESS,
        })
    }

    fn check(&mut self, rc: c_int) -> Result<(), PamError> {
        self.last = rc;
        if rc == SUCCESS {
            return Ok(());
        }
        // SAFETY: the handle is live; pam_strerror returns a static string.
        let text = unsafe { CStr::from_ptr(pam_strerror(self.handle, rc)) }
            .to_string_lossy()
            .into_owned();
        Err(PamError { code: rc, text })
    }

    /// `pam_set_item` with a string item.
    pub fn set_item(&mut self, item: c_int, value: &CStr) -> Result<(), PamError> {
        // SAFETY: PAM copies string items; `value` is NUL-terminated.
        let rc = unsafe { pam_set_item(self.handle, item, value.as_ptr().cast()) };
        self.check(rc)
    }

    /// `pam_authenticate`.
    pub fn authenticate(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { pam_authenticate(self.handle, 0) };
        self.check(rc)
    }

    /// `pam_acct_mgmt`, silently (as sudo calls it).
    pub fn acct_mgmt(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { pam_acct_mgmt(self.handle, SILENT) };
        self.check(rc)
    }

    /// `pam_setcred` with `flags`.
    pub fn setcred(&mut self, flags: c_int) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { pam_setcred(self.handle, flags) };
        self.check(rc)
    }

    /// `pam_open_session`.
    pub fn open_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { pam_open_session(self.handle, 0) };
        self.check(rc)
    }

    /// `pam_close_session`.
    pub fn close_session(&mut self) -> Result<(), PamError> {
        // SAFETY: the handle is live.
        let rc = unsafe { pam_close_session(self.handle, 0) };
        self.check(rc)
    }

    /// The PAM environment (`NAME=value` entries set by pam_env etc.).
    pub fn env(&self) -> Vec<Vec<u8>> {
        // SAFETY: the handle is live; the returned array and its strings are
        // malloc'd copies that we own and free.
        unsafe {
            let list = pam_getenvlist(self.handle);
            if list.is_null() {
                return Vec::new();
            }
            let mut out = Vec::new();
            let mut i = 0;
            while !(*list.add(i)).is_null() {
                let entry = *list.add(i);
                out.push(CStr::from_ptr(entry).to_bytes().to_vec());
                libc::free(entry.cast());
                i += 1;
            }
            libc::free(list.cast());
            out
        }
    }
}

impl Drop for Pam<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is live and ended exactly once.
        unsafe { pam_end(self.handle, self.last) };
    }
}

/// The conversation function PAM calls back.
extern "C" fn converse(
    count: c_int,
    messages: *mut *const PamMessage,
    responses: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    if count <= 0 || count > MAX_MESSAGES || messages.is_null() || responses.is_null() {
        return CONV_ERR;
    }
    // SAFETY: `appdata` is the pointer installed by `Pam::start`, valid for
    // the life of the transaction; PAM calls us on the same thread.
    let app = unsafe { &mut *(appdata as *mut Box<dyn Conversation>) };
    // SAFETY: calloc of `count` zeroed responses; PAM frees them.
    let replies = unsafe { libc::calloc(count as usize, std::mem::size_of::<PamResponse>()) }
        as *mut PamResponse;
    if replies.is_null() {
        return BUF_ERR;
    }
    for i in 0..count as usize {
        // SAFETY: Linux-PAM passes an array of `count` message pointers.
        let message = unsafe { &**messages.add(i) };
        let text = if message.msg.is_null() {
            &[][..]
        } else {
            // SAFETY: PAM messages are NUL-terminated strings.
            unsafe { CStr::from_ptr(message.msg) }.to_bytes()
        };
        let answer = match message.msg_style {
            PROMPT_ECHO_OFF | PROMPT_ECHO_ON => {
                match app.prompt(text, message.msg_style == PROMPT_ECHO_ON) {
                    Some(answer) => Some(answer),
                    None => return fail(replies, i),
                }
            }
            ERROR_MSG | TEXT_INFO => {
                app.message(text, message.msg_style == ERROR_MSG);
                None
            }
            _ => return fail(replies, i),
        };
        if let Some(answer) = answer {
            let Some(copy) = c_copy(&answer) else {
                return fail(replies, i);
            };
            // SAFETY: `i` < count, within the calloc'd array.
            unsafe { (*replies.add(i)).resp = copy };
        }
    }
    // SAFETY: `responses` is PAM's out-pointer.
    unsafe { *responses = replies };
    SUCCESS
}

/// A malloc'd NUL-terminated copy of `bytes` for PAM to own; `None` if it
/// holds a NUL.
fn c_copy(bytes: &[u8]) -> Option<*mut c_char> {
    if bytes.contains(&0) {
        return None;
    }
    // SAFETY: a buffer of len + 1 bytes, filled and terminated below.
    unsafe {
        let buf = libc::malloc(bytes.len() + 1) as *mut u8;
        if buf.is_null() {
            return None;
        }
        ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len());
        *buf.add(bytes.len()) = 0;
        Some(buf.cast())
    }
}

/// Frees (after zeroing) the first `filled` answers and the array.
fn fail(replies: *mut PamResponse, filled: usize) -> c_int {
    for i in 0..filled {
        // SAFETY: entries below `filled` are null or our malloc'd strings.
        unsafe {
            let resp = (*replies.add(i)).resp;
            if !resp.is_null() {
                let len = libc::strlen(resp);
                ptr::write_bytes(resp, 0, len);
                libc::free(resp.cast());
            }
        }
    }
    // SAFETY: the array came from calloc.
    unsafe { libc::free(replies.cast()) };
    CONV_ERR
}

/// A `CString` from bytes, `None` if they hold a NUL.
pub fn c_string(bytes: &[u8]) -> Option<CString> {
    CString::new(bytes.to_vec()).ok()
}
