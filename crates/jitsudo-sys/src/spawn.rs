//! Starting a child that shares this process's memory until its exec, as
//! `posix_spawn` does, and the calls that child makes.
//!
//! A forked child gets a copy of the parent's address space: the kernel
//! copies every mapping and page table at the clone (`dup_mmap`), both
//! processes then take a copy-on-write fault on each page either writes,
//! and the child's exec tears its copy down again. [`spawn`] skips all of
//! that: the child is made with `CLONE_VM | CLONE_VFORK`, runs on a stack
//! of its own in the parent's memory while the parent is suspended, and
//! the parent resumes when the child has exec'd or exited.

use std::ffi::{c_char, CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::unistd::Pid;

/// Starts a child that runs `entry(arg)` in this process's memory, on a
/// stack of its own, and returns its pid once the child has exec'd or
/// exited (`clone3` with `CLONE_VM | CLONE_VFORK`, exit signal SIGCHLD).
/// With `cgroup` (a cgroup v2 directory, open), the child is born in that
/// group (`CLONE_INTO_CGROUP`) before it runs a single instruction; if it
/// cannot be placed there, there is no child.
///
/// Refuses (EDEADLK) unless this process has exactly one thread. Fails with
/// ENOSYS where this architecture has no trampoline here (x86_64 only) or
/// the kernel no `clone3`, and with E2BIG or EINVAL where the kernel lacks
/// `CLONE_INTO_CGROUP` (see [`crate::process::lacks_clone_into_cgroup`]):
/// the caller then forks instead.
///
/// # What `entry` may do
///
/// It runs in the parent's memory, with the parent's thread-local storage,
/// while the parent waits inside this call; descriptors, signal
/// dispositions, credentials and the working directory are the child's
/// own copies. So it must:
/// - end in an exec or `_exit` ([`crate::process::exit_immediately`]),
///   never return (its type says so) and never unwind: a panic aborts the
///   child (the trampoline is `extern "C"`, which cannot unwind), but
///   leaves the panic count it shares raised in the parent: a bug;
/// - allocate and free nothing: prepare every string, array and
///   descriptor before the call (the exec's argument arrays as
///   [`ExecStrings`]). Memory allocated in the child would be the
///   parent's, never freed; memory freed there would be freed under the
///   parent's feet;
/// - change no state the parent relies on (the only exception being
///   `errno`, which it shares, as every `posix_spawn` child does): tell
///   the parent what happened through a pipe (close-on-exec: the parent
///   sees end of file on a successful exec);
/// - use raw system calls where glibc keeps process-wide books: the ids
///   through [`set_ids`], not glibc's `set*id`, which would apply them to
///   the parent's threads as it knows them;
/// - stay well within [`STACK_SIZE`] (a guard page below it ends the child
///   with SIGSEGV).
///
/// Every signal is blocked from before the clone until the child sets its
/// own mask (the parent restores its mask once the child is gone): no
/// handler of the parent ever runs on the child's stack. The child must
/// reset each signal's disposition (to default, or ignored) before it
/// unblocks any, as [`crate::signal::set_disposition`] does, and set the
/// command's mask last, just before its exec. A signal that arrives in the
/// meantime stays pending, and takes its default action then.
pub fn spawn<T>(cgroup: Option<BorrowedFd<'_>>, entry: fn(&T) -> !, arg: &T) -> nix::Result<Pid> {
    crate::process::ensure_single_threaded()?;
    let cgroup = match cgroup {
        Some(dir) => Some(u64::try_from(dir.as_raw_fd()).map_err(|_| Errno::EBADF)?),
        None => None,
    };
    let stack = ChildStack::new()?;
    let start = Start { entry, arg };
    let mut args = crate::process::CloneArgs {
        flags: CLONE_VM | CLONE_VFORK,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.low as u64,
        stack_size: STACK_SIZE as u64,
        ..Default::default()
    };
    if let Some(dir) = cgroup {
        args.flags |= crate::process::CLONE_INTO_CGROUP;
        args.cgroup = dir;
    }
    let blocked = crate::signal::AllSignalsBlocked::new()?;
    // SAFETY: `args` names a stack of its own for the child (mapped,
    // writable, STACK_SIZE bytes above a guard page) that nothing else
    // uses, and asks for CLONE_VFORK: the call returns here only once the
    // child has exec'd or exited, so `start` (in this frame) outlives the
    // child's use of it, and the stack is unmapped (`stack` dropped) only
    // after. `child_main::<T>` reads `start` as the `Start<T>` it is. The
    // process has a single thread (checked above): nothing runs beside
    // the child in the memory it shares. Every signal is blocked (just
    // above), so no handler of this process runs on the child's stack.
    let rc = unsafe { trampoline::clone_into(&args, child_main::<T>, &start) };
    drop(blocked);
    drop(stack);
    if rc < 0 {
        let errno = i32::try_from(-rc).map_err(|_| Errno::EINVAL)?;
        return Err(Errno::from_raw(errno));
    }
    Ok(Pid::from_raw(
        i32::try_from(rc).map_err(|_| Errno::EOVERFLOW)?,
    ))
}

/// The usable size of the child's stack: plenty for preparing an exec
/// (even unoptimised), touched (and faulted in) only as far as used.
pub const STACK_SIZE: usize = 256 * 1024;

const CLONE_VM: u64 = libc::CLONE_VM as u64;
const CLONE_VFORK: u64 = libc::CLONE_VFORK as u64;

/// What the child calls, and with what: on the parent's stack, which stays
/// put while the parent is suspended.
struct Start<'a, T> {
    entry: fn(&T) -> !,
    arg: &'a T,
}

