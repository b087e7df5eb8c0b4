//! Integration and sudo-compliance test harness for jitsudo.
//!
//! The method is sudo-rs's: every compatibility case is a shell script run
//! as a real (test) user, once with the real `sudo` configured by a sudoers
//! drop-in, once with `jitsudo` talking to a real `jitsudod` configured by
//! the equivalent policy; both outputs are normalised and must agree.
//! Intended differences are listed once, in [`known::KNOWN_DIFFERENCES`]
//! (mirrored in `docs/compat.md`).
//!
//! * [`world`]: one-time set-up (services, accounts, policy + sudoers,
//!   binaries, daemon), and [`world::Impl`].
//! * [`policy`] and [`fixtures`]: the rule table and its two renderings.
//! * [`exec`] and [`pty`]: running a script as a user, on pipes or a pty.
//! * [`case`]: [`case::Case`], normalisation and `assert_same`.
//! * [`services`]: journald and rsyslog, and reading what they recorded.
//! * [`daemon`]: starting and stopping `jitsudod`.
//! * [`grants`]: helpers of the just-in-time grant tests.
//! * [`skip`]: tests that did not (wholly) run, reported as skipped.
//!
//! Environment: `JITSUDO_BIN_DIR` (where the built binaries are),
//! `JITSUDO_CLIENT` (a client to run instead of the built one: `tests/run.sh`
//! sets the one the package ships), `JITSUDO_TESTS_ONLY=sudo|jitsudo` (run one half only; what is left out
//! is reported as skipped, see [`skip`]), `JITSUDO_SKIP_LOG` (where skips
//! are recorded; `tests/run.sh` sets it).
//! The tests must run as root.

pub mod case;
pub mod crafted;
pub mod daemon;
pub mod exec;
pub mod fixtures;
pub mod grants;
pub mod known;
pub mod policy;
pub mod pty;
pub mod services;
pub mod sh;
pub mod skip;
pub mod util;
pub mod world;

pub use case::Case;
pub use exec::Output;
pub use fixtures::*;
pub use pty::PtySpec;
pub use world::{world, Impl};
