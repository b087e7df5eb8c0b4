//! The thin, safe layer over libc that the jitsudo client and daemon share.
//!
//! Every raw system call of the project that `std` and `nix` do not wrap
//! safely lives here, each `unsafe` block with the argument for why it is
//! sound. The other crates deny `unsafe_code` (the daemon's PAM binding is
//! the one other exception). Parsing of `/proc` files and the terminal
//! helpers that client and daemon both need live here too, so each exists
//! once.

pub mod caps;
pub mod fd;
pub mod malloc;
pub mod pidfd;
pub mod proc;
pub mod process;
pub mod region;
pub mod scm;
pub mod signal;
pub mod socket;
pub mod spawn;
pub mod time;
pub mod tty;
