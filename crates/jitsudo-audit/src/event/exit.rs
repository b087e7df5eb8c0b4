//! How a command ended, and the names of signals.

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal number.
    Signal(i32),
}

/// Symbolic name of a signal number: `SIGTERM`, `SIGRTMIN+3`, or the bare
/// number when it is no signal of this system.
pub fn signal_name(signo: i32) -> String {
    if let Ok(sig) = nix::sys::signal::Signal::try_from(signo) {
        return sig.as_str().to_owned();
    }
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if (min..=max).contains(&signo) {
        if signo == min {
            "SIGRTMIN".to_owned()
        } else {
            format!("SIGRTMIN+{}", signo - min)
        }
    } else {
        signo.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(libc::SIGKILL), "SIGKILL");
        assert_eq!(signal_name(libc::SIGRTMIN()), "SIGRTMIN");
        assert_eq!(signal_name(libc::SIGRTMIN() + 2), "SIGRTMIN+2");
        assert_eq!(signal_name(999), "999");
    }
}
