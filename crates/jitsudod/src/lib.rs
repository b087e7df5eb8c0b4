//! The jitsudo daemon's machinery, shared by its two programs: `jitsudod`
//! (the daemon and its `--worker` mode) and `jitsudoctl` (administration).
//! See docs/architecture.md for how a request flows through these modules.

pub mod accounts;
pub mod audit;
mod cache;
pub mod cgroup;
pub mod executable;
mod handoff;
pub mod limits;
mod namespace;
mod origin;
mod pam;
mod peer;
pub mod policy_store;
mod request;
pub mod server;
mod trusted_dir;
pub mod worker;
