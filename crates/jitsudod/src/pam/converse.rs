//! The conversation: PAM's messages handed to a [`Conversation`], its
//! answers handed back in memory PAM owns.
//!
//! The callback is the one place where C calls into Rust: it checks every
//! pointer PAM gives it, never lets a panic unwind into libpam (a panic
//! fails the conversation instead), and keeps the application's answers in
//! zeroed-on-drop buffers until they are copied for PAM.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use zeroize::Zeroizing;

use super::error::ErrorCode;
use super::ffi::{
    PamMessage, PamResponse, ERROR_MSG, MAX_MESSAGES, PROMPT_ECHO_OFF, PROMPT_ECHO_ON, SUCCESS,
    TEXT_INFO,
};

/// The application side of a PAM conversation.
pub trait Conversation {
    /// Asks the user; `None` when no answer can be had (no terminal,
    /// interrupted, client gone).
    fn prompt(&mut self, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>>;
    /// Shows an informational or error message.
    fn message(&mut self, text: &[u8], is_error: bool);
}

/// The application's conversation as PAM's `appdata_ptr` points to it.
pub(super) type AppData = Box<dyn Conversation>;

/// One message of a conversation call.
struct Message<'a> {
    style: c_int,
    text: &'a [u8],
}

/// The conversation function PAM calls back.
pub(super) extern "C" fn converse(
    count: c_int,
    messages: *mut *const PamMessage,
    responses: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let conv_err = ErrorCode::ConvErr.raw();
    if !(1..=MAX_MESSAGES).contains(&count)
        || messages.is_null()
        || responses.is_null()
        || appdata.is_null()
    {
        return conv_err;
    }
    // SAFETY: `appdata` is the `Box::into_raw` pointer `Pam::start`
    // installed; the `Pam` frees it only after `pam_end`, and PAM calls us
    // on the transaction's (single) thread, never re-entrantly, so this is
    // the only reference while the callback runs.
    let app = unsafe { &mut *appdata.cast::<AppData>() };
    // SAFETY: Linux-PAM passes `count` message pointers in an array that
    // lives until we return; `read_messages` checks each one.
    let Some(messages) = (unsafe { read_messages(messages, count) }) else {
        return conv_err;
    };
    let answered = catch_unwind(AssertUnwindSafe(|| answer_all(app.as_mut(), &messages)));
    let Ok(Some(answers)) = answered else {
        return conv_err;
    };
    match to_responses(&answers) {
        Some(replies) => {
            // SAFETY: `responses` is PAM's non-null out-pointer.
            unsafe { *responses = replies };
            SUCCESS
        }
        None => ErrorCode::BufErr.raw(),
    }
}

/// The messages of one call; `None` if a message pointer is null.
///
/// # Safety
/// `messages` must point to `count` readable message pointers, each null
/// or pointing to a `PamMessage` whose text is null or NUL-terminated,
/// all valid for `'a`.
unsafe fn read_messages<'a>(
    messages: *mut *const PamMessage,
    count: c_int,
) -> Option<Vec<Message<'a>>> {
    let count = usize::try_from(count).ok()?;
    (0..count)
        .map(|i| {
            // SAFETY: `i < count`, within the array (caller's contract).
            let slot = unsafe { messages.add(i) };
            // SAFETY: `slot` points at one of the array's `count` entries.
            let message = unsafe { *slot };
            // SAFETY: non-null message pointers are valid (caller's contract).
            let message = unsafe { message.as_ref() }?;
            let text = if message.msg.is_null() {
                &[][..]
            } else {
                // SAFETY: a non-null text is NUL-terminated (caller's contract).
                unsafe { CStr::from_ptr(message.msg) }.to_bytes()
            };
            Some(Message {
                style: message.msg_style,
                text,
            })
        })
        .collect()
}

/// The application's answer to each message (`None` for messages that
/// only inform); `None` when a prompt gets no usable answer or a style is
/// unknown.
fn answer_all(
    app: &mut dyn Conversation,
    messages: &[Message<'_>],
) -> Option<Vec<Option<Zeroizing<Vec<u8>>>>> {
    messages
        .iter()
        .map(|message| match message.style {
            PROMPT_ECHO_OFF | PROMPT_ECHO_ON => {
                let answer = app.prompt(message.text, message.style == PROMPT_ECHO_ON)?;
                (!answer.contains(&0)).then_some(Some(answer))
            }
            ERROR_MSG | TEXT_INFO => {
                app.message(message.text, message.style == ERROR_MSG);
                Some(None)
            }
            _ => None,
        })
        .collect()
}

/// The answers as PAM wants them: a `calloc`'d array of `malloc`'d
/// strings, which PAM frees. `None` if memory runs out (nothing leaks).
fn to_responses(answers: &[Option<Zeroizing<Vec<u8>>>]) -> Option<*mut PamResponse> {
    // SAFETY: calloc of `len` zeroed responses (null answers, code 0).
    let replies = unsafe { libc::calloc(answers.len(), std::mem::size_of::<PamResponse>()) }
        .cast::<PamResponse>();
    if replies.is_null() {
        return None;
    }
    for (i, answer) in answers.iter().enumerate() {
        let Some(answer) = answer else { continue };
        let Some(copy) = c_copy(answer) else {
            free_responses(replies, i);
            return None;
        };
        // SAFETY: `i` < len, within the calloc'd array.
        let reply = unsafe { replies.add(i) };
        // SAFETY: `reply` points at an entry of the calloc'd array.
        unsafe { (*reply).resp = copy };
    }
    Some(replies)
}

/// A malloc'd NUL-terminated copy of `bytes` (which hold no NUL).
fn c_copy(bytes: &[u8]) -> Option<*mut c_char> {
    // SAFETY: a buffer of len + 1 bytes.
    let buf = unsafe { libc::malloc(bytes.len() + 1) }.cast::<u8>();
    if buf.is_null() {
        return None;
    }
    // SAFETY: `buf` holds len + 1 bytes; the source and it do not overlap.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
    // SAFETY: the last of the len + 1 bytes of `buf`.
    let end = unsafe { buf.add(bytes.len()) };
    // SAFETY: `end` is inside `buf`, which we own.
    unsafe { *end = 0 };
    Some(buf.cast())
}

/// Zeroes and frees the first `filled` answers, then the array.
fn free_responses(replies: *mut PamResponse, filled: usize) {
    for i in 0..filled {
        // SAFETY: `i < filled`, within the calloc'd array.
        let reply = unsafe { replies.add(i) };
        // SAFETY: entries below `filled` are null or our malloc'd strings.
        let resp = unsafe { (*reply).resp };
        if !resp.is_null() {
            // SAFETY: `resp` is our NUL-terminated malloc'd copy.
            let len = unsafe { libc::strlen(resp) };
            // SAFETY: `resp` holds `len` bytes before its NUL.
            unsafe { ptr::write_bytes(resp, 0, len) };
            // SAFETY: our malloc'd copy, freed once, here.
            unsafe { libc::free(resp.cast()) };
        }
    }
    // SAFETY: the array came from calloc and is not used again.
    unsafe { libc::free(replies.cast()) };
}