/// The child's first Rust frame, called by the trampoline on the new stack.
extern "C" fn child_main<T>(start: *const Start<'_, T>) -> ! {
    // SAFETY: `start` points to the `Start` in `spawn`'s frame, which is
    // alive (the parent is suspended inside the clone until this child
    // execs or exits), and is only read.
    let start = unsafe { &*start };
    (start.entry)(start.arg)
}

/// The child's stack: an anonymous mapping of [`STACK_SIZE`] bytes above a
/// guard page, unmapped on drop.
struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
    /// The lowest usable byte: `base` plus the guard page.
    low: usize,
}

impl ChildStack {
    fn new() -> nix::Result<ChildStack> {
        // SAFETY: sysconf takes no pointers.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .map_err(|_| Errno::EINVAL)?;
        let len = STACK_SIZE + page;
        // SAFETY: a new private anonymous mapping at an address of the
        // kernel's choosing: no existing memory is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let stack = ChildStack {
            base,
            len,
            low: base as usize + page,
        };
        // SAFETY: the lowest page of the mapping just made, which nothing
        // refers to.
        let rc = unsafe { libc::mprotect(base, page, libc::PROT_NONE) };
        Errno::result(rc)?;
        Ok(stack)
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, of `len` bytes; nothing uses
        // it any more (the child that ran on it has exec'd or exited).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

#[cfg(target_arch = "x86_64")]
mod trampoline {
    use crate::process::CloneArgs;

