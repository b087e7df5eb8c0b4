//! Signal dispositions and masks, including the two real-time signals
//! glibc keeps for itself.

use nix::errno::Errno;

/// Whether `signo` is ignored (SIG_IGN) in this process.
pub fn is_ignored(signo: libc::c_int) -> bool {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes
    // are a valid value.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a null new action sigaction only reports the current
    // one into `old`, which is valid storage for the kernel to fill.
    let rc = unsafe { libc::sigaction(signo, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// A disposition that runs no code of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// SIG_DFL.
    Default,
    /// SIG_IGN.
    Ignore,
}

impl Disposition {
    fn handler(self) -> libc::sighandler_t {
        match self {
            Disposition::Default => libc::SIG_DFL,
            Disposition::Ignore => libc::SIG_IGN,
        }
    }
}

/// Whether the kernel's `struct sigaction` has the generic layout,
/// handler, flags, restorer, mask (x86_64, aarch64, riscv64, …; not mips,
/// alpha or sparc), which [`KernelSigaction`] spells out.
const GENERIC_LAYOUT: bool = cfg!(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64",
    target_arch = "powerpc64",
    target_arch = "s390x"
));

/// The kernel's `struct sigaction` where [`GENERIC_LAYOUT`] holds.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Sets `signo`'s disposition. With the generic layout, by the raw system
/// call: glibc's wrapper refuses 32 and 33 (it reserves them for its
/// threads), whose state would otherwise leak from the caller into a
/// command. Elsewhere through libc (32 and 33 then stay as they are).
pub fn set_disposition(signo: libc::c_int, disposition: Disposition) -> nix::Result<()> {
    if GENERIC_LAYOUT {
        set_raw(signo, disposition)
    } else {
        set_through_libc(signo, disposition)
    }
}

/// `rt_sigaction` itself; only called where [`GENERIC_LAYOUT`] holds.
fn set_raw(signo: libc::c_int, disposition: Disposition) -> nix::Result<()> {
    let action = KernelSigaction {
        handler: disposition.handler(),
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: `action` matches the kernel's layout on this architecture
    // (the only caller checks GENERIC_LAYOUT) and installs SIG_DFL or
    // SIG_IGN, which run no code, so no restorer is needed; the old action
    // is not requested (null); the last argument is the size of the
    // kernel's sigset (64 bits).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signo,
            &action as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            std::mem::size_of::<u64>(),
        )
    };
    Errno::result(rc).map(drop)
}

/// libc's `sigaction`, for the other layouts.
fn set_through_libc(signo: libc::c_int, disposition: Disposition) -> nix::Result<()> {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes
    // are a valid value (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = disposition.handler();
    // SAFETY: SIG_DFL/SIG_IGN run no code of ours; the old action is not
    // requested.
    let rc = unsafe { libc::sigaction(signo, &action, std::ptr::null_mut()) };
    Errno::result(rc).map(drop)
}

/// The signals a thread blocks, as the kernel keeps them: bit `n - 1`
/// for signal `n`, all 64 of them.
///
/// Read and set with the raw `rt_sigprocmask` system call rather than
/// nix's `SigSet` (glibc's `sigprocmask`): glibc reserves real-time
/// signals 32 and 33 for its threads, so its wrappers silently leave them
/// unblocked and `SigSet` cannot name them at all. Only the raw call sees
/// and blocks the whole mask. Assumes the kernel's 64-signal sigset (every
/// architecture but mips, where these calls fail with EINVAL).
pub type RawMask = u64;

/// Every signal: what [`AllSignalsBlocked`] blocks (the kernel quietly
/// leaves SIGKILL and SIGSTOP out).
const ALL_SIGNALS: RawMask = !0;

/// The calling thread's signal mask, glibc's internal signals included.
pub fn current_mask() -> nix::Result<RawMask> {
    rt_sigprocmask(None)
}

/// Sets the calling thread's signal mask to exactly `mask`, glibc's
/// internal signals included; returns the mask as it was. Allocates
/// nothing: a [`crate::spawn::spawn`] child may call it.
pub fn set_mask(mask: RawMask) -> nix::Result<RawMask> {
    rt_sigprocmask(Some(&mask))
}

/// `rt_sigprocmask(SIG_SETMASK, new, &old)`: with `None`, only reads.
fn rt_sigprocmask(new: Option<&RawMask>) -> nix::Result<RawMask> {
    let new = new.map_or(std::ptr::null(), |mask| mask as *const RawMask);
    let mut old: RawMask = 0;
    // SAFETY: the kernel reads 8 bytes (the size passed) at `new` when it
    // is not null, a `RawMask` borrowed for the call, and writes 8 at
    // `old`, ours; a wrong size fails with EINVAL and touches neither.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            new,
            &mut old as *mut RawMask,
            std::mem::size_of::<RawMask>(),
        )
    };
    Errno::result(rc).map(|_| old)
}

/// Every signal blocked in the calling thread, glibc's internal ones
/// included (see [`RawMask`] for why that takes the raw system call), for
/// as long as this value lives; dropping it puts back the mask as it was.
///
/// Signals that arrive meanwhile stay pending and are delivered once the
/// old mask is back (if it lets them through).
#[must_use = "the old mask is restored when this is dropped"]
pub struct AllSignalsBlocked {
    old: RawMask,
}

impl AllSignalsBlocked {
    /// Blocks every signal; fails (blocking nothing) if the kernel
    /// refuses.
    pub fn new() -> nix::Result<AllSignalsBlocked> {
        set_mask(ALL_SIGNALS).map(|old| AllSignalsBlocked { old })
    }
}

impl Drop for AllSignalsBlocked {
    fn drop(&mut self) {
        // Cannot fail: the same call with the same size just succeeded,
        // and the mask is ours.
        let _ = set_mask(self.old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_round_trip() {
        // SIGUSR2 is used by nothing else in this test binary.
        set_disposition(libc::SIGUSR2, Disposition::Ignore).unwrap();
        assert!(is_ignored(libc::SIGUSR2));
        set_disposition(libc::SIGUSR2, Disposition::Default).unwrap();
        assert!(!is_ignored(libc::SIGUSR2));
        assert!(set_disposition(libc::SIGKILL, Disposition::Ignore).is_err());
    }

    #[test]
    fn all_signals_blocked_until_dropped() {
        // The test harness's own thread: its mask is this test's alone.
        let before = current_mask().unwrap();
        let unblockable = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
        {
            let _blocked = AllSignalsBlocked::new().unwrap();
            // glibc's 32 and 33 (bits 31 and 32) too.
            assert_eq!(current_mask().unwrap(), ALL_SIGNALS & !unblockable);
        }
        assert_eq!(current_mask().unwrap(), before);
    }
}
