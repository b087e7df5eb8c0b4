//! This process: limits, scheduling, forking, leaving without cleanup.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::resource::Resource;
use nix::unistd::{ForkResult, Pid};

/// Lowers the soft limit of `resource` of the process `pid` to `soft` (at
/// most its hard limit, which stays): a limit raised for this process is
/// not passed on to a child, without a hook between fork and exec (which
/// would make the child a full fork of this process instead of a
/// `posix_spawn`).
pub fn lower_soft_limit_of(pid: u32, resource: Resource, soft: u64) -> nix::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| Errno::ESRCH)?;
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit with no new limit only writes the current one into
    // `old`, a valid rlimit we own.
    let rc = unsafe { libc::prlimit(pid, resource as _, std::ptr::null(), &mut old) };
    Errno::result(rc)?;
    let new = libc::rlimit {
        rlim_cur: soft.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: `new` is a valid rlimit read by the call; no old value is
    // asked for.
    let rc = unsafe { libc::prlimit(pid, resource as _, &new, std::ptr::null_mut()) };
    Errno::result(rc).map(drop)
}

/// How the scheduler is to treat this (single-threaded) process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// SCHED_OTHER, the default: someone waits for this process.
    Waited,
    /// SCHED_BATCH: work nobody waits for (preparing ahead, tidying up
    /// after). Same share of the CPU as any other process, but waking up
    /// it does not preempt the one running, so it never delays a request
    /// on its way.
    Background,
}

/// Sets this thread's scheduling policy (all of a single-threaded
/// process) to `urgency`'s, at priority 0 and its nice value unchanged.
pub fn set_urgency(urgency: Urgency) -> nix::Result<()> {
    let policy = match urgency {
        Urgency::Waited => libc::SCHED_OTHER,
        Urgency::Background => libc::SCHED_BATCH,
    };
    // SAFETY: sched_param is a plain C struct (musl's has more fields than
    // glibc's) for which all-zero bytes are valid: priority 0, which both
    // policies require.
    let param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: `param` is a valid sched_param that the call only reads;
    // pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    Errno::result(rc).map(drop)
}

/// Ends the process at once with `code`: no atexit handlers, no flushing
/// of buffers that belong to the process it was forked from.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe, takes no pointers and does not
    // return.
    unsafe { libc::_exit(code) }
}

/// Writes `title` over this process's argv strings, as `setproctitle(3)`
/// does, cut to fit the area (at a character boundary); the rest of the
/// area is zeroed, so `ps` shows the title alone. Refuses (EDEADLK) in a
/// process with more than one thread, where another thread might read the
/// arguments (std's `args()` reads them in place) while they change.
pub fn set_title(title: &str) -> nix::Result<()> {
    ensure_single_threaded()?;
    let (start, end) = argv_area().ok_or(Errno::ENOENT)?;
    let len = fitting(title, end - start - 1);
    // SAFETY: [start, end) is this process's argv area as the kernel
    // reports it (arg_start, arg_end): mapped, writable stack memory that
    // holds NUL-terminated strings and that no Rust reference points into
    // (std copies out of it only when `args()` is called). One write
    // operation: `len` bytes of title followed by zeros up to `end`, so
    // the area stays NUL-terminated for anyone who reads it later. The
    // process has a single thread (checked above), so nothing reads it
    // meanwhile.
    unsafe { overwrite(start as *mut u8, title.as_bytes(), len, end - start) };
    Ok(())
}

/// Writes `bytes[..len]` at `area`, then zeros up to `size` bytes.
///
/// # Safety
///
/// `area` must be valid for writes of `size` bytes, `len < size`, and
/// nothing may read or write the area meanwhile.
unsafe fn overwrite(area: *mut u8, bytes: &[u8], len: usize, size: usize) {
    // SAFETY: the caller guarantees `area` is writable for `size` > `len`
    // bytes; `bytes` holds at least `len` bytes and is not in the area.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), area, len) };
    // SAFETY: `len < size`, so `area + len` is inside the same area.
    let tail = unsafe { area.add(len) };
    // SAFETY: `tail .. area + size` is inside the writable area.
    unsafe { std::ptr::write_bytes(tail, 0, size - len) };
}

/// The longest prefix of `text` of at most `room` bytes that ends at a
/// character boundary.
fn fitting(text: &str, room: usize) -> usize {
    let mut len = text.len().min(room);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    len
}

/// The bounds of this process's argv strings (`arg_start`, `arg_end`:
/// fields 48 and 49 of /proc/self/stat), read once: they never move, and a
/// forked child inherits them with the value.
fn argv_area() -> Option<(usize, usize)> {
    static AREA: OnceLock<Option<(usize, usize)>> = OnceLock::new();
    *AREA.get_or_init(read_argv_area)
}

fn read_argv_area() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields from the third on follow the last ')' (the name may hold any).
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace().skip(48 - 3);
    let start: usize = fields.next()?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (start != 0 && end > start).then_some((start, end))
}

/// Refuses (EDEADLK) unless this process has exactly one thread. One
/// `statx`: the kernel gives `/proc/self/task` a link count of 2 plus the
/// number of threads (one per entry below it, as for any directory), far
/// cheaper than generating `/proc/self/status`. Any other count, whatever
/// the reason, is a refusal.
pub(crate) fn ensure_single_threaded() -> nix::Result<()> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self/task") {
        Ok(task) if task.nlink() == 3 => Ok(()),
        Ok(_) => Err(Errno::EDEADLK),
        Err(_) => Err(Errno::ENOENT),
    }
}