    /// `clone3(args)`; the child (which gets 0) calls `main(data)` on the
    /// stack `args` names and never comes back here. Returns the raw
    /// result in the parent: the child's pid, or -errno.
    ///
    /// # Safety
    ///
    /// With `CLONE_VM` in `args.flags`, `args` must name a stack (mapped,
    /// writable, its top 16-byte aligned) that nothing else uses while the
    /// child runs, and ask for `CLONE_VFORK` unless `data` and that stack
    /// outlive the child by other means; `main` must accept `data`; no
    /// signal handler of this process may run in the child (block every
    /// signal around the call).
    pub(super) unsafe fn clone_into<D>(
        args: &CloneArgs,
        main: extern "C" fn(*const D) -> !,
        data: *const D,
    ) -> libc::c_long {
        let rc: libc::c_long;
        // SAFETY: the system call reads `args` (valid, of the size passed)
        // and nothing else of ours. In the parent it returns like any
        // system call: rax holds the result; rcx and r11 are overwritten
        // by `syscall` (declared as clobbered); every other register is
        // kept; memory may have been written by the child (the asm is not
        // `nomem`, so the compiler assumes it was). In the child (rax == 0)
        // the kernel has set rsp to the top of the new stack (`stack +
        // stack_size`: page-aligned, so 16-byte aligned as the ABI wants
        // before a `call`) and kept every other register, so rdx and r8
        // still hold `main` and `data`. The child clears rbp (the end of
        // the frame chain for a debugger or unwinder), passes `data` in
        // rdi and calls `main`, which never returns (`-> !`, `extern "C"`:
        // a panic aborts instead of unwinding); `ud2` after it would end
        // the child with SIGILL if it somehow did. The child never runs
        // the code after the asm, so no Rust frame of the parent is ever
        // used on its stack. Signal handlers cannot run in the child
        // before it resets them (the caller blocks every signal).
        unsafe {
            core::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r8",
                "call rdx",
                "ud2",
                "2:",
                inlateout("rax") libc::SYS_clone3 => rc,
                in("rdi") args as *const CloneArgs,
                in("rsi") std::mem::size_of::<CloneArgs>(),
                in("rdx") main as usize,
                in("r8") data,
                out("rcx") _,
                out("r11") _,
            );
        }
        rc
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod trampoline {
    use crate::process::CloneArgs;

    /// No trampoline for this architecture: -ENOSYS, so the caller forks.
    ///
    /// # Safety
    ///
    /// None needed (nothing is done); as for the x86_64 version.
    pub(super) unsafe fn clone_into<D>(
        _args: &CloneArgs,
        _main: extern "C" fn(*const D) -> !,
        _data: *const D,
    ) -> libc::c_long {
        -libc::c_long::from(libc::ENOSYS)
    }
}

/// `argv` or `envp` of an exec, with its NULL-terminated array of pointers
/// built beforehand, so that the exec in a [`spawn`]ed child allocates
/// nothing.
pub struct ExecStrings {
    strings: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl ExecStrings {
    /// The strings, and the array that points to them.
    pub fn new(strings: Vec<CString>) -> ExecStrings {
        // A CString's bytes are on the heap: moving the Vec (or the
        // CStrings) does not move them, so the pointers stay valid.
        let pointers = (strings.iter().map(|s| s.as_ptr()))
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        ExecStrings { strings, pointers }
    }

    /// The strings.
    pub fn strings(&self) -> &[CString] {
        &self.strings
    }

    fn as_ptr(&self) -> *const *const c_char {
        self.pointers.as_ptr()
    }
}

/// `execve(path, argv, env)`: returns only on failure, with the reason.
/// Allocates nothing.
pub fn exec_path(path: &CStr, argv: &ExecStrings, env: &ExecStrings) -> Errno {
    // SAFETY: `path` is NUL-terminated; `argv` and `env` are
    // NULL-terminated arrays of pointers to NUL-terminated strings that
    // they own. On success the call does not return.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), env.as_ptr()) };
    Errno::last()
}

/// Executes exactly the open file `fd` (`execveat(fd, "", argv, env,
/// AT_EMPTY_PATH)`): no path is resolved. Returns only on failure, with
/// the reason. Allocates nothing.
pub fn exec_fd(fd: BorrowedFd<'_>, argv: &ExecStrings, env: &ExecStrings) -> Errno {
    // SAFETY: the empty path is a NUL-terminated string; `argv` and `env`
    // are NULL-terminated arrays of pointers to NUL-terminated strings
    // that they own. On success the call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            env.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::last()
}

/// The supplementary groups, then real, effective and saved gid, then uid
/// (`setgroups`, `setresgid`, `setresuid`), as raw system calls: they
/// change the calling process alone. glibc's wrappers would, in a process
/// that ever had a second thread, apply them to every thread on glibc's
/// list by signalling them: in a [`spawn`]ed child, the parent's list.
#[cfg(target_pointer_width = "64")]
pub fn set_ids(groups: &[libc::gid_t], gid: libc::gid_t, uid: libc::uid_t) -> nix::Result<()> {
    // SAFETY: the kernel reads `groups.len()` gids at `groups`.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    Errno::result(rc)?;
    // SAFETY: plain integer arguments.
    let rc = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    Errno::result(rc)?;
    // SAFETY: plain integer arguments.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    Errno::result(rc).map(drop)
}

/// As the 64-bit [`set_ids`], through glibc: 32-bit systems have 16-bit
/// legacy calls under these numbers, and no [`spawn`] trampoline (their
/// children are forked).
#[cfg(not(target_pointer_width = "64"))]
pub fn set_ids(groups: &[libc::gid_t], gid: libc::gid_t, uid: libc::uid_t) -> nix::Result<()> {
    // SAFETY: glibc reads `groups.len()` gids at `groups`.
    Errno::result(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
    // SAFETY: plain integer arguments.
    Errno::result(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: plain integer arguments.
    Errno::result(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}
