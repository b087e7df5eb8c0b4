//! The descriptors that travel with a request: which ones, in which order,
//! and sorting them back into their roles. The only place that knows the
//! layout; client, daemon and worker all go through it.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};

use crate::ProtoError;

/// Which descriptors accompany a request, in this order: each of the
/// caller's fds 0, 1, 2 that is open (a closed one is not sent and stays
/// closed for the command), then an `O_PATH` descriptor of the caller's
/// working directory when `cwd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdLayout {
    /// Which of fds 0, 1, 2 are attached.
    pub stdio: [bool; 3],
    /// Whether the working directory is attached.
    pub cwd: bool,
}

impl FdLayout {
    /// No descriptors at all.
    pub const NONE: FdLayout = FdLayout {
        stdio: [false; 3],
        cwd: false,
    };

    /// How many descriptors this layout carries.
    pub fn count(&self) -> usize {
        self.stdio.iter().filter(|present| **present).count() + usize::from(self.cwd)
    }
}

/// The caller's descriptors of one request, by role. `F` is whatever holds
/// them: borrowed in the client, owned where they were received.
#[derive(Debug)]
pub struct PassedFds<F> {
    /// The caller's fds 0, 1, 2, where open.
    pub stdio: [Option<F>; 3],
    /// The caller's working directory.
    pub cwd: Option<F>,
}

impl<F> PassedFds<F> {
    /// The layout these descriptors travel in.
    pub fn layout(&self) -> FdLayout {
        FdLayout {
            stdio: [0, 1, 2].map(|i| self.stdio[i].is_some()),
            cwd: self.cwd.is_some(),
        }
    }

    /// The caller's working directory, if it came along.
    pub fn cwd(&self) -> Option<&F> {
        self.cwd.as_ref()
    }

    /// Only the descriptors `layout` names (what a request needs of those
    /// at hand).
    pub fn matching(self, layout: FdLayout) -> PassedFds<F> {
        let [a, b, c] = self.stdio;
        let keep = |fd: Option<F>, wanted: bool| fd.filter(|_| wanted);
        PassedFds {
            stdio: [
                keep(a, layout.stdio[0]),
                keep(b, layout.stdio[1]),
                keep(c, layout.stdio[2]),
            ],
            cwd: keep(self.cwd, layout.cwd),
        }
    }
}

impl<F: AsRawFd> PassedFds<F> {
    /// The descriptors in wire order, to attach with
    /// [`send_frame`](crate::send_frame).
    pub fn raw(&self) -> Vec<RawFd> {
        self.stdio
            .iter()
            .chain(std::iter::once(&self.cwd))
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .collect()
    }
}

impl PassedFds<OwnedFd> {
    /// Sorts received descriptors into their roles by `layout`; any other
    /// number of descriptors than the layout announces is an error.
    pub fn receive(layout: FdLayout, fds: Vec<OwnedFd>) -> Result<Self, ProtoError> {
        if fds.len() != layout.count() {
            return Err(ProtoError::WrongFdCount {
                expected: layout.count(),
                got: fds.len(),
            });
        }
        let mut fds = fds.into_iter();
        let stdio = layout
            .stdio
            .map(|present| present.then(|| fds.next()).flatten());
        let cwd = layout.cwd.then(|| fds.next()).flatten();
        Ok(PassedFds { stdio, cwd })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fds(n: usize) -> Vec<OwnedFd> {
        (0..n)
            .map(|_| OwnedFd::from(std::fs::File::open("/dev/null").unwrap()))
            .collect()
    }

    #[test]
    fn descriptors_keep_their_roles_across_the_wire_order() {
        let layout = FdLayout {
            stdio: [true, false, true],
            cwd: true,
        };
        let sent = fds(3);
        let raw: Vec<RawFd> = sent.iter().map(AsRawFd::as_raw_fd).collect();
        let passed = PassedFds::receive(layout, sent).unwrap();
        assert_eq!(passed.layout(), layout);
        assert_eq!(passed.raw(), raw);
        assert_eq!(passed.stdio[2].as_ref().unwrap().as_raw_fd(), raw[1]);
        assert_eq!(passed.cwd().unwrap().as_raw_fd(), raw[2]);
    }

    #[test]
    fn matching_keeps_only_what_the_layout_names() {
        let layout = FdLayout {
            stdio: [true; 3],
            cwd: true,
        };
        let all = PassedFds::receive(layout, fds(4)).unwrap();
        assert_eq!(all.matching(FdLayout::NONE).raw(), Vec::<RawFd>::new());
        let all = PassedFds::receive(layout, fds(4)).unwrap();
        let some = FdLayout {
            stdio: [false, true, false],
            cwd: true,
        };
        assert_eq!(all.matching(some).layout(), some);
        // A closed fd 0 leaves the others in their places.
        let gap = FdLayout {
            stdio: [false, true, true],
            cwd: true,
        };
        let passed = PassedFds::receive(gap, fds(3)).unwrap();
        let raw = passed.raw();
        let kept = passed.matching(gap);
        assert_eq!(kept.layout(), gap);
        assert_eq!(kept.raw(), raw);
    }

    #[test]
    fn a_wrong_number_of_descriptors_is_refused() {
        let layout = FdLayout {
            stdio: [true; 3],
            cwd: true,
        };
        assert!(PassedFds::receive(layout, fds(3)).is_err());
        assert!(PassedFds::receive(FdLayout::NONE, fds(1)).is_err());
        assert_eq!(FdLayout::NONE.count(), 0);
    }
}
