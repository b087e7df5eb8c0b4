//! Capabilities for a process about to exec as a non-root user with some
//! capabilities raised as ambient (capabilities(7)): the permitted set is
//! kept across the change of uid, then the process holds exactly those
//! capabilities in its permitted, effective and inheritable sets and raises
//! them as ambient, so that the program it executes (not set-user-ID, no
//! file capabilities) starts with exactly them.

use nix::errno::Errno;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets, as two 32-bit words.
const VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Whether the permitted set survives a change from uid 0 to another
/// (`PR_SET_KEEPCAPS`; the kernel clears the flag at the next exec). Set
/// it before `setresuid`, then call [`hold_exactly`].
pub fn keep_across_setuid(keep: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(keep), 0)
}

/// Makes `caps` (kernel numbers, below 64) the process's permitted,
/// effective and inheritable sets and its ambient set: every other
/// capability is dropped. The process must hold them in its permitted set
/// (see [`keep_across_setuid`]).
pub fn hold_exactly(caps: &[u8]) -> Result<(), Errno> {
    let mut mask: u64 = 0;
    for &cap in caps {
        if cap >= 64 {
            return Err(Errno::EINVAL);
        }
        mask |= 1 << cap;
    }
    let words = [mask as u32, (mask >> 32) as u32];
    let data = words.map(|word| Data {
        effective: word,
        permitted: word,
        inheritable: word,
    });
    capset(&data)?;
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )?;
    for &cap in caps {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(cap),
        )?;
    }
    Ok(())
}

fn capset(data: &[Data; 2]) -> Result<(), Errno> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset(2) reads one header and, for version 3, two data
    // structs; both pointers are to live values of the kernel's layout
    // (`repr(C)`) for the duration of the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> Result<(), Errno> {
    let (zero, zero2): (libc::c_ulong, libc::c_ulong) = (0, 0);
    // SAFETY: PR_SET_KEEPCAPS and PR_CAP_AMBIENT take integer arguments
    // only; no memory is passed to the kernel.
    let rc = unsafe { libc::prctl(option, arg2, arg3, zero, zero2) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}