/// Forks, after checking that this process has exactly one thread.
///
/// `fork` is only unsafe in a multi-threaded process (the child may find a
/// lock held by a thread that does not exist in it). With a single thread
/// the child can do anything the parent could; and while there is one
/// thread, nothing but that thread (this call) could start another between
/// the check and the fork.
pub fn fork_single_threaded() -> nix::Result<ForkResult> {
    ensure_single_threaded()?;
    // SAFETY: the process has a single thread (checked above), so the child
    // inherits no lock held by another thread.
    unsafe { nix::unistd::fork() }
}

/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup named by
/// `clone_args.cgroup`.
pub(crate) const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), as far as `cgroup` (its size then is
/// `CLONE_ARGS_SIZE_VER2`, 88 bytes).
#[repr(C)]
#[derive(Default)]
pub(crate) struct CloneArgs {
    pub(crate) flags: u64,
    pub(crate) pidfd: u64,
    pub(crate) child_tid: u64,
    pub(crate) parent_tid: u64,
    pub(crate) exit_signal: u64,
    pub(crate) stack: u64,
    pub(crate) stack_size: u64,
    pub(crate) tls: u64,
    pub(crate) set_tid: u64,
    pub(crate) set_tid_size: u64,
    pub(crate) cgroup: u64,
}

/// Forks as [`fork_single_threaded`] does, the child born in the cgroup
/// whose directory is open as `cgroup` (`clone3` with `CLONE_INTO_CGROUP`):
/// it is in that group before it runs a single instruction, and no
/// migration (which takes the kernel's cgroup-wide lock for writing) is
/// needed. If the child cannot be placed there, there is no child.
///
/// ENOSYS, E2BIG or EINVAL: the kernel predates `clone3` or
/// `CLONE_INTO_CGROUP` (see [`lacks_clone_into_cgroup`]).
///
/// [`crate::spawn::spawn`] does the same without copying this process's
/// memory; this is for where it cannot (other architectures).
///
/// Unlike glibc's `fork`, this runs no `pthread_atfork` handlers and leaves
/// glibc's record of the thread id stale in the child: the child must only
/// prepare an exec (what [`fork_single_threaded`]'s callers do anyway) and
/// must not rely on the thread id glibc keeps (its `raise` and `abort` ask
/// the kernel instead).
pub fn fork_into_cgroup(cgroup: BorrowedFd<'_>) -> nix::Result<ForkResult> {
    ensure_single_threaded()?;
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: u64::try_from(cgroup.as_raw_fd()).map_err(|_| Errno::EBADF)?,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed, only read by
    // the kernel during the call. Without CLONE_VM and without a stack, the
    // child gets a copy of this address space and continues on its copy of
    // this stack, exactly as after fork(2); the process has a single thread
    // (checked above), so the child inherits no lock held by another
    // thread. What glibc's fork adds (atfork handlers, the child's thread id
    // in its thread descriptor) is not needed by a child that only prepares
    // an exec (see the doc comment).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match Errno::result(rc)? {
        0 => Ok(ForkResult::Child),
        pid => Ok(ForkResult::Parent {
            child: Pid::from_raw(i32::try_from(pid).map_err(|_| Errno::EOVERFLOW)?),
        }),
    }
}

/// Whether an error of [`fork_into_cgroup`] means the kernel has no
/// `clone3` (ENOSYS, before 5.3) or no `CLONE_INTO_CGROUP` (E2BIG for the
/// larger argument, EINVAL for the flag, before 5.7).
pub fn lacks_clone_into_cgroup(errno: Errno) -> bool {
    matches!(errno, Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_process_gets_the_lowered_limit() {
        use nix::sys::resource::getrlimit;
        use std::io::{BufRead, BufReader, Write};
        let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let soft = hard.min(100);
        let mut child = std::process::Command::new("sh")
            .args(["-c", "read _ && ulimit -Sn"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        lower_soft_limit_of(child.id(), Resource::RLIMIT_NOFILE, soft).unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let _ = child.wait();
        assert_eq!(line.trim(), soft.to_string());
    }

    #[test]
    fn refuses_to_fork_with_threads() {
        // The test harness runs tests on threads of their own.
        let _other = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(2)));
        assert_eq!(fork_single_threaded().err(), Some(Errno::EDEADLK));
        let here = std::fs::File::open(".").unwrap();
        assert_eq!(
            fork_into_cgroup(std::os::fd::AsFd::as_fd(&here)).err(),
            Some(Errno::EDEADLK)
        );
        assert_eq!(set_title("x").err(), Some(Errno::EDEADLK));
        let refused = crate::spawn::spawn(None, |_: &()| exit_immediately(0), &());
        assert_eq!(refused.err(), Some(Errno::EDEADLK));
    }

    #[test]
    fn titles_are_cut_at_characters() {
        assert_eq!(fitting("abc", 10), 3);
        assert_eq!(fitting("abc", 2), 2);
        assert_eq!(fitting("a→b", 2), 1);
        let (start, end) = argv_area().unwrap();
        assert!(end > start);
        let mut area = [0xffu8; 8];
        // SAFETY: `area` is a local buffer of 8 bytes, 3 < 8.
        unsafe { overwrite(area.as_mut_ptr(), b"abc", 3, area.len()) };
        assert_eq!(&area, b"abc\0\0\0\0\0");
    }
}
