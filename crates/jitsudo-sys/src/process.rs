//! This process: scheduling priority, forking, leaving without cleanup.

use nix::errno::Errno;
use nix::unistd::ForkResult;

use crate::proc::Status;

/// This process's nice value.
pub fn priority() -> nix::Result<i32> {
    Errno::clear();
    // SAFETY: getpriority on our own process reads one number; -1 is a
    // valid result, told apart from an error by errno (cleared above).
    let value = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    match Errno::last_raw() {
        0 => Ok(value),
        errno => Err(Errno::from_raw(errno)),
    }
}

/// Sets this process's nice value (raising it back needs privilege).
pub fn set_priority(value: i32) -> nix::Result<()> {
    // SAFETY: setpriority on our own process only changes its niceness.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, value) };
    Errno::result(rc).map(drop)
}

/// Ends the process at once with `code`: no atexit handlers, no flushing
/// of buffers that belong to the process it was forked from.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe, takes no pointers and does not
    // return.
    unsafe { libc::_exit(code) }
}

/// Forks, after checking that this process has exactly one thread.
///
/// `fork` is only unsafe in a multi-threaded process (the child may find a
/// lock held by a thread that does not exist in it). With a single thread
/// the child can do anything the parent could; and while there is one
/// thread, nothing but that thread (this call) could start another between
/// the check and the fork.
pub fn fork_single_threaded() -> nix::Result<ForkResult> {
    let me = i32::try_from(std::process::id()).map_err(|_| Errno::ESRCH)?;
    match Status::of(me) {
        Ok(status) if status.threads == 1 => {}
        Ok(_) => return Err(Errno::EDEADLK),
        Err(_) => return Err(Errno::ENOENT),
    }
    // SAFETY: the process has a single thread (checked above), so the child
    // inherits no lock held by another thread.
    unsafe { nix::unistd::fork() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_round_trip() {
        let before = priority().unwrap();
        set_priority(before).unwrap();
        assert_eq!(priority().unwrap(), before);
    }

    #[test]
    fn refuses_to_fork_with_threads() {
        // The test harness runs tests on threads of their own.
        let _other = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(2)));
        assert_eq!(fork_single_threaded().err(), Some(Errno::EDEADLK));
    }
}
