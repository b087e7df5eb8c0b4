//! cgroup v2: every command jitsudo runs lives in a group of its own, so
//! that ending it (a rule's `timeout`, a vanished client, later a grant's
//! expiry) ends everything it started, double-forked daemons included.
//!
//! - [`hierarchy`] finds the cgroup2 mount and the daemon's own cgroup
//!   (never a hard-coded path).
//! - [`subtree`] sets up, once at daemon start, the directory under which
//!   groups are made, and removes stale empty ones.
//! - [`group`] is one group: create, place a process, signal, kill, wait
//!   until empty, remove.

mod group;
mod hierarchy;
mod subtree;

pub use group::{enter, Group};
pub use subtree::{establish, release, subtree, COMMAND_PREFIX};
