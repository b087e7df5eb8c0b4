//! Signal dispositions, including the two real-time signals glibc keeps
//! for itself.

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
}
