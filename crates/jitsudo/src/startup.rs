//! What the caller handed us, recorded before Rust's runtime changes it:
//! the runtime puts /dev/null on closed standard descriptors and ignores
//! SIGPIPE before `main`, which would hide the caller's closed fds and make
//! every command inherit an ignored SIGPIPE.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use jitsudo_proto::KEPT_FDS_BELOW;
use jitsudo_sys::fd::{is_open, open_below_64, Std};
use jitsudo_sys::signal::is_ignored;

/// Bit n set: fd n was closed at process start.
static CLOSED_FDS: AtomicU8 = AtomicU8::new(0);
/// Bit n set: fd n (3 <= n < 64) was open at process start: the caller's,
/// which `-C` may keep open for the command (`O_PATH` ones are not seen:
/// see [`open_below_64`]; `stdio::kept` looks for those).
static INHERITED_FDS: AtomicU64 = AtomicU64::new(0);
/// Fds 3 to [`KEPT_FDS_BELOW`] - 1, as bits (all of them within what
/// [`open_below_64`] reports).
const KEPT_RANGE: u64 = {
    assert!(KEPT_FDS_BELOW <= 64);
    (u64::MAX >> (64 - KEPT_FDS_BELOW)) & !0b111
};
/// Bit n-1 set: signal n was ignored at process start.
static IGNORED_SIGNALS: AtomicU64 = AtomicU64::new(0);

/// Runs as an ELF constructor, before the Rust runtime initialises.
// `link_section` counts as unsafe code: the function placed there runs
// before `main`. `record` only queries the descriptor table and signal
// dispositions (through jitsudo-sys) and stores two atomics.
#[allow(unsafe_code)]
#[used]
#[link_section = ".init_array"]
static RECORD: extern "C" fn() = record;

extern "C" fn record() {
    let open = open_below_64();
    let mut closed = 0u8;
    for fd in Std::ALL {
        // poll sees no O_PATH descriptor: one that it calls closed is asked
        // again (a standard descriptor is rarely closed, so this is rarely
        // a second call).
        if open & 1 << fd.raw() == 0 && !is_open(fd.raw()) {
            closed |= 1 << fd.raw();
        }
    }
    CLOSED_FDS.store(closed, Ordering::Relaxed);
    INHERITED_FDS.store(open & KEPT_RANGE, Ordering::Relaxed);
    let mut ignored = 0u64;
    for signo in 1..=64 {
        if is_ignored(signo) {
            ignored |= 1u64 << (signo - 1);
        }
    }
    IGNORED_SIGNALS.store(ignored, Ordering::Relaxed);
}

/// Which of fds 0-2 were closed at start (bit n for fd n).
pub fn closed_fds() -> u8 {
    CLOSED_FDS.load(Ordering::Relaxed)
}

/// Which of fds 3 to 63 the caller left open (bit n for fd n).
pub fn inherited_fds() -> u64 {
    INHERITED_FDS.load(Ordering::Relaxed)
}

/// Which signals the caller had ignored (bit n-1 for signal n).
pub fn ignored_signals() -> u64 {
    IGNORED_SIGNALS.load(Ordering::Relaxed)
}
