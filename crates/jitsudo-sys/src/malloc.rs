//! What glibc's allocator keeps: the daemon's memory must come back after a
//! burst of requests or a policy reload (issue 12).
//!
//! glibc's malloc gives each thread that allocates its own arena (up to
//! eight per core), and a freed policy or a burst's buffers stay mapped in
//! them. The daemon uses two arenas, and hands free pages back to the
//! kernel when a reload is done. (Measured with the benchmark: without
//! either, twenty 10,000-rule reloads left over 600 MiB resident.)

/// Arenas the daemon's threads share.
#[cfg(target_env = "gnu")]
const ARENAS: libc::c_int = 2;

/// Caps the allocator's arenas at two; call before starting threads.
pub fn limit_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a tuning parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Returns the allocator's free pages to the kernel.
pub fn give_back() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases memory malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
