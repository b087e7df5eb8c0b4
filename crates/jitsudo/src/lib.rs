//! The client side of a jitsudo session, shared by `jitsudo` and by
//! `jitsudoctl shell`/`run`: the caller's descriptors and working directory
//! handed over ([`stdio`]), signals relayed ([`signals`]), the password
//! prompts answered ([`prompt`], [`askpass`]), the terminal and the
//! command's pty relayed ([`session`], [`terminal`]), `sudoedit`'s copies
//! ([`edit`]); [`client::run`] sends a request and runs its session.

#![deny(unsafe_code)]

pub mod askpass;
pub mod client;
pub mod edit;
pub mod error;
pub mod prompt;
pub mod session;
pub mod signals;
pub mod startup;
pub mod stdio;
pub mod terminal;
