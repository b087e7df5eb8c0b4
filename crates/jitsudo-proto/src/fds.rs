//! The descriptors that travel with a request: which ones, in which order,
//! and sorting them back into their roles. The only place that knows the
//! layout; client, daemon and worker all go through it.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};

use crate::ProtoError;

/// Caller descriptors above 2 that `-C` can keep open are below this.
pub const KEPT_FDS_BELOW: u32 = 64;

/// Most caller descriptors above 2 one request may keep open (`-C`).
pub const MAX_KEPT_FDS: usize = 8;

/// Which descriptors accompany a request, in this order: each of the
/// caller's fds 0, 1, 2 that is open (a closed one is not sent and stays
/// closed for the command), then an `O_PATH` descriptor of the caller's
/// working directory when `cwd`, then the caller's descriptors above 2
/// that `-C` keeps open, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdLayout {
    /// Which of fds 0, 1, 2 are attached.
    pub stdio: [bool; 3],
    /// Whether the working directory is attached.
    pub cwd: bool,
    /// Bit n set: the caller's fd n is attached (3 <= n <
    /// [`KEPT_FDS_BELOW`], at most [`MAX_KEPT_FDS`] of them).
    pub kept: u64,
}

impl FdLayout {
    /// No descriptors at all.
    pub const NONE: FdLayout = FdLayout {
        stdio: [false; 3],
        cwd: false,
        kept: 0,
    };

    /// The most descriptors a valid layout carries.
    pub const MAX_COUNT: usize = 4 + MAX_KEPT_FDS;

    /// How many descriptors this layout carries.
    pub fn count(&self) -> usize {
        self.stdio.iter().filter(|present| **present).count()
            + usize::from(self.cwd)
            + self.kept.count_ones() as usize
    }

    /// The caller's descriptor numbers `kept` names, lowest first.
    pub fn kept_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        (0..u64::BITS).filter(|n| self.kept & (1 << n) != 0)
    }

    /// Whether `kept` names only descriptors `-C` may keep, few enough.
    fn kept_is_valid(&self) -> bool {
        self.kept & 0b111 == 0
            && self.kept.checked_shr(KEPT_FDS_BELOW).unwrap_or(0) == 0
            && self.kept.count_ones() as usize <= MAX_KEPT_FDS
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
    /// The caller's descriptors above 2 kept open for the command (`-C`),
    /// each with the number it had (and gets in the command), lowest first.
    pub kept: Vec<(u32, F)>,
}

impl<F> PassedFds<F> {
    /// The layout these descriptors travel in.
    pub fn layout(&self) -> FdLayout {
        FdLayout {
            stdio: [0, 1, 2].map(|i| self.stdio[i].is_some()),
            cwd: self.cwd.is_some(),
            kept: self
                .kept
                .iter()
                .filter(|(n, _)| *n < u64::BITS)
                .fold(0, |mask, (n, _)| mask | 1 << n),
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
            kept: (self.kept.into_iter())
                .filter(|(n, _)| *n < u64::BITS && layout.kept & (1 << n) != 0)
                .collect(),
        }
    }
}

impl<F: AsRawFd> PassedFds<F> {
    /// The descriptors in wire order, to attach with
    /// [`send_frame`](crate::send_frame).
    pub fn raw(&self) -> Vec<RawFd> {
        let kept = self.kept.iter().map(|(_, fd)| fd.as_raw_fd());
        self.stdio
            .iter()
            .chain(std::iter::once(&self.cwd))
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .chain(kept)
            .collect()
    }
}

impl PassedFds<OwnedFd> {
    /// Sorts received descriptors into their roles by `layout`; any other
    /// number of descriptors than the layout announces is an error, and so
    /// is a layout that keeps descriptors `-C` may not keep.
    pub fn receive(layout: FdLayout, fds: Vec<OwnedFd>) -> Result<Self, ProtoError> {
        if !layout.kept_is_valid() {
            return Err(ProtoError::KeptFds);
        }
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
        let kept = layout.kept_numbers().zip(fds).collect();
        Ok(PassedFds { stdio, cwd, kept })
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
            kept: 0,
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
            kept: 0,
        };
        let all = PassedFds::receive(layout, fds(4)).unwrap();
        assert_eq!(all.matching(FdLayout::NONE).raw(), Vec::<RawFd>::new());
        let all = PassedFds::receive(layout, fds(4)).unwrap();
        let some = FdLayout {
            stdio: [false, true, false],
            cwd: true,
            kept: 0,
        };
        assert_eq!(all.matching(some).layout(), some);
        // A closed fd 0 leaves the others in their places.
        let gap = FdLayout {
            stdio: [false, true, true],
            cwd: true,
            kept: 0,
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
            kept: 0,
        };
        assert!(PassedFds::receive(layout, fds(3)).is_err());
        assert!(PassedFds::receive(FdLayout::NONE, fds(1)).is_err());
        assert_eq!(FdLayout::NONE.count(), 0);
    }

    #[test]
    fn kept_descriptors_keep_their_numbers() {
        let layout = FdLayout {
            stdio: [true; 3],
            cwd: true,
            kept: 1 << 5 | 1 << 9,
        };
        let sent = fds(6);
        let raw: Vec<RawFd> = sent.iter().map(AsRawFd::as_raw_fd).collect();
        let passed = PassedFds::receive(layout, sent).unwrap();
        let kept: Vec<(u32, RawFd)> = passed
            .kept
            .iter()
            .map(|(n, fd)| (*n, fd.as_raw_fd()))
            .collect();
        assert_eq!(kept, [(5, raw[4]), (9, raw[5])]);
        assert_eq!(passed.layout(), layout);
        assert_eq!(passed.raw(), raw);
        let only_stdio = FdLayout { kept: 0, ..layout };
        assert_eq!(passed.matching(only_stdio).raw(), raw[..4]);
    }

    #[test]
    fn a_layout_keeping_what_close_from_cannot_is_refused() {
        let with = |kept: u64| FdLayout {
            stdio: [false; 3],
            cwd: false,
            kept,
        };
        // Fds 0-2 travel as stdio, never as kept ones.
        assert!(PassedFds::receive(with(1 << 2), fds(1)).is_err());
        assert!(PassedFds::receive(with(1 << 63), fds(1)).is_ok());
        let too_many = (3..3 + MAX_KEPT_FDS as u64 + 1).fold(0, |m, n| m | 1 << n);
        assert!(PassedFds::receive(with(too_many), fds(MAX_KEPT_FDS + 1)).is_err());
        let most = (3..3 + MAX_KEPT_FDS as u64).fold(0, |m, n| m | 1 << n);
        assert!(PassedFds::receive(with(most), fds(MAX_KEPT_FDS)).is_ok());
        assert_eq!(with(most).count(), MAX_KEPT_FDS);
    }
}
