//! One request, from the kernel's view of the caller to a reply or a job
//! for a worker. [`pipeline`] reads as the request's life; each step is a
//! module with one job:
//!
//! | step | module |
//! |---|---|
//! | identify the caller | [`identity`] |
//! | validate the request | [`validate`] |
//! | resolve the target (`-u`/`-g`) | [`target`] |
//! | resolve the command (`-s`/`-i`, the executable opened once) | [`command`], [`resolve`] |
//! | the caller's grants; a use of one | [`grant_step`] |
//! | ask the policy | [`question`] |
//! | authenticate first? | [`gate`] |
//! | the job for a worker, or the reply | [`exec_spec`], [`job`], [`verdict`] |
//!
//! Refusals are told in sudo's words by [`refusal`]; `-l` and `-v` are
//! [`listing`]; `-e` (sudoedit) is [`edit`]; the `jitsudoctl` grant
//! verbs are [`grant_verbs`]; `jitsudoctl policy explain`
//! is [`explain`], the same resolve and question with
//! [`jitsudo_policy::Policy::explain`]. What every step shares is in [`context`]; [`words`] turns the
//! request's bytes into the system's strings.

mod command;
mod context;
mod denial;
mod edit;
mod exec_spec;
mod explain;
mod gate;
mod grant_session;
pub mod grant_step;
pub mod grant_verbs;
mod identity;
pub mod job;
mod listing;
mod pipeline;
mod question;
mod refusal;
mod resolve;
mod target;
mod validate;
mod verdict;
mod words;

pub use context::{Context, Passed};
pub use identity::Identity;
pub use pipeline::handle;
pub use validate::validate;
pub use verdict::{PendingReview, PendingUse, Verdict, Work};
